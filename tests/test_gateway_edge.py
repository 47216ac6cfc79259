"""The gateway's protections at the edge, against the real services of the session's platform:
rate limits, the body size limit, CORS, forged and expired tokens, fields a client may not
set, someone else's objects, security headers, request ids, and problems for a service that is
down or slow. The limits are tested on a gateway of their own (in this process, with low
limits), in front of the platform's services, so that the rest of the session keeps its
generous ones."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from gateway.app import create_app
from gateway.settings import GatewaySettings
from hackathon_shared.auth import issue_token
from hackathon_shared.events.catalogue import TeamRegistered
from hackathon_shared.ports import free_port
from hackathon_shared.topics import REGISTRATION_EVENTS
from tests.journey_helpers import (
    assert_problem,
    create_hackathon,
    create_team,
    join,
    participant,
    submit,
)
from tests.platform_fixtures import PASSWORD, Api, events_on, unique_email

ORIGIN = "https://frontend.example.org"


def edge_app(api: Api, **settings: Any) -> Any:
    """A gateway of its own (low limits, one allowed origin), in front of the platform's
    services."""
    platform = api.platform
    config: dict[str, Any] = {
        "registration_url": platform.service_url("registration"),
        "submissions_url": platform.service_url("submissions"),
        "scoring_url": platform.service_url("scoring"),
        "notifications_url": platform.service_url("notifications"),
        "HACKATHON_JWT_SECRET": platform.config.jwt_secret,
        "cors_allow_origins": ORIGIN,
        "rate_limit_sign_up": "3/minute",
        "rate_limit_sign_in": "4/minute",
        "rate_limit_writes": "6/minute",
        "max_body_bytes": 4096,
    }
    config.update(settings)
    return create_app(GatewaySettings(**config))


def client_of(app: Any) -> httpx.AsyncClient:
    """A client of ``app`` from an address of its own."""
    address = f"10.9.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://gateway.test/api/v1",
        timeout=15,
    )


def edge_gateway(api: Api, **settings: Any) -> httpx.AsyncClient:
    return client_of(edge_app(api, **settings))


@pytest.fixture
async def edge(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    async with edge_gateway(api) as client:
        yield client


async def test_sign_up_and_sign_in_are_rate_limited_per_client(api: Api) -> None:
    app = edge_app(api)
    async with client_of(app) as edge:
        emails = [unique_email("limited") for _ in range(4)]
        answers = [
            await edge.post(
                "/accounts", json={"email": e, "password": PASSWORD, "display_name": "Lim"}
            )
            for e in emails
        ]
        assert [a.status_code for a in answers[:3]] == [201, 201, 201]
        problem = assert_problem(answers[3], 429, "rate-limited")
        assert 1 <= int(answers[3].headers["Retry-After"]) <= 60, problem
        # The refused sign-up changed nothing: that e-mail has no account.
        refused = await api.http.post(
            "/auth/token", json={"email": emails[3], "password": PASSWORD}
        )
        assert_problem(refused, 401)

        tries = [
            await edge.post("/auth/token", json={"email": emails[0], "password": PASSWORD})
            for _ in range(5)
        ]
        assert [t.status_code for t in tries[:4]] == [200] * 4
        assert_problem(tries[4], 429, "rate-limited")
        assert int(tries[4].headers["Retry-After"]) >= 1

        # Another client of the same gateway is not held back by this one's count.
        async with client_of(app) as other:
            fine = await other.post("/auth/token", json={"email": emails[0], "password": PASSWORD})
            assert fine.status_code == 200


async def test_writes_are_rate_limited_per_account(api: Api, edge: httpx.AsyncClient) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    busy = await participant(api, hackathon, "Busy")
    calm = await participant(api, hackathon, "Calm")
    path = f"/hackathons/{hackathon.hackathon_id}/registrations"
    body = {"sector": "academia", "consent": True}
    answers = [await edge.post(path, json=body, headers=busy.auth) for _ in range(7)]
    # Refused writes count too (already registered: 409), until the limit answers 429.
    assert [a.status_code for a in answers[:6]] == [409] * 6
    assert_problem(answers[6], 429, "rate-limited")
    # Reads are not limited, and another account still writes.
    assert (await edge.get("/me", headers=busy.auth)).status_code == 200
    assert (await edge.post(path, json=body, headers=calm.auth)).status_code == 409


async def test_a_body_over_the_limit_is_refused_and_changes_nothing(
    api: Api, edge: httpx.AsyncClient
) -> None:
    email = unique_email("big")
    big = {"email": email, "password": PASSWORD, "display_name": "x" * 5000}
    assert_problem(await edge.post("/accounts", json=big), 413, "body-too-large")

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"email": "' + email.encode() + b'", "password": "' + PASSWORD.encode()
        yield b'", "display_name": "' + b"y" * 5000 + b'"}'

    streamed = await edge.post(
        "/accounts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(streamed, 413, "body-too-large")
    refused = await api.http.post("/auth/token", json={"email": email, "password": PASSWORD})
    assert_problem(refused, 401)


async def test_cors_answers_the_configured_origin_only(edge: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    allowed = await edge.options("/hackathons", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    other = await edge.options(
        "/hackathons", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers
    simple = await edge.get("/hackathons", headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


async def test_forged_and_expired_tokens_are_refused_at_the_edge(
    api: Api, edge: httpx.AsyncClient
) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    person = await participant(api, hackathon, "Mallory")
    secret = api.platform.config.jwt_secret
    real = person.auth["Authorization"].split(" ", 1)[1]
    claims = jwt.decode(real, options={"verify_signature": False})
    forged_role = jwt.encode(
        {**claims, "roles": ["organizer"]}, "not-the-platform-secret-but-long-enough-0123"
    )
    unsigned = jwt.encode({**claims, "roles": ["organizer"]}, key=None, algorithm="none")
    header, _payload, signature = real.split(".")
    tampered_payload = jwt.encode({**claims, "sub": "acc_someone_else"}, "x" * 40).split(".")[1]
    spliced = f"{header}.{tampered_payload}.{signature}"
    expired = issue_token(secret, person.account_id, ["organizer"], ttl_seconds=-60)
    new_hackathon = {"name": "Forged", "challenges": []}
    for token in (forged_role, unsigned, spliced, expired, "not-a-token"):
        auth = {"Authorization": f"Bearer {token}"}
        assert_problem(await edge.get("/me", headers=auth), 401, "unauthenticated")
        answer = await edge.post("/hackathons", json=new_hackathon, headers=auth)
        assert_problem(answer, 401, "unauthenticated")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    problem = assert_problem(
        await edge.get("/me", headers={"Authorization": f"Bearer {expired}"}), 401
    )
    assert "expired" in problem["detail"]
    # The real token still works, and a participant is no organizer.
    assert (await edge.get("/me", headers=person.auth)).json()["roles"] == ["participant"]
    assert_problem(
        await edge.post("/hackathons", json=new_hackathon, headers=person.auth), 403, "forbidden"
    )
    assert_problem(await edge.get("/notifications/stream"), 401)


async def test_clients_cannot_set_what_they_must_not_or_reach_others_objects(
    api: Api, edge: httpx.AsyncClient
) -> None:
    # Sign-up refuses a role sent along, naming it, and makes no account; without it, the
    # account is a participant's.
    email = unique_email("climber")
    body = {"email": email, "password": PASSWORD, "display_name": "C"}
    climbing = await edge.post("/accounts", json={**body, "roles": ["organizer"]})
    problem = assert_problem(climbing, 422)
    assert [e["field"] for e in problem["errors"]] == ["roles"], problem
    created = await edge.post("/accounts", json=body)
    assert created.status_code == 201
    token = (await edge.post("/auth/token", json={"email": email, "password": PASSWORD})).json()
    me = await edge.get("/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["roles"] == ["participant"]

    hackathon = await create_hackathon(api, phase="hacking")
    owner = await participant(api, hackathon, "Owner")
    stranger = await participant(api, hackathon, "Stranger")
    team = await create_team(api, hackathon, owner)
    # Someone else's team: no invite code, and guessing one does not get in.
    seen = (await edge.get(f"/teams/{team['team_id']}", headers=stranger.auth)).json()
    assert "invite_code" not in seen or seen["invite_code"] is None
    listed = (await edge.get(f"/hackathons/{hackathon.hackathon_id}/teams")).json()["items"]
    assert all(t.get("invite_code") is None for t in listed)
    wrong = await edge.post(
        f"/teams/{team['team_id']}/members",
        json={"invite_code": "guessed-code"},
        headers=stranger.auth,
    )
    assert_problem(wrong, 403)
    # The real invite code gets in.
    await join(api, team, await participant(api, hackathon, "Friend"))
    # Someone else's submission, and notifications.
    await submit(api, team["team_id"], owner)
    other = await edge.get(f"/teams/{team['team_id']}/submission", headers=stranger.auth)
    assert_problem(other, 403)
    assert_problem(
        await edge.get(f"/hackathons/{hackathon.hackathon_id}/submissions", headers=stranger.auth),
        403,
    )
    feed = (await edge.get("/notifications", headers=stranger.auth)).json()["items"]
    owner_feed = (await edge.get("/notifications", headers=owner.auth)).json()["items"]
    assert not {n["notification_id"] for n in feed} & {n["notification_id"] for n in owner_feed}
    # No unbounded list.
    assert_problem(await edge.get("/hackathons", params={"limit": 10_000}), 422)


async def test_every_answer_has_security_headers_and_a_request_id_that_events_carry(
    api: Api, edge: httpx.AsyncClient
) -> None:
    for answer in (
        await edge.get("/hackathons"),
        await edge.get("/me"),
        await edge.get("/no-such-route"),
    ):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-request-id"].startswith("req_")
    assert_problem(await edge.get("/no-such-route"), 404)
    # An unusable request id is replaced; a good one is kept and reaches the events.
    odd = await edge.get("/hackathons", headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["x-request-id"].startswith("req_")
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "Traced")
    request_id = f"trace-{secrets.token_hex(6)}"
    answer = await edge.post(
        f"/hackathons/{hackathon.hackathon_id}/teams",
        json={"name": f"Traced {request_id}", "challenge_id": hackathon.challenge_ids[0]},
        headers={**captain.auth, "X-Request-ID": request_id},
    )
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-request-id"] == request_id
    [event] = await events_on(
        api.platform,
        REGISTRATION_EVENTS,
        lambda e: isinstance(e, TeamRegistered) and e.payload.team_id == answer.json()["team_id"],
    )
    assert event.correlation_id == request_id


async def test_a_service_down_is_503_and_a_slow_one_504(api: Api) -> None:
    never_answers = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # accept the connection, then say nothing
        await never_answers.wait()

    slow_port = free_port()
    server = await asyncio.start_server(silent, "127.0.0.1", slow_port)
    try:
        async with edge_gateway(
            api,
            scoring_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
            submissions_url=f"http://127.0.0.1:{slow_port}",
            upstream_timeout_seconds=0.5,
        ) as edge:
            down = await edge.get("/hackathons/hck_x/leaderboard")
            assert_problem(down, 503, "service-unavailable")
            organizer = await api.organizer()
            slow = await edge.get("/hackathons/hck_x/submissions", headers=organizer)
            assert_problem(slow, 504, "upstream-timeout")
            assert slow.headers["x-request-id"]
            # The other services still answer.
            assert (await edge.get("/hackathons")).status_code == 200
    finally:
        never_answers.set()
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_readiness_names_a_service_whose_address_another_one_answers(api: Api) -> None:
    """A service whose address leads to another service (a port handed out twice, an address
    reused after a restart) is not ready, and the gateway says which one answered."""
    platform = api.platform
    async with edge_gateway(api) as edge:
        ready = await edge.get("http://gateway.test/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["service"] == "gateway"
    async with edge_gateway(api, notifications_url=platform.service_url("scoring")) as edge:
        crossed = await edge.get("http://gateway.test/readyz")
        assert crossed.status_code == 503, crossed.text
        assert crossed.json()["checks"]["notifications"] == "answered as scoring"
        assert crossed.json()["checks"]["scoring"] == "ok"
