"""The thin slice through the whole system as real processes: an account created through the
gateway is stored by registration, announced on the broker, consumed by notifications, and
its welcome notification appears in the new account's feed, through the gateway."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from hackathon_cli.platform import Platform
from tests.platform_fixtures import ORGANIZER, PASSWORD, Api, unique_email
from tests.polling import wait_until


async def feed(api: Api, auth: dict[str, str]) -> list[dict[str, object]]:
    answer = await api.http.get("/notifications", headers=auth)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_new_account_gets_a_welcome_notification(api: Api) -> None:
    email = unique_email("Ada")
    created = await api.http.post(
        "/accounts", json={"email": email.upper(), "password": PASSWORD, "display_name": "Ada"}
    )
    assert created.status_code == 201, created.text
    account_id = created.json()["account_id"]
    auth = await api.sign_in(email)
    me = await api.http.get("/me", headers=auth)
    assert me.status_code == 200
    assert me.json() == {
        "account_id": account_id,
        "email": email.lower(),
        "display_name": "Ada",
        "roles": ["participant"],
    }

    await wait_until(lambda: feed(api, auth), timeout=30, message="Ada's welcome")
    [welcome] = await feed(api, auth)
    assert welcome["kind"] == "welcome"
    assert welcome["read"] is False
    assert datetime.fromisoformat(str(welcome["created_at"])).utcoffset() == timedelta(0)

    # Bob gets his own welcome, and neither sees the other's.
    _, bob = await api.new_person("Bob")
    await wait_until(lambda: feed(api, bob), timeout=30, message="Bob's welcome")
    [bobs_welcome] = await feed(api, bob)
    assert bobs_welcome["notification_id"] != welcome["notification_id"]
    assert [n["notification_id"] for n in await feed(api, auth)] == [welcome["notification_id"]]


async def test_organizer_from_configuration_can_sign_in(api: Api) -> None:
    auth = await api.sign_in(*ORGANIZER)
    me = await api.http.get("/me", headers=auth)
    assert "organizer" in me.json()["roles"]


async def test_bad_input_is_a_problem_document_and_changes_nothing(api: Api) -> None:
    bad = await api.http.post(
        "/accounts", json={"email": "not-an-email", "password": "short", "display_name": ""}
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"email", "password", "display_name"}
    rejected = await api.http.post(
        "/auth/token", json={"email": "not-an-email", "password": "short"}
    )
    assert rejected.status_code == 401

    email = unique_email("dup")
    first = await api.http.post(
        "/accounts", json={"email": email, "password": "long enough 1", "display_name": "D"}
    )
    assert first.status_code == 201
    again = await api.http.post(
        "/accounts",
        json={"email": email.upper(), "password": "other secret", "display_name": "E"},
    )
    assert again.status_code == 409
    assert again.json()["type"].endswith("email-taken")
    # The first password still works: the rejected request changed nothing.
    await api.sign_in(email, "long enough 1")

    wrong = await api.http.post("/auth/token", json={"email": email, "password": "nope"})
    assert wrong.status_code == 401
    assert (await api.http.get("/notifications")).status_code == 401
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}
    assert (await api.http.get("/me", headers=forged)).status_code == 401


async def test_gateway_health_and_readiness(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    services = {"registration", "submissions", "scoring", "notifications"}
    assert set(ready.json()["checks"]) == services


async def test_each_service_publishes_its_asyncapi_document(platform: Platform) -> None:
    async def addresses(service: str) -> set[str]:
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(platform.service_url(service) + "/asyncapi.json")
        assert answer.status_code == 200
        return {channel["address"] for channel in answer.json()["channels"].values()}

    prefix = platform.config.topic_prefix
    assert f"{prefix}registration.events" in await addresses("registration")  # publishes
    assert f"{prefix}registration.events" in await addresses("notifications")  # consumes
