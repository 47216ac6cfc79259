"""Contention (issue 16): 200 people at once for the last seats of a team, and then for the
last team slots of a hackathon, on SQLite and on PostgreSQL. Exactly as many succeed as there
were seats (slots); every other answer is ``409 team-full`` (``hackathon-full``); the team and
the hackathon hold exactly the winners; one event per success; the feeds and e-mails are
exactly what the winners' and the team's successes cause; ``audit verify`` is clean.

A client that gets a ``503`` (the database busy) sends the same request again with the same
``Idempotency-Key``, as clients do; the retries are counted and reported. The 200 accounts
are made through the API; their access tokens are issued with the platform's signing secret,
as a sign-in would issue them (a sign-in costs an Argon2 check each, and sign-in is not what
is under test here)."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx
import jwt
import pytest

from hackathon_cli.platform import Platform
from hackathon_shared.auth import issue_token
from hackathon_shared.events.catalogue import TeamMemberJoined, TeamRegistered
from hackathon_shared.topics import REGISTRATION_EVENTS
from tests.faults.trouble_support import (
    Attempted,
    assert_audit_clean,
    assert_every_event_once,
    assert_feeds_and_mails_exact,
    assert_no_dead_letters,
    problem_type,
    start_platform,
    write_until_final,
)
from tests.journey_helpers import (
    Person,
    create_hackathon,
    create_team,
    every_item,
    join,
    new_person,
    participant,
    read_topics,
    team_view,
)
from tests.mail_fixtures import SmtpServer
from tests.platform_fixtures import PASSWORD, Api, unique_email

pytestmark = pytest.mark.faults

CROWD = 200
SEATS_LEFT = 3  # a team of 5 that has 2 members
SLOTS_LEFT = 2  # a hackathon of 3 teams that has 1

T = TypeVar("T")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def contended_platform(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpServer,
) -> Iterator[Platform]:
    running = start_platform(
        tmp_path_factory.mktemp(f"contention-{request.param}"),
        kafka_bootstrap,
        smtp_server,
        postgresql=request.param == "postgresql",
    )
    try:
        yield running.platform
    finally:
        running.stop()


@pytest.fixture
async def api(contended_platform: Platform) -> AsyncIterator[Api]:
    client = Api(contended_platform)
    # The crowd's requests go out together, not a hundred at a time.
    await client.http.aclose()
    client.http = httpx.AsyncClient(
        base_url=contended_platform.gateway_url + "/api/v1",
        timeout=40,
        limits=httpx.Limits(max_connections=CROWD + 20, max_keepalive_connections=CROWD + 20),
    )
    try:
        yield client
    finally:
        await client.close()


async def _bounded(jobs: list[Callable[[], Awaitable[T]]], at_once: int) -> list[T]:
    gate = asyncio.Semaphore(at_once)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(one(job) for job in jobs)))


async def _crowd(api: Api) -> list[Person]:
    """``CROWD`` people signed up through the API, with tokens like a sign-in's."""
    first = await new_person(api, "Crowd0")
    claims = jwt.decode(first.auth["Authorization"].split()[1], options={"verify_signature": False})
    secret = api.platform.config.jwt_secret

    async def sign_up(number: int) -> Person:
        email = unique_email(f"crowd{number}")
        answer = await api.http.post(
            "/accounts",
            json={"email": email, "password": PASSWORD, "display_name": f"Crowd{number}"},
        )
        assert answer.status_code == 201, answer.text
        account_id = answer.json()["account_id"]
        token = issue_token(secret, account_id, list(claims["roles"]), 3600)
        return Person(account_id, {"Authorization": f"Bearer {token}"}, email, f"Crowd{number}")

    rest = await _bounded([functools.partial(sign_up, n) for n in range(1, CROWD)], at_once=8)
    return [first, *rest]


async def _register_all(api: Api, hackathon_id: str, people: list[Person]) -> None:
    async def register(person: Person) -> None:
        done = await write_until_final(
            api,
            "POST",
            f"/hackathons/{hackathon_id}/registrations",
            person.auth,
            {"sector": "academia", "consent": True},
        )
        assert done.final.status_code in (201, 202), (done.seen, done.final.text)

    await _bounded([functools.partial(register, p) for p in people], at_once=16)


def _outcomes(attempts: list[Attempted]) -> Counter[str]:
    return Counter(f"{a.final.status_code} {problem_type(a.final)}".strip() for a in attempts)


async def _all_at_once(
    api: Api, method: str, paths_and_bodies: list[tuple[Person, str, dict[str, Any]]]
) -> list[Attempted]:
    start = asyncio.Event()

    async def one(person: Person, path: str, body: dict[str, Any]) -> Attempted:
        await start.wait()
        return await write_until_final(api, method, path, person.auth, body, timeout=60)

    tasks = [asyncio.create_task(one(*job)) for job in paths_and_bodies]
    await asyncio.sleep(0)  # every task is waiting at the start line
    start.set()
    return list(await asyncio.gather(*tasks))


async def test_a_crowd_races_for_the_last_seats_and_the_last_team_slots(
    api: Api, smtp_server: SmtpServer
) -> None:
    platform = api.platform
    crowd = await _crowd(api)

    # --- the last seats of a team
    seats = await create_hackathon(api, phase="registration", max_team_size=5, max_teams=50)
    captain = await participant(api, seats, "Captain")
    first_mate = await participant(api, seats, "FirstMate")
    team = await create_team(api, seats, captain)
    await join(api, team, first_mate)
    await _register_all(api, seats.hackathon_id, crowd)
    joins = await _all_at_once(
        api,
        "POST",
        [
            (p, f"/teams/{team['team_id']}/members", {"invite_code": team["invite_code"]})
            for p in crowd
        ],
    )
    outcomes = _outcomes(joins)
    retried = sum(len(a.seen) - 1 for a in joins)
    assert set(outcomes) <= {"201", "202", "409 team-full"}, (outcomes, retried)
    assert outcomes["409 team-full"] == CROWD - SEATS_LEFT, (outcomes, retried)
    seated = [p for p, a in zip(crowd, joins, strict=True) if a.final.status_code in (201, 202)]
    assert len(seated) == SEATS_LEFT
    members = {
        m["account_id"] for m in (await team_view(api, team["team_id"], captain.auth))["members"]
    }
    assert members == {captain.account_id, first_mate.account_id, *(p.account_id for p in seated)}

    # --- the last team slots of a hackathon
    slots = await create_hackathon(api, phase="registration", max_teams=SLOTS_LEFT + 1)
    founder = await participant(api, slots, "Founder")
    await create_team(api, slots, founder)
    await _register_all(api, slots.hackathon_id, crowd)
    creations = await _all_at_once(
        api,
        "POST",
        [
            (
                p,
                f"/hackathons/{slots.hackathon_id}/teams",
                {
                    "name": f"Crowd team {i} {secrets.token_hex(3)}",
                    "challenge_id": slots.challenge_ids[0],
                },
            )
            for i, p in enumerate(crowd)
        ],
    )
    outcomes = _outcomes(creations)
    retried += sum(len(a.seen) - 1 for a in creations)
    assert set(outcomes) <= {"201", "202", "409 hackathon-full"}, (outcomes, retried)
    assert outcomes["409 hackathon-full"] == CROWD - SLOTS_LEFT, (outcomes, retried)
    founders = [
        p for p, a in zip(crowd, creations, strict=True) if a.final.status_code in (201, 202)
    ]
    assert len(founders) == SLOTS_LEFT
    teams = await every_item(api, f"/hackathons/{slots.hackathon_id}/teams")
    captains = {
        t["captain_id"] if "captain_id" in t else t["members"][0]["account_id"] for t in teams
    }
    assert len(teams) == SLOTS_LEFT + 1, teams
    assert captains == {founder.account_id, *(p.account_id for p in founders)}, teams

    # --- one event per success
    events = await read_topics(platform, [REGISTRATION_EVENTS])
    joined = [
        e.payload.account_id
        for e in events
        if isinstance(e, TeamMemberJoined) and e.payload.team_id == team["team_id"]
    ]
    assert Counter(joined) == Counter([first_mate.account_id, *(p.account_id for p in seated)])
    registered = [
        e.payload.team_id
        for e in events
        if isinstance(e, TeamRegistered) and e.payload.hackathon_id == slots.hackathon_id
    ]
    assert sorted(registered) == sorted(t["team_id"] for t in teams)

    # --- the feeds and e-mails: what the successes cause, and nothing for the others
    order = [account for account in joined]  # join order, as the team's chain has it
    expected: dict[str, tuple[Person, Counter[str]]] = {}
    for person in [captain, first_mate, founder, *crowd]:
        expected[person.account_id] = (person, Counter({"welcome": 1}))
    expected[captain.account_id][1].update({"team_registered": 1, "team_member_joined": len(order)})
    for position, account in enumerate(order):
        # A join is told to the members before it and to the one who joins.
        expected[account][1]["team_member_joined"] += len(order) - position
    expected[founder.account_id][1]["team_registered"] += 1
    for person in founders:
        expected[person.account_id][1]["team_registered"] += 1
    await assert_feeds_and_mails_exact(api, smtp_server, list(expected.values()))

    await assert_every_event_once(platform)
    await assert_no_dead_letters(platform)
    await assert_audit_clean(platform, [seats.hackathon_id, slots.hackathon_id])
    print(f"contention: {retried} retried answers (503 and the like) on the way")
