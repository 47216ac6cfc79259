"""Plain request helpers for the consistency tests (tests/test_consistency.py).

Every helper makes one call and asserts the one answer the platform must give, as if it were
one program: nothing here retries, waits for another service to hear of something, or
accepts an answer that only means "not known here yet". Calls go to a ``Target``: the
gateway's API (``/api/v1``) or one replica of a service directly (the services serve the
same paths without the prefix), so that a test can ask each replica in turn.

Also here: timing a call with monotonic timestamps, reading a whole topic from the broker up
to its current end, and pausing the embedded broker (SIGSTOP, which keeps its in-memory log)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from hackathon_cli.platform import Platform
from hackathon_shared.auth import issue_token
from hackathon_shared.events.catalogue import decode_event
from hackathon_shared.events.envelope import Envelope
from tests.platform_fixtures import ORGANIZER, PASSWORD, unique_email
from tests.polling import wait_until

Auth = dict[str, str]
Json = dict[str, Any]

PERMISSIVE_LIMITS = {
    # Every test signs up and in from one address; the gateway's limits are tested elsewhere.
    "RATE_LIMIT_SIGN_UP": "100000/minute",
    "RATE_LIMIT_SIGN_IN": "100000/minute",
    "RATE_LIMIT_WRITES": "100000/minute",
}
"""Environment for a test's own platform, as the shared one has."""

WEIGHTS = {"impact": 2, "feasibility": 1}
RUBRIC = {
    "criteria": [{"key": key, "weight": weight} for key, weight in WEIGHTS.items()],
    "normalization": "none",
}


def weighted_total(scores: dict[str, float]) -> float:
    """The judge's total under ``RUBRIC``: the weighted mean of the criterion values."""
    return sum(WEIGHTS[key] * value for key, value in scores.items()) / sum(WEIGHTS.values())


@dataclass(frozen=True)
class Target:
    """Where a call goes: the gateway's public API, or one replica of a service."""

    name: str
    http: httpx.AsyncClient


def gateway_target(platform: Platform, timeout: float = 30.0) -> Target:
    return Target(
        "gateway", httpx.AsyncClient(base_url=platform.gateway_url + "/api/v1", timeout=timeout)
    )


def replica_targets(platform: Platform, service: str, timeout: float = 30.0) -> list[Target]:
    """One target per replica of ``service``, each the replica's own URL."""
    return [
        Target(f"{service}#{number}", httpx.AsyncClient(base_url=url, timeout=timeout))
        for number, url in enumerate(platform.replica_urls(service), start=1)
    ]


async def close_targets(*targets: Target) -> None:
    for target in {id(t): t for t in targets}.values():
        await target.http.aclose()


def rotated(targets: list[Target], by: int) -> list[Target]:
    """The targets, starting with the ``by``-th (so that each is asked first in turn)."""
    if not targets:
        return []
    by %= len(targets)
    return targets[by:] + targets[:by]


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


def rule_of(answer: httpx.Response) -> str | None:
    """The last segment of a problem's ``type``; None when the answer is no problem."""
    if not answer.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    kind = answer.json().get("type")
    return str(kind).rsplit("/", 1)[-1] if kind else None


def describe(answer: httpx.Response) -> str:
    request = answer.request
    return f"{request.method} {request.url} -> {answer.status_code} {answer.text[:500]}"


def expect(answer: httpx.Response, status: int, rule: str | None = None) -> Any:
    """Assert the exact status (and problem type); return the parsed body, if any."""
    assert answer.status_code == status, describe(answer)
    if rule is not None:
        assert rule_of(answer) == rule, describe(answer)
        problem = answer.json()
        assert problem["status"] == status and problem["title"], describe(answer)
    if not answer.content:
        return None
    return answer.json()


def expect_catching_up(answer: httpx.Response) -> None:
    """503, a problem of a type ending in ``catching-up``, and a Retry-After header."""
    assert answer.status_code == 503, describe(answer)
    assert rule_of(answer) == "catching-up", describe(answer)
    retry_after = answer.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit(), dict(answer.headers)


@dataclass(frozen=True)
class Timed:
    """A call's answer with when it was sent and answered (``time.monotonic``): ``sent`` is
    taken before the request leaves, ``answered`` after the answer arrived, so ``sent > t``
    means it left after ``t`` and ``answered < t`` that it was answered before ``t``."""

    sent: float
    answered: float
    answer: httpx.Response


async def timed(call: Any) -> Timed:
    sent = time.monotonic()
    answer = await call
    return Timed(sent, time.monotonic(), answer)


# --------------------------------------------------------------------------------------------
# People and hackathons
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    account_id: str
    auth: Auth
    email: str


async def sign_in(target: Target, email: str, password: str = PASSWORD) -> Auth:
    answer = await target.http.post("/auth/token", json={"email": email, "password": password})
    token = expect(answer, 200)["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def organizer(target: Target) -> Auth:
    return await sign_in(target, *ORGANIZER)


async def new_person(target: Target, name: str) -> Person:
    email = unique_email(name)
    answer = await target.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    account_id = expect(answer, 201)["account_id"]
    return Person(account_id, await sign_in(target, email), email)


async def new_participant(target: Target, platform: Platform, name: str) -> Person:
    """Someone new, with a token issued as registration issues them (signed with the
    platform's secret) rather than by signing in: Argon2 makes each sign-in cost a good part
    of a second of CPU, which a test that needs many people and tests no sign-in can spare."""
    email = unique_email(name)
    answer = await target.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    account_id = expect(answer, 201)["account_id"]
    token = issue_token(platform.config.jwt_secret, account_id, ["participant"], 900)
    return Person(account_id, {"Authorization": f"Bearer {token}"}, email)


def hackathon_body(**changes: Any) -> Json:
    body: Json = {
        "name": f"Consistency {secrets.token_hex(4)}",
        "description": "consistency test",
        "challenges": [{"title": "Clean water"}, {"title": "Open data"}],
        "min_team_size": 1,
        "max_team_size": 4,
        "max_teams": 60,
        "submission_deadline": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        "rubric": RUBRIC,
        "judges_per_submission": 1,
        "awards": [{"name": "First prize", "rank": 1, "kind": "grant", "amount": 1000}],
    }
    body.update(changes)
    return body


async def create_hackathon(target: Target, auth: Auth, **changes: Any) -> Json:
    hackathon: Json = expect(
        await target.http.post("/hackathons", headers=auth, json=hackathon_body(**changes)), 201
    )
    assert hackathon["phase"] == "draft", hackathon
    return hackathon


def change_phase(target: Target, auth: Auth, hackathon_id: str, phase: str) -> Any:
    return target.http.post(
        f"/hackathons/{hackathon_id}/phase", headers=auth, json={"phase": phase}
    )


async def move_to(target: Target, auth: Auth, hackathon_id: str, phase: str) -> Json:
    hackathon: Json = expect(await change_phase(target, auth, hackathon_id, phase), 200)
    assert hackathon["phase"] == phase, hackathon
    return hackathon


async def register(target: Target, hackathon_id: str, person: Person) -> None:
    answer = await target.http.post(
        f"/hackathons/{hackathon_id}/registrations",
        headers=person.auth,
        json={"sector": "civil_society", "consent": True},
    )
    expect(answer, 201)


async def create_team(target: Target, hackathon: Json, captain: Person) -> Json:
    answer = await target.http.post(
        f"/hackathons/{hackathon['hackathon_id']}/teams",
        headers=captain.auth,
        json={
            "name": f"Team {secrets.token_hex(4)}",
            "challenge_id": hackathon["challenges"][0]["challenge_id"],
        },
    )
    team: Json = expect(answer, 201)
    assert [m["account_id"] for m in team["members"]] == [captain.account_id], team
    return team


async def join(target: Target, team: Json, person: Person) -> Json:
    answer = await target.http.post(
        f"/teams/{team['team_id']}/members",
        headers=person.auth,
        json={"invite_code": team["invite_code"]},
    )
    joined: Json = expect(answer, 201)
    assert person.account_id in [m["account_id"] for m in joined["members"]], joined
    return joined


async def leave(target: Target, team_id: str, person: Person) -> None:
    expect(await target.http.delete(f"/teams/{team_id}/members/me", headers=person.auth), 204)


async def enrol_judge(target: Target, auth: Auth, hackathon_id: str, judge: Person) -> None:
    answer = await target.http.post(
        f"/hackathons/{hackathon_id}/judges",
        headers=auth,
        json={"email": judge.email, "conflicts": []},
    )
    assert expect(answer, 201)["judge_id"] == judge.account_id


# --------------------------------------------------------------------------------------------
# Submissions and judging
# --------------------------------------------------------------------------------------------


def submission_body(title: str) -> Json:
    return {
        "title": title,
        "summary": "Cheap sensors report water quality to a shared open map.",
        "kind": "technology",
        "repo_url": "https://git.example.org/water/mesh",
    }


def put_submission(target: Target, team_id: str, auth: Auth, title: str) -> Any:
    return target.http.put(
        f"/teams/{team_id}/submission", headers=auth, json=submission_body(title)
    )


def get_submission(target: Target, team_id: str, auth: Auth) -> Any:
    return target.http.get(f"/teams/{team_id}/submission", headers=auth)


async def every_item(target: Target, path: str, auth: Auth | None = None) -> list[Json]:
    """Every item of a paginated list, following ``next_cursor`` (one call per page)."""
    items: list[Json] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = expect(await target.http.get(path, headers=auth or {}, params=params), 200)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def score(target: Target, submission_id: str, judge: Person, values: dict[str, float]) -> Any:
    return target.http.put(
        f"/submissions/{submission_id}/scores/me", headers=judge.auth, json={"scores": values}
    )


# --------------------------------------------------------------------------------------------
# The broker
# --------------------------------------------------------------------------------------------


async def read_topic(platform: Platform, topic: str, timeout: float = 20.0) -> list[Envelope]:
    """Every event now on the platform's ``topic`` (unprefixed), partition after partition.

    Each partition is read from its start until the consumer's position reaches the high
    watermark of a Fetch answer (the true end, also on the embedded broker, whose
    ``end_offsets`` can fall short), and then until one more fetch brings nothing."""
    name = platform.config.topic_prefix + topic
    consumer = AIOKafkaConsumer(
        bootstrap_servers=platform.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer.topics()
        numbers = consumer.partitions_for_topic(name)
        assert numbers, f"no partitions known for {name}"
        partitions = [TopicPartition(name, number) for number in sorted(numbers)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: dict[TopicPartition, list[Envelope]] = {p: [] for p in partitions}
        reached = False

        async def at_end() -> bool:
            nonlocal reached
            batches = await consumer.getmany(timeout_ms=200)
            for partition, batch in batches.items():
                records[partition].extend(
                    decode_event(record.value) for record in batch if record.value is not None
                )
            if reached:
                return not batches
            for partition in partitions:
                highwater = consumer.highwater(partition)
                if highwater is None or await consumer.position(partition) < highwater:
                    return False
            reached = True
            return False

        await wait_until(at_end, timeout=timeout, message=f"reading {name} to its end")
    finally:
        await consumer.stop()
    return [event for partition in partitions for event in records[partition]]


@contextlib.contextmanager
def broker_paused(platform: Platform) -> Iterator[None]:
    """The platform's embedded broker stopped (SIGSTOP: unreachable, its in-memory log kept)
    inside the block, and always resumed (SIGCONT) when it ends, however it ends."""
    assert platform.broker is not None and platform.broker.pid is not None, "no embedded broker"
    pid = platform.broker.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
