"""Shared set-up for end-to-end journeys through the gateway, and the broker-side tools they
need.

Through the API: hackathons moved along their phases, registered people, teams, submissions.
The platform answers as one program would (shared/API.md, Conventions: Consistency): every
answer includes every write acknowledged before the request, whichever service made it, so
each step is one plain call right after its cause, asserting the exact answer. On the
broker: publishing another service's event (as scoring would) and reading whole topics up to
their end, e.g. to rebuild a view from the log. Every helper makes its own people and
hackathons, since the platform is shared by the whole test session."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from audit.log import LogRecord, event_topic_names, read_broker
from hackathon_cli.platform import Platform
from hackathon_shared.events.catalogue import (
    JudgeAssigned,
    JudgeAssignedPayload,
    decode_event,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.signing import load_signer
from hackathon_shared.topics import SCORING_EVENTS
from tests.platform_fixtures import PASSWORD, Api, unique_email
from tests.polling import wait_until

Auth = dict[str, str]
Json = dict[str, Any]

PHASES = ("draft", "registration", "hacking", "judging")
ARRIVAL_TIMEOUT = 30.0
"""How long a test waits for what is asynchronous by nature: an event to appear on a topic it
reads itself, a notification, an e-mail, a webhook delivery. Answers of the API are never
waited for."""

# --------------------------------------------------------------------------------------------
# People, hackathons and teams
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hackathon:
    hackathon_id: str
    challenge_ids: list[str]


@dataclass(frozen=True)
class Person:
    account_id: str
    auth: Auth
    email: str
    name: str


async def new_person(api: Api, name: str = "person", email: str | None = None) -> Person:
    """Someone new with an account (at ``email`` if given, else a unique one), signed in."""
    email = unique_email(name) if email is None else email
    answer = await api.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": name}
    )
    assert answer.status_code == 201, answer.text
    return Person(answer.json()["account_id"], await api.sign_in(email), email, name)


async def move_to(api: Api, hackathon: Hackathon, phase: str) -> None:
    """Move the hackathon one phase forward, to ``phase``."""
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/phase",
        headers=await api.organizer(),
        json={"phase": phase},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["phase"] == phase


async def create_hackathon(
    api: Api,
    *,
    phase: str = "registration",
    min_team_size: int = 1,
    max_team_size: int = 4,
    max_teams: int = 10,
    deadline: datetime | None = None,
) -> Hackathon:
    """A new hackathon with two challenges, moved forward to ``phase``. The submission
    deadline is a week away unless given."""
    organizer = await api.organizer()
    when = deadline or datetime.now(UTC) + timedelta(days=7)
    created = await api.http.post(
        "/hackathons",
        headers=organizer,
        json={
            "name": f"Hackathon {secrets.token_hex(4)}",
            "description": "end-to-end test",
            "challenges": [
                {"title": "Clean water", "description": "sensors"},
                {"title": "Open data"},
            ],
            "min_team_size": min_team_size,
            "max_team_size": max_team_size,
            "max_teams": max_teams,
            "submission_deadline": when.isoformat(),
            "rubric": {
                "criteria": [{"key": "impact", "weight": 2}, {"key": "feasibility", "weight": 1}],
                "normalization": "none",
            },
            "judges_per_submission": 1,
            "awards": [{"name": "First prize", "rank": 1, "kind": "grant", "amount": 1000}],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    hackathon = Hackathon(body["hackathon_id"], [c["challenge_id"] for c in body["challenges"]])
    for next_phase in PHASES[1 : PHASES.index(phase) + 1]:
        await move_to(api, hackathon, next_phase)
    return hackathon


async def register(api: Api, hackathon: Hackathon, person: Person) -> None:
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/registrations",
        headers=person.auth,
        json={"sector": "academia", "consent": True},
    )
    assert answer.status_code == 201, answer.text


async def participant(api: Api, hackathon: Hackathon, name: str) -> Person:
    """Someone new, registered for ``hackathon``."""
    person = await new_person(api, name)
    await register(api, hackathon, person)
    return person


async def participants(api: Api, hackathon: Hackathon, count: int, name: str) -> list[Person]:
    return [await participant(api, hackathon, f"{name}{i}") for i in range(count)]


async def create_team(api: Api, hackathon: Hackathon, captain: Person, challenge: int = 0) -> Json:
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/teams",
        headers=captain.auth,
        json={
            "name": f"Team {secrets.token_hex(4)}",
            "challenge_id": hackathon.challenge_ids[challenge],
        },
    )
    assert answer.status_code == 201, answer.text
    team: Json = answer.json()
    return team


async def join(api: Api, team: Json, person: Person) -> Json:
    answer = await api.http.post(
        f"/teams/{team['team_id']}/members",
        headers=person.auth,
        json={"invite_code": team["invite_code"]},
    )
    assert answer.status_code == 201, answer.text
    joined: Json = answer.json()
    return joined


async def team_of(api: Api, hackathon: Hackathon, captain: Person, *members: Person) -> Json:
    """A team of ``captain`` and ``members`` (all registered already)."""
    team = await create_team(api, hackathon, captain)
    for member in members:
        team = await join(api, team, member)
    return team


async def leave(api: Api, team_id: str, person: Person) -> None:
    answer = await api.http.delete(f"/teams/{team_id}/members/me", headers=person.auth)
    assert answer.status_code == 204, answer.text


async def enrol_judge(api: Api, hackathon: Hackathon, person: Person) -> None:
    answer = await api.http.post(
        f"/hackathons/{hackathon.hackathon_id}/judges",
        headers=await api.organizer(),
        json={"email": person.email, "conflicts": []},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["judge_id"] == person.account_id


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


async def every_item(api: Api, path: str, auth: Auth | None = None, limit: int = 200) -> list[Json]:
    """Every item of a paginated list, following ``next_cursor`` to the end."""
    items: list[Json] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        answer = await api.http.get(path, headers=auth or {}, params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) >= {"items", "next_cursor"}, page
        assert len(page["items"]) <= limit, page
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def team_view(api: Api, team_id: str, auth: Auth | None = None) -> Json:
    """The team as ``auth`` (or anyone) sees it."""
    answer = await api.http.get(f"/teams/{team_id}", headers=auth or {})
    assert answer.status_code == 200, answer.text
    team: Json = answer.json()
    return team


async def hackathon_view(api: Api, hackathon_id: str) -> Json:
    """The hackathon as anyone sees it."""
    answer = await api.http.get(f"/hackathons/{hackathon_id}")
    assert answer.status_code == 200, answer.text
    hackathon: Json = answer.json()
    return hackathon


# --------------------------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------------------------


def assert_problem(answer: httpx.Response, status: int, rule: str | None = None) -> Json:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    problem: Json = answer.json()
    assert problem["status"] == status, problem
    assert problem["title"], problem
    assert "detail" in problem, problem
    if rule is not None:
        assert problem["type"].endswith("/" + rule), problem
    return problem


def error_fields(answer: httpx.Response) -> list[str]:
    """The ``field`` of every error of a 422 problem."""
    problem = assert_problem(answer, 422)
    fields = [str(error["field"]) for error in problem["errors"]]
    assert fields, problem
    for error in problem["errors"]:
        assert error["message"], problem
    return fields


def names(field: str, key: str) -> bool:
    """True when the JSON path ``field`` has ``key`` as one of its segments."""
    return key in field.replace("[", ".").replace("]", "").split(".")


# --------------------------------------------------------------------------------------------
# Submissions
# --------------------------------------------------------------------------------------------


def submission_body(**changes: Any) -> Json:
    """A valid submission, with ``changes`` applied (a value of ``...`` drops the field)."""
    body: Json = {
        "title": f"Water sensor mesh {secrets.token_hex(2)}",
        "summary": "Cheap sensors report water quality to a shared open map.",
        "kind": "technology",
        "repo_url": "https://git.example.org/water/mesh",
        "demo_url": "http://demo.example.org/mesh?view=map",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


async def put_submission(api: Api, team_id: str, auth: Auth | None, body: Json) -> httpx.Response:
    return await api.http.put(f"/teams/{team_id}/submission", headers=auth or {}, json=body)


async def get_submission(api: Api, team_id: str, auth: Auth | None) -> httpx.Response:
    return await api.http.get(f"/teams/{team_id}/submission", headers=auth or {})


async def submit(api: Api, team_id: str, author: Person, body: Json | None = None) -> Json:
    """Submit (a new version) for a team in phase hacking: one call, which must be accepted
    (201 for the first version, 200 after). Returns the accepted version."""
    answer = await put_submission(api, team_id, author.auth, body or submission_body())
    assert answer.status_code in (200, 201), answer.text
    accepted: Json = answer.json()
    return accepted


async def list_submissions(
    api: Api, hackathon: Hackathon, auth: Auth, limit: int = 200
) -> list[Json]:
    """Every submission of the hackathon as the organizer sees it, following the cursor."""
    return await every_item(api, f"/hackathons/{hackathon.hackathon_id}/submissions", auth, limit)


def parse_time(text: str) -> datetime:
    """An ISO 8601 timestamp, which must carry a time zone."""
    when = datetime.fromisoformat(text)
    assert when.tzinfo is not None, text
    return when


# --------------------------------------------------------------------------------------------
# The broker
# --------------------------------------------------------------------------------------------


def signed_as_producer(platform: Platform, event: Envelope) -> list[tuple[str, bytes]]:
    """The headers the event's producing service would send it with: its signature with
    that service's key from the platform's data directory (hackathon_shared.signing)."""
    signer = load_signer(platform.keys.signing_key(event.producer), event.producer)
    return [(name, value.encode()) for name, value in signer.headers_for(event.hash).items()]


async def publish(platform: Platform, topic: str, event: Envelope) -> None:
    """Publish ``event`` on the platform's ``topic`` (unprefixed), keyed by its aggregate, the
    way its producing service would: signed with that service's key."""
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            platform.config.topic_prefix + topic,
            value=event.to_json().encode(),
            key=event.aggregate_id.encode(),
            headers=signed_as_producer(platform, event),
        )
    finally:
        await producer.stop()


def judge_assigned(hackathon_id: str, submission: Json, judge_id: str) -> Envelope:
    """A `JudgeAssigned` as scoring would seal it, for the first event of the submission."""
    return seal(
        JudgeAssigned,
        payload=JudgeAssignedPayload(
            hackathon_id=hackathon_id,
            submission_id=submission["submission_id"],
            team_id=submission["team_id"],
            judge_id=judge_id,
        ),
        aggregate_id=submission["submission_id"],
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


async def assign_judge(
    platform: Platform, hackathon_id: str, submission: Json, judge_id: str
) -> Envelope:
    """Announce on scoring.events that ``judge_id`` is assigned ``submission``."""
    event = judge_assigned(hackathon_id, submission, judge_id)
    await publish(platform, SCORING_EVENTS, event)
    return event


async def read_topics(
    platform: Platform, topics: Iterable[str], timeout: float = ARRIVAL_TIMEOUT
) -> list[Envelope]:
    """Every event currently on the platform's ``topics`` (unprefixed), partition after
    partition (so one aggregate's events keep their order).

    Each partition is read from its start until the position reaches the end offset it had
    when the reading began, and then on until a fetch brings nothing more: the embedded
    broker (Tansu) answers ``end_offsets`` with a high watermark that advances by one per
    produced *batch* rather than per record, so its end offsets can fall short of the log
    (a batch of two events, e.g. `TeamMemberLeft` and `TeamWithdrawn` from one outbox flush,
    counts as one)."""
    names = [platform.config.topic_prefix + topic for topic in topics]
    consumer = AIOKafkaConsumer(
        bootstrap_servers=platform.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata of every topic
        partitions: list[TopicPartition] = []
        for name in names:
            numbers = consumer.partitions_for_topic(name)
            assert numbers, f"no partitions known for {name}"
            partitions.extend(TopicPartition(name, number) for number in sorted(numbers))
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        records: dict[TopicPartition, list[Envelope]] = {p: [] for p in partitions}
        reached = False

        async def caught_up() -> bool:
            nonlocal reached
            batches = await consumer.getmany(timeout_ms=300)
            for partition, batch in batches.items():
                for record in batch:
                    if record.value is not None:
                        records[partition].append(decode_event(record.value))
            if not reached:
                positions = [await consumer.position(p) for p in partitions]
                reached = all(at >= ends[p] for at, p in zip(positions, partitions, strict=True))
                return False
            return not batches

        await wait_until(caught_up, timeout=timeout, message=f"reading {names} to their end")
    finally:
        await consumer.stop()
    return [event for partition in partitions for event in records[partition]]


async def platform_log(platform: Platform) -> list[LogRecord]:
    """Every record of the platform's event topics, as ``hackathon audit`` reads them from the
    broker (its own group each time: the audit never commits offsets)."""
    prefix = platform.config.topic_prefix
    records, _missing = await read_broker(
        platform.bootstrap_servers,
        event_topic_names(prefix),
        group_id=f"{prefix}audit-{secrets.token_hex(3)}",
    )
    return records


async def last_sequence(platform: Platform, topic: str, aggregate_id: str) -> int:
    """The sequence of the last event of ``aggregate_id`` now on ``topic`` (unprefixed): how
    far another service's decision taken now sees that aggregate."""
    sequences = [
        e.sequence for e in await read_topics(platform, [topic]) if e.aggregate_id == aggregate_id
    ]
    assert sequences, f"no event of {aggregate_id} on {topic}"
    assert sequences == list(range(1, len(sequences) + 1)), sequences
    return sequences[-1]
