"""End-to-end tests of the registration service's hackathons, phases, participants and judges,
through the gateway with the whole platform running as real processes (see
``docs/registration.md`` and ``shared/API.md``).

Every test makes its own hackathon and people (unique names and e-mails), since the platform is
shared by the whole session. Events are read from the broker with `events_on`; because every
event of a hackathon carries the hackathon id as aggregate id (and message key), they arrive in
order on one partition, so asking for "exactly the N events of this hackathon" also proves that
no other event was published for it."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from hackathon_cli.platform import Platform
from hackathon_shared.events.catalogue import (
    PERSONAL_DATA_FIELDS,
    AwardGranted,
    HackathonCreated,
    HackathonPhaseChanged,
    JudgeEnrolled,
    ParticipantRegistered,
    ResultsPublished,
    ResultsPublishedPayload,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal, verify_chain
from tests.journey_helpers import every_item, signed_as_producer
from tests.platform_fixtures import ORGANIZER, PASSWORD, Api, events_on, unique_email
from tests.polling import wait_until

REGISTRATION_EVENTS = "registration.events"
CONSENT_VERSION = os.environ.get("CONSENT_POLICY_VERSION", "2026-01")

# Every e-mail address and display name these tests give to an account: none may ever appear on
# registration.events (checked by the last test, which reads the whole topic).
PERSONAL_DATA_USED: set[str] = {ORGANIZER[0]}

Json = dict[str, Any]
Auth = dict[str, str]


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}"


class Person:
    """An account made for one test: its id, e-mail, display name and auth headers."""

    def __init__(self, account_id: str, email: str, display_name: str, auth: Auth) -> None:
        self.account_id = account_id
        self.email = email
        self.display_name = display_name
        self.auth = auth


async def sign_up(api: Api, first_name: str = "Person") -> Person:
    email = unique_email(first_name.lower())
    display_name = f"{first_name} Testperson-{uuid.uuid4().hex[:10]}"
    PERSONAL_DATA_USED.update({email, display_name})
    answer = await api.http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": display_name}
    )
    assert answer.status_code == 201, answer.text
    return Person(answer.json()["account_id"], email, display_name, await api.sign_in(email))


async def organizer_id(api: Api, auth: Auth) -> str:
    me = await api.http.get("/me", headers=auth)
    assert me.status_code == 200, me.text
    account_id: str = me.json()["account_id"]
    return account_id


def hackathon_body(name: str | None = None, **changes: Any) -> Json:
    """A valid creation request; ``changes`` replace top-level fields."""
    body: Json = {
        "name": name or unique("Hack"),
        "description": "A weekend of civic technology",
        "challenges": [
            {"title": "Clean water", "description": "Sensors for rural wells"},
            {"title": "Open data"},
        ],
        "min_team_size": 1,
        "max_team_size": 4,
        "max_teams": 10,
        "submission_deadline": (datetime.now(UTC) + timedelta(days=30))
        .replace(microsecond=0)
        .isoformat(),
        "rubric": {
            "criteria": [
                {"key": "impact", "name": "Impact", "weight": 2, "min": 1, "max": 10},
                {"key": "feasibility", "weight": 1},
            ],
            "normalization": "zscore",
        },
        "judges_per_submission": 2,
        "awards": [
            {"name": "First prize", "rank": 1, "kind": "grant", "amount": 5000},
            {"name": "Mentoring", "rank": 2, "kind": "mentorship"},
        ],
    }
    body.update(changes)
    return body


async def create_hackathon(api: Api, auth: Auth, **changes: Any) -> Json:
    answer = await api.http.post("/hackathons", json=hackathon_body(**changes), headers=auth)
    assert answer.status_code == 201, answer.text
    hackathon: Json = answer.json()
    return hackathon


async def move_to(api: Api, auth: Auth, hid: str, *phases: str) -> Json:
    """Move the hackathon forward through ``phases``, one request each."""
    hackathon: Json = {}
    for phase in phases:
        answer = await api.http.post(
            f"/hackathons/{hid}/phase", json={"phase": phase}, headers=auth
        )
        assert answer.status_code == 200, f"to {phase}: {answer.text}"
        hackathon = answer.json()
        assert hackathon["phase"] == phase
    return hackathon


async def register(api: Api, person: Person, hid: str, sector: str = "academia") -> str:
    answer = await api.http.post(
        f"/hackathons/{hid}/registrations",
        json={"sector": sector, "consent": True},
        headers=person.auth,
    )
    assert answer.status_code == 201, answer.text
    participant_id: str = answer.json()["participant_id"]
    return participant_id


async def create_team(api: Api, person: Person, hackathon: Json) -> str:
    answer = await api.http.post(
        f"/hackathons/{hackathon['hackathon_id']}/teams",
        json={"name": unique("Team"), "challenge_id": hackathon["challenges"][0]["challenge_id"]},
        headers=person.auth,
    )
    assert answer.status_code == 201, answer.text
    team_id: str = answer.json()["team_id"]
    return team_id


def assert_problem(answer: httpx.Response, status: int, rule: str | None = None) -> Json:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    problem: Json = answer.json()
    assert problem["status"] == status
    if rule is not None:
        assert problem["type"].endswith("/" + rule), problem
    return problem


def error_fields(answer: httpx.Response) -> list[str]:
    problem = assert_problem(answer, 422)
    fields = [str(error["field"]) for error in problem["errors"]]
    assert fields, problem
    return fields


def names_one_of(field: str, keys: set[str]) -> bool:
    """True when the JSON path ``field`` has one of ``keys`` as a path segment."""
    segments = field.replace("[", ".").replace("]", "").split(".")
    return bool(keys & set(segments))


def of_hackathon(hid: str, *types: type[Envelope]) -> Callable[[Envelope], bool]:
    def match(event: Envelope) -> bool:
        return event.aggregate_id == hid and (not types or isinstance(event, types))

    return match


async def topic_values(platform: Platform, topic: str, timeout: float = 30) -> list[bytes]:
    """Every value on ``topic`` (unprefixed) now, read raw from the start up to the end offsets
    seen when called."""
    name = platform.config.topic_prefix + topic
    consumer = AIOKafkaConsumer(
        bootstrap_servers=platform.bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        await consumer.topics()
        partition_ids = await wait_until(
            lambda: consumer.partitions_for_topic(name), timeout=timeout, message=f"{name} exists"
        )
        partitions = [TopicPartition(name, p) for p in sorted(partition_ids)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)

        async def at_the_end() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                values.extend(record.value for record in records if record.value is not None)
            for partition in partitions:
                if await consumer.position(partition) < ends[partition]:
                    return False
            return True

        await wait_until(at_the_end, timeout=timeout, message=f"the end of {name}")
    finally:
        await consumer.stop()
    return values


# ------------------------------------------------------------------------------------------------
# Creating hackathons
# ------------------------------------------------------------------------------------------------


async def test_organizer_creates_a_hackathon_in_draft_and_it_is_announced(api: Api) -> None:
    auth = await api.organizer()
    body = hackathon_body(unique("Water hack"))
    answer = await api.http.post("/hackathons", json=body, headers=auth)
    assert answer.status_code == 201, answer.text
    hackathon = answer.json()

    hid = hackathon["hackathon_id"]
    assert isinstance(hid, str) and hid
    assert hackathon["phase"] == "draft"
    assert hackathon["name"] == body["name"]
    assert hackathon["description"] == body["description"]
    assert [c["title"] for c in hackathon["challenges"]] == ["Clean water", "Open data"]
    assert hackathon["challenges"][0]["description"] == "Sensors for rural wells"
    challenge_ids = [c["challenge_id"] for c in hackathon["challenges"]]
    assert all(isinstance(c, str) and c for c in challenge_ids)
    assert len(set(challenge_ids)) == 2
    assert (hackathon["min_team_size"], hackathon["max_team_size"]) == (1, 4)
    assert hackathon["max_teams"] == 10
    deadline = datetime.fromisoformat(hackathon["submission_deadline"])
    assert deadline.utcoffset() is not None
    assert deadline == datetime.fromisoformat(body["submission_deadline"])
    criteria = hackathon["rubric"]["criteria"]
    assert [(c["key"], c["weight"], c["min"], c["max"]) for c in criteria] == [
        ("impact", 2, 1, 10),
        ("feasibility", 1, 1, 10),  # the scale's defaults
    ]
    assert hackathon["rubric"]["normalization"] == "zscore"
    assert hackathon["judges_per_submission"] == 2
    assert [(a["name"], a["rank"], a["kind"], a.get("amount")) for a in hackathon["awards"]] == [
        ("First prize", 1, "grant", 5000),
        ("Mentoring", 2, "mentorship", None),
    ]

    # Anyone can read it back, as answered.
    fetched = await api.http.get(f"/hackathons/{hid}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == hackathon

    [event] = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid))
    assert isinstance(event, HackathonCreated)
    assert event.producer == "registration"
    assert event.aggregate_id == hid
    assert event.sequence == 1
    assert event.prev_hash == GENESIS_HASH
    assert event.hash == event.computed_hash()
    payload = event.payload
    assert payload.hackathon_id == hid
    assert payload.name == body["name"]
    assert payload.description == body["description"]
    assert [(c.challenge_id, c.title) for c in payload.challenges] == [
        (c["challenge_id"], c["title"]) for c in hackathon["challenges"]
    ]
    assert (payload.min_team_size, payload.max_team_size, payload.max_teams) == (1, 4, 10)
    assert payload.submission_deadline == deadline
    assert [(c.key, c.weight, c.min, c.max) for c in payload.rubric.criteria] == [
        ("impact", 2, 1, 10),
        ("feasibility", 1, 1, 10),
    ]
    assert payload.rubric.normalization == "zscore"
    assert payload.judges_per_submission == 2
    assert [(a.name, a.rank, a.kind, a.amount) for a in payload.awards] == [
        ("First prize", 1, "grant", 5000),
        ("Mentoring", 2, "mentorship", None),
    ]
    assert payload.created_by == await organizer_id(api, auth)


def _criteria(*criteria: Json) -> Json:
    return {"criteria": list(criteria), "normalization": "none"}


# (label, changes to a valid body, path segments of which the named field must contain one)
INVALID_HACKATHONS: list[tuple[str, Json, set[str]]] = [
    ("no challenge", {"challenges": []}, {"challenges"}),
    ("min above max", {"min_team_size": 5, "max_team_size": 3}, {"min_team_size", "max_team_size"}),
    ("min team size 0", {"min_team_size": 0}, {"min_team_size"}),
    ("max teams 0", {"max_teams": 0}, {"max_teams"}),
    ("no criterion", {"rubric": _criteria()}, {"criteria"}),
    (
        "duplicate criterion keys",
        {"rubric": _criteria({"key": "impact", "weight": 1}, {"key": "impact", "weight": 2})},
        {"criteria", "key"},
    ),
    ("weight 0", {"rubric": _criteria({"key": "impact", "weight": 0})}, {"weight"}),
    ("negative weight", {"rubric": _criteria({"key": "impact", "weight": -1})}, {"weight"}),
    (
        "scale min equals max",
        {"rubric": _criteria({"key": "impact", "weight": 1, "min": 5, "max": 5})},
        {"min", "max"},
    ),
    (
        "scale min above max",
        {"rubric": _criteria({"key": "impact", "weight": 1, "min": 10, "max": 1})},
        {"min", "max"},
    ),
    ("judges per submission 0", {"judges_per_submission": 0}, {"judges_per_submission"}),
    ("award rank 0", {"awards": [{"name": "Prize", "rank": 0, "kind": "other"}]}, {"rank"}),
    (
        "duplicate award ranks",
        {
            "awards": [
                {"name": "Prize", "rank": 1, "kind": "grant", "amount": 10},
                {"name": "Other prize", "rank": 1, "kind": "other"},
            ]
        },
        {"awards", "rank"},
    ),
    (
        "deadline without a time zone",
        {"submission_deadline": (datetime.now() + timedelta(days=3)).replace(microsecond=0)},
        {"submission_deadline"},
    ),
]


async def test_invalid_hackathons_are_422_naming_the_field_and_create_nothing(api: Api) -> None:
    auth = await api.organizer()
    before = {h["hackathon_id"] for h in await every_item(api, "/hackathons")}
    rejected_names: set[str] = set()
    mistakes: list[str] = []

    for label, changes, keys in INVALID_HACKATHONS:
        name = unique(f"Invalid {label}")
        rejected_names.add(name)
        body = hackathon_body(name, **changes)
        if isinstance(body["submission_deadline"], datetime):
            body["submission_deadline"] = body["submission_deadline"].isoformat()
        answer = await api.http.post("/hackathons", json=body, headers=auth)
        if answer.status_code != 422:
            mistakes.append(f"{label}: {answer.status_code} {answer.text}")
            continue
        fields = error_fields(answer)
        if not any(names_one_of(field, keys) for field in fields):
            mistakes.append(f"{label}: no error names one of {sorted(keys)}: {fields}")
        elif not all(names_one_of(field, keys) for field in fields):
            mistakes.append(f"{label}: fields that were valid named as well: {fields}")

    # Several offending fields at once: each one is named.
    name = unique("Invalid twice")
    rejected_names.add(name)
    answer = await api.http.post(
        "/hackathons",
        json=hackathon_body(name, max_teams=0, judges_per_submission=0, challenges=[]),
        headers=auth,
    )
    if answer.status_code != 422:
        mistakes.append(f"three offending fields: {answer.status_code} {answer.text}")
    else:
        fields = error_fields(answer)
        for key in ("max_teams", "judges_per_submission", "challenges"):
            if not any(names_one_of(field, {key}) for field in fields):
                mistakes.append(f"three offending fields: {key} not named in {fields}")

    assert not mistakes, "\n".join(mistakes)

    # Nothing was created: the list did not grow, and no HackathonCreated carries those names
    # (read after a valid hackathon made later has been announced).
    after = await every_item(api, "/hackathons")
    assert {h["hackathon_id"] for h in after} == before
    marker = await create_hackathon(api, auth)
    await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(marker["hackathon_id"]))
    for value in await topic_values(api.platform, REGISTRATION_EVENTS):
        event = json.loads(value)
        if event["type"] == "HackathonCreated":
            assert event["payload"]["name"] not in rejected_names, event


async def test_only_an_organizer_creates_hackathons(api: Api) -> None:
    participant = await sign_up(api, "Paula")
    before = len(await every_item(api, "/hackathons"))
    name = unique("Unauthorised")

    assert_problem(await api.http.post("/hackathons", json=hackathon_body(name)), 401)
    forged = {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.forged"}
    assert_problem(
        await api.http.post("/hackathons", json=hackathon_body(name), headers=forged), 401
    )
    answer = await api.http.post("/hackathons", json=hackathon_body(name), headers=participant.auth)
    assert_problem(answer, 403, "forbidden")

    hackathons = await every_item(api, "/hackathons")
    assert len(hackathons) == before
    assert name not in {h["name"] for h in hackathons}


# ------------------------------------------------------------------------------------------------
# Reading hackathons
# ------------------------------------------------------------------------------------------------


async def test_hackathons_are_listed_in_pages_and_read_one_by_one(api: Api) -> None:
    auth = await api.organizer()
    mine = {h["hackathon_id"]: h for h in [await create_hackathon(api, auth) for _ in range(3)]}

    # Page through everything two at a time, without a token: each hackathon exactly once.
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        answer = await api.http.get("/hackathons", params=params)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= 2
        for item in page["items"]:
            seen.append(item["hackathon_id"])
            if item["hackathon_id"] in mine:
                assert item == mine[item["hackathon_id"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 1000, "the cursor does not advance"
    assert len(seen) == len(set(seen)), "a hackathon appeared on two pages"
    assert set(mine) <= set(seen)
    assert pages >= 2

    # The page size is capped at 200.
    assert (await api.http.get("/hackathons", params={"limit": 200})).status_code == 200
    too_many = await api.http.get("/hackathons", params={"limit": 201})
    assert any(names_one_of(f, {"limit"}) for f in error_fields(too_many))
    assert (await api.http.get("/hackathons", params={"limit": 0})).status_code == 422
    default = (await api.http.get("/hackathons")).json()
    assert len(default["items"]) <= 50

    for hid, created in mine.items():
        answer = await api.http.get(f"/hackathons/{hid}")
        assert answer.status_code == 200, answer.text
        assert answer.json() == created
    unknown = await api.http.get(f"/hackathons/{uuid.uuid4()}")
    assert_problem(unknown, 404, "hackathon-not-found")


# ------------------------------------------------------------------------------------------------
# Phases
# ------------------------------------------------------------------------------------------------


async def test_organizer_moves_the_phase_forward_one_step_at_a_time(api: Api) -> None:
    auth = await api.organizer()
    hackathon = await create_hackathon(api, auth)
    hid = hackathon["hackathon_id"]

    for phase in ("registration", "hacking", "judging"):
        moved = await move_to(api, auth, hid, phase)
        assert {k: v for k, v in moved.items() if k != "phase"} == {
            k: v for k, v in hackathon.items() if k != "phase"
        }
        fetched = await api.http.get(f"/hackathons/{hid}")
        assert fetched.json()["phase"] == phase

    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=4)
    assert [type(e) for e in events] == [HackathonCreated] + [HackathonPhaseChanged] * 3
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert verify_chain(events) == []
    changes = [e for e in events if isinstance(e, HackathonPhaseChanged)]
    assert [(e.payload.from_phase, e.payload.to_phase) for e in changes] == [
        ("draft", "registration"),
        ("registration", "hacking"),
        ("hacking", "judging"),
    ]
    me = await organizer_id(api, auth)
    for change in changes:
        assert change.producer == "registration"
        assert change.payload.hackathon_id == hid
        assert change.payload.changed_by == me


async def test_phase_skips_moves_back_and_finishing_are_refused(api: Api) -> None:
    auth = await api.organizer()
    participant = await sign_up(api, "Pete")
    hid = (await create_hackathon(api, auth))["hackathon_id"]

    async def ask(phase: str, headers: Auth | None = None) -> httpx.Response:
        return await api.http.post(
            f"/hackathons/{hid}/phase",
            json={"phase": phase},
            headers=auth if headers is None else headers,
        )

    assert_problem(await ask("hacking"), 409, "phase-transition")  # skips registration
    assert_problem(await ask("draft"), 409, "phase-transition")  # stays where it is
    assert_problem(await ask("finished"), 409, "phase-transition")
    assert_problem(await ask("registration", participant.auth), 403, "forbidden")
    assert_problem(await ask("registration", {}), 401)
    assert (await api.http.get(f"/hackathons/{hid}")).json()["phase"] == "draft"

    await move_to(api, auth, hid, "registration")
    assert_problem(await ask("draft"), 409, "phase-transition")  # back
    assert_problem(await ask("judging"), 409, "phase-transition")  # skips hacking
    await move_to(api, auth, hid, "hacking")
    assert_problem(await ask("registration"), 409, "phase-transition")
    assert_problem(await ask("finished"), 409, "phase-transition")
    await move_to(api, auth, hid, "judging")
    assert_problem(await ask("hacking", participant.auth), 403, "forbidden")
    # Finishing is scoring's business (ResultsPublished), never this route's.
    assert_problem(await ask("finished"), 409, "phase-transition")
    assert (await api.http.get(f"/hackathons/{hid}")).json()["phase"] == "judging"

    unknown = await api.http.post(
        f"/hackathons/{uuid.uuid4()}/phase", json={"phase": "registration"}, headers=auth
    )
    assert_problem(unknown, 404, "hackathon-not-found")

    # Only the three accepted moves were announced.
    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=4)
    assert [type(e) for e in events] == [HackathonCreated] + [HackathonPhaseChanged] * 3


async def test_results_published_by_scoring_finish_the_hackathon(api: Api) -> None:
    auth = await api.organizer()
    me = await organizer_id(api, auth)
    hid = (await create_hackathon(api, auth))["hackathon_id"]
    await move_to(api, auth, hid, "registration", "hacking", "judging")

    published = seal(
        ResultsPublished,
        payload=ResultsPublishedPayload(
            hackathon_id=hid,
            entries=[],
            awards=[AwardGranted(name="First prize", kind="grant", amount=5000, rank=1)],
            published_by=me,
        ),
        aggregate_id=hid,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )
    producer = AIOKafkaProducer(bootstrap_servers=api.platform.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            api.platform.config.topic_prefix + "scoring.events",
            published.to_json().encode(),
            key=hid.encode(),
            headers=[
                ("content-type", b"application/json"),
                ("event-type", b"ResultsPublished"),
                *signed_as_producer(api.platform, published),
            ],
        )
    finally:
        await producer.stop()

    # The results are in scoring's log: registration's next answer includes them.
    answer = await api.http.get(f"/hackathons/{hid}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["phase"] == "finished"

    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=5)
    last = events[-1]
    assert isinstance(last, HackathonPhaseChanged)
    assert (last.payload.from_phase, last.payload.to_phase) == ("judging", "finished")
    assert last.sequence == 5
    assert verify_chain(events) == []

    # Nothing moves a finished hackathon, nobody registers, no judge is enrolled.
    again = await api.http.post(
        f"/hackathons/{hid}/phase", json={"phase": "finished"}, headers=auth
    )
    assert_problem(again, 409, "phase-transition")
    late = await sign_up(api, "Lara")
    answer = await api.http.post(
        f"/hackathons/{hid}/registrations",
        json={"sector": "other", "consent": True},
        headers=late.auth,
    )
    assert_problem(answer, 409, "wrong-phase")
    answer = await api.http.post(
        f"/hackathons/{hid}/judges", json={"email": late.email, "conflicts": []}, headers=auth
    )
    assert_problem(answer, 409, "wrong-phase")


# ------------------------------------------------------------------------------------------------
# Participants
# ------------------------------------------------------------------------------------------------


async def test_participant_registers_with_consent_and_it_is_announced(api: Api) -> None:
    auth = await api.organizer()
    hid = (await create_hackathon(api, auth))["hackathon_id"]
    await move_to(api, auth, hid, "registration")
    person = await sign_up(api, "Rita")

    body = {"sector": "civil_society", "consent": True}
    assert_problem(await api.http.post(f"/hackathons/{hid}/registrations", json=body), 401)
    before = datetime.now(UTC)
    answer = await api.http.post(f"/hackathons/{hid}/registrations", json=body, headers=person.auth)
    after = datetime.now(UTC)
    assert answer.status_code == 201, answer.text
    assert set(answer.json()) == {"participant_id"}
    participant_id = answer.json()["participant_id"]
    assert isinstance(participant_id, str) and participant_id

    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=3)
    assert [type(e) for e in events] == [
        HackathonCreated,
        HackathonPhaseChanged,
        ParticipantRegistered,
    ]
    registered = events[2]
    assert isinstance(registered, ParticipantRegistered)
    assert registered.sequence == 3
    assert registered.aggregate_id == hid
    assert registered.payload.participant_id == participant_id
    assert registered.payload.account_id == person.account_id
    assert registered.payload.hackathon_id == hid
    assert registered.payload.sector == "civil_society"
    assert registered.payload.consent_version == CONSENT_VERSION
    slack = timedelta(seconds=5)
    assert before - slack <= registered.payload.consented_at <= after + slack


async def test_registration_needs_consent_and_happens_once(api: Api) -> None:
    auth = await api.organizer()
    hid = (await create_hackathon(api, auth))["hackathon_id"]
    await move_to(api, auth, hid, "registration")
    person = await sign_up(api, "Carl")
    url = f"/hackathons/{hid}/registrations"

    refused = await api.http.post(
        url, json={"sector": "private", "consent": False}, headers=person.auth
    )
    assert any(names_one_of(f, {"consent"}) for f in error_fields(refused))
    missing = await api.http.post(url, json={"sector": "private"}, headers=person.auth)
    assert any(names_one_of(f, {"consent"}) for f in error_fields(missing))
    bad_sector = await api.http.post(
        url, json={"sector": "aliens", "consent": True}, headers=person.auth
    )
    assert any(names_one_of(f, {"sector"}) for f in error_fields(bad_sector))

    # Nothing was stored: the first valid registration succeeds, the second is a conflict.
    participant_id = await register(api, person, hid, "private")
    twice = await api.http.post(url, json={"sector": "other", "consent": True}, headers=person.auth)
    assert_problem(twice, 409, "already-registered")

    # Exactly one registration was announced: the hackathon's events, up to a later phase
    # change, are creation, opening, this registration and the move to hacking.
    await move_to(api, auth, hid, "hacking")
    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=4)
    assert [type(e) for e in events] == [
        HackathonCreated,
        HackathonPhaseChanged,
        ParticipantRegistered,
        HackathonPhaseChanged,
    ]
    registered = events[2]
    assert isinstance(registered, ParticipantRegistered)
    assert registered.payload.participant_id == participant_id
    assert registered.payload.sector == "private"


async def test_registration_is_open_in_registration_and_hacking_only(api: Api) -> None:
    auth = await api.organizer()
    hid = (await create_hackathon(api, auth))["hackathon_id"]
    early, in_time, late = [await sign_up(api, n) for n in ("Emma", "Ivan", "Lena")]
    url = f"/hackathons/{hid}/registrations"
    body = {"sector": "government", "consent": True}

    assert_problem(await api.http.post(url, json=body, headers=early.auth), 409, "wrong-phase")
    await move_to(api, auth, hid, "registration")
    await register(api, early, hid)
    await move_to(api, auth, hid, "hacking")
    await register(api, in_time, hid)
    await move_to(api, auth, hid, "judging")
    assert_problem(await api.http.post(url, json=body, headers=late.auth), 409, "wrong-phase")
    unknown = await api.http.post(
        f"/hackathons/{uuid.uuid4()}/registrations", json=body, headers=late.auth
    )
    assert_problem(unknown, 404, "hackathon-not-found")

    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=6)
    assert [type(e) for e in events] == [
        HackathonCreated,
        HackathonPhaseChanged,
        ParticipantRegistered,
        HackathonPhaseChanged,
        ParticipantRegistered,
        HackathonPhaseChanged,
    ]
    assert [e.sequence for e in events] == [1, 2, 3, 4, 5, 6]
    assert verify_chain(events) == []
    assert [e.payload.account_id for e in events if isinstance(e, ParticipantRegistered)] == [
        early.account_id,
        in_time.account_id,
    ]


# ------------------------------------------------------------------------------------------------
# Judges
# ------------------------------------------------------------------------------------------------


async def test_organizer_enrols_a_judge_with_conflicts(api: Api) -> None:
    auth = await api.organizer()
    hackathon = await create_hackathon(api, auth)
    hid = hackathon["hackathon_id"]
    await move_to(api, auth, hid, "registration")
    captain = await sign_up(api, "Cora")
    await register(api, captain, hid)
    team_id = await create_team(api, captain, hackathon)
    judge = await sign_up(api, "Jules")

    answer = await api.http.post(
        f"/hackathons/{hid}/judges",
        json={"email": judge.email.upper(), "conflicts": [team_id]},
        headers=auth,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"judge_id": judge.account_id}

    [enrolled] = await events_on(
        api.platform, REGISTRATION_EVENTS, of_hackathon(hid, JudgeEnrolled)
    )
    assert isinstance(enrolled, JudgeEnrolled)
    assert enrolled.producer == "registration"
    assert enrolled.aggregate_id == hid
    assert enrolled.payload.hackathon_id == hid
    assert enrolled.payload.judge_id == judge.account_id
    assert enrolled.payload.conflicts == [team_id]
    # Creation, opening, the captain's registration, then the enrolment (teams are their own
    # aggregates).
    assert enrolled.sequence == 4


async def test_judge_enrolment_rejections(api: Api) -> None:
    auth = await api.organizer()
    hackathon = await create_hackathon(api, auth)
    hid = hackathon["hackathon_id"]
    other = await create_hackathon(api, auth)
    await move_to(api, auth, hid, "registration")
    await move_to(api, auth, other["hackathon_id"], "registration")
    captain = await sign_up(api, "Olga")
    await register(api, captain, other["hackathon_id"])
    foreign_team = await create_team(api, captain, other)
    judge = await sign_up(api, "Jonas")
    url = f"/hackathons/{hid}/judges"

    nobody = await api.http.post(
        url, json={"email": unique_email("nobody"), "conflicts": []}, headers=auth
    )
    assert_problem(nobody, 404, "account-not-found")
    for conflicts in ([str(uuid.uuid4())], [foreign_team]):
        answer = await api.http.post(
            url, json={"email": judge.email, "conflicts": conflicts}, headers=auth
        )
        assert any(names_one_of(f, {"conflicts"}) for f in error_fields(answer)), conflicts
    as_participant = await api.http.post(
        url, json={"email": judge.email, "conflicts": []}, headers=captain.auth
    )
    assert_problem(as_participant, 403, "forbidden")
    assert_problem(await api.http.post(url, json={"email": judge.email, "conflicts": []}), 401)
    unknown = await api.http.post(
        f"/hackathons/{uuid.uuid4()}/judges",
        json={"email": judge.email, "conflicts": []},
        headers=auth,
    )
    assert_problem(unknown, 404, "hackathon-not-found")

    # None of that enrolled anyone: the first real enrolment succeeds, the second conflicts.
    first = await api.http.post(url, json={"email": judge.email, "conflicts": []}, headers=auth)
    assert first.status_code == 201, first.text
    assert first.json() == {"judge_id": judge.account_id}
    twice = await api.http.post(url, json={"email": judge.email, "conflicts": []}, headers=auth)
    assert_problem(twice, 409, "already-enrolled")

    await move_to(api, auth, hid, "hacking")  # a later event of this hackathon, as a marker
    events = await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid), count=4)
    assert [type(e) for e in events] == [
        HackathonCreated,
        HackathonPhaseChanged,
        JudgeEnrolled,
        HackathonPhaseChanged,
    ]
    enrolled = events[2]
    assert isinstance(enrolled, JudgeEnrolled)
    assert enrolled.payload.conflicts == []


# ------------------------------------------------------------------------------------------------
# Privacy of the event log
# ------------------------------------------------------------------------------------------------


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


async def test_registration_events_carry_no_email_or_display_name(api: Api) -> None:
    auth = await api.organizer()
    hackathon = await create_hackathon(api, auth)
    hid = hackathon["hackathon_id"]
    await move_to(api, auth, hid, "registration")
    captain, member, judge = [await sign_up(api, n) for n in ("Priya", "Marek", "Judith")]
    await register(api, captain, hid, "academia")
    await register(api, member, hid, "private")
    team_id = await create_team(api, captain, hackathon)
    enrolled = await api.http.post(
        f"/hackathons/{hid}/judges",
        json={"email": judge.email, "conflicts": [team_id]},
        headers=auth,
    )
    assert enrolled.status_code == 201, enrolled.text
    await events_on(api.platform, REGISTRATION_EVENTS, of_hackathon(hid, JudgeEnrolled))

    values = await topic_values(api.platform, REGISTRATION_EVENTS)
    assert values
    secrets = {s.lower() for s in PERSONAL_DATA_USED}
    for value in values:
        text = value.decode("utf-8").lower()
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{leaked} on {REGISTRATION_EVENTS}: {text}"
        assert not _keys(json.loads(value)["payload"]) & PERSONAL_DATA_FIELDS, text
