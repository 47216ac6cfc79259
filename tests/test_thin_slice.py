"""The thin slice through the whole system as real processes: an account created through the
gateway is stored by registration, announced on the broker, consumed by notifications, and
its welcome notification appears in the new account's feed, through the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.ports import free_port
from tests.database_fixtures import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    require_postgres,
)
from tests.polling import wait_until

ORGANIZER = ("organizer@example.org", "organizer-password-1")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    """The platform's processes on this test run's broker, each service with its own database:
    SQLite files, or one PostgreSQL database per service."""
    data_dir: Path = tmp_path_factory.mktemp("platform")
    databases: dict[str, str] = {}
    if request.param == "postgresql":
        require_postgres()
        databases = {name: postgres_url(create_postgres_database()) for name in SERVICES}
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"{data_dir.name}.",
        jwt_secret="thin-slice-test-secret",
        organizer_email=ORGANIZER[0],
        organizer_password=ORGANIZER[1],
        database_urls=databases,
    )
    running = Platform(config)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for url in databases.values():
            drop_postgres_database(url.rsplit("/", 1)[1])


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    answer = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def feed(client: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, object]]:
    answer = await client.get("/api/v1/notifications", headers=auth)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def new_account(client: httpx.AsyncClient, email: str, password: str, name: str) -> str:
    created = await client.post(
        "/api/v1/accounts", json={"email": email, "password": password, "display_name": name}
    )
    assert created.status_code == 201, created.text
    account_id: str = created.json()["account_id"]
    return account_id


async def test_new_account_gets_a_welcome_notification(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        account_id = await new_account(client, "Ada@Example.org", "correct horse 1", "Ada")
        auth = await sign_in(client, "ada@example.org", "correct horse 1")
        me = await client.get("/api/v1/me", headers=auth)
        assert me.status_code == 200
        assert me.json() == {
            "account_id": account_id,
            "email": "ada@example.org",
            "display_name": "Ada",
            "roles": ["participant"],
        }

        await wait_until(lambda: feed(client, auth), timeout=30, message="Ada's welcome")
        [welcome] = await feed(client, auth)
        assert welcome["kind"] == "welcome"
        assert datetime.fromisoformat(str(welcome["created_at"])).utcoffset() == timedelta(0)
        assert welcome["read"] is False

        # Bob gets his own welcome, and neither sees the other's.
        await new_account(client, "bob@example.org", "another secret", "Bob")
        bob = await sign_in(client, "bob@example.org", "another secret")
        await wait_until(lambda: feed(client, bob), timeout=30, message="Bob's welcome")
        [bobs_welcome] = await feed(client, bob)
        assert bobs_welcome["notification_id"] != welcome["notification_id"]
        assert [n["notification_id"] for n in await feed(client, auth)] == [
            welcome["notification_id"]
        ]


async def test_organizer_from_configuration_can_sign_in(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        auth = await sign_in(client, *ORGANIZER)
        me = await client.get("/api/v1/me", headers=auth)
        assert "organizer" in me.json()["roles"]


async def test_bad_input_is_a_problem_document_and_changes_nothing(platform: Platform) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        bad = await client.post(
            "/api/v1/accounts",
            json={"email": "not-an-email", "password": "short", "display_name": ""},
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        fields = {e["field"] for e in bad.json()["errors"]}
        assert fields == {"email", "password", "display_name"}
        assert (
            await client.post(
                "/api/v1/auth/token", json={"email": "not-an-email", "password": "short"}
            )
        ).status_code == 401

        await new_account(client, "dup@example.org", "long enough 1", "D")
        again = await client.post(
            "/api/v1/accounts",
            json={"email": "DUP@example.org", "password": "other secret", "display_name": "E"},
        )
        assert again.status_code == 409
        assert again.json()["type"].endswith("email-taken")
        # The first password still works: the rejected request changed nothing.
        await sign_in(client, "dup@example.org", "long enough 1")

        wrong = await client.post(
            "/api/v1/auth/token", json={"email": "dup@example.org", "password": "nope"}
        )
        assert wrong.status_code == 401
        assert (await client.get("/api/v1/notifications")).status_code == 401
        forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}
        assert (await client.get("/api/v1/me", headers=forged)).status_code == 401


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
