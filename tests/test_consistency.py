"""The platform answers as one program: every answer and decision includes every write
acknowledged (2xx) before the request arrived (docs/consistency.md, API.md "Consistency").

Each dependent step is one plain call right after its cause, asserting the one answer a
single program would give: no test here retries on ``not-yet-known``, ``wrong-phase``,
``not-a-member``, ``forbidden`` or a ``catching-up`` in normal operation. Only what is
asynchronous by nature is waited for with a deadline (the broker coming back after a fault).

- End to end, on the shared platform (SQLite and PostgreSQL), in several rounds.
- Submissions racing a phase change: nothing sent after the change was answered is accepted,
  nothing acknowledged is lost, and no accepted version was decided on the judging phase;
  and the same made certain on PostgreSQL by holding one PUT across the change.
- Two replicas each of submissions and scoring (PostgreSQL), every dependent step asked of
  each replica directly, and the gateway spreading requests over them.
- Faults: the embedded broker paused (SIGSTOP), then resumed: dependent requests 503
  catching-up, own-fact writes 202 and committed, recovery without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from hackathon_cli.platform import SERVICES, Platform, PlatformConfig, PlatformError
from hackathon_shared.events.catalogue import HackathonPhaseChanged, SubmissionReceived
from hackathon_shared.ports import free_port
from hackathon_shared.topics import REGISTRATION_EVENTS, SUBMISSIONS_EVENTS
from tests.consistency_helpers import (
    PERMISSIVE_LIMITS,
    Auth,
    Json,
    Person,
    Target,
    Timed,
    broker_paused,
    change_phase,
    close_targets,
    create_hackathon,
    create_team,
    describe,
    enrol_judge,
    every_item,
    expect,
    expect_catching_up,
    gateway_target,
    get_submission,
    hackathon_body,
    join,
    leave,
    move_to,
    new_participant,
    new_person,
    organizer,
    put_submission,
    read_topic,
    register,
    replica_targets,
    rotated,
    rule_of,
    score,
    sign_in,
    timed,
    unique_email,
    weighted_total,
)
from tests.database_fixtures import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    require_postgres,
)
from tests.platform_fixtures import ORGANIZER, PASSWORD
from tests.polling import wait_until

ROUNDS = 3
REPLICATED_ROUNDS = 2  # each replica asked first once

# --------------------------------------------------------------------------------------------
# 1. End to end: every dependent step right after its cause
# --------------------------------------------------------------------------------------------


@dataclass
class Targets:
    """Where each service's dependent steps are asked: the gateway, or each replica."""

    gateway: Target
    submissions: list[Target]
    scoring: list[Target]

    def rotated(self, by: int) -> Targets:
        return Targets(self.gateway, rotated(self.submissions, by), rotated(self.scoring, by))


@dataclass
class TeamState:
    team: Json
    version: int = 0
    title: str = ""
    submission_id: str = ""


async def submit_on_each(
    targets: list[Target], state: TeamState, author: Person, label: str
) -> None:
    """A PUT by ``author`` on each target in turn: 201 for the team's first version, then 200,
    each answer the next version."""
    for target in targets:
        title = f"{label} v{state.version + 1} via {target.name}"
        answer = await put_submission(target, state.team["team_id"], author.auth, title)
        body = expect(answer, 201 if state.version == 0 else 200)
        assert body["version"] == state.version + 1, (target.name, body)
        assert body["title"] == title and body["team_id"] == state.team["team_id"], body
        if state.submission_id:
            assert body["submission_id"] == state.submission_id, body
        state.version, state.title, state.submission_id = (
            body["version"],
            title,
            body["submission_id"],
        )


async def read_on_each(targets: list[Target], state: TeamState, auth: Auth) -> None:
    """A GET of the team's submission on each target: 200, the latest version."""
    for target in targets:
        body = expect(await get_submission(target, state.team["team_id"], auth), 200)
        assert (body["version"], body["title"]) == (state.version, state.title), (target.name, body)
        assert body["submission_id"] == state.submission_id, body


@dataclass(frozen=True)
class Cast:
    """The people every round shares (signing up is slow on purpose: Argon2); each round's
    captain is new, since the round ends with their erasure."""

    organizer: Auth
    member: Person
    other_captain: Person
    judge: Person


async def cast_of(gateway: Target) -> Cast:
    people = [await new_person(gateway, name) for name in ("member", "other", "judge")]
    return Cast(await organizer(gateway), *people)


async def journey_round(targets: Targets, cast: Cast, label: str) -> None:
    """One hackathon from draft to finished and an erased account, each dependent step a
    single call right after its cause, on every target of the service that answers it."""
    gateway = targets.gateway
    org, member, other_captain, judge = cast.organizer, cast.member, cast.other_captain, cast.judge
    hackathon = await create_hackathon(gateway, org)
    hid = hackathon["hackathon_id"]
    await move_to(gateway, org, hid, "registration")
    captain = await new_person(gateway, "captain")
    for person in (captain, member, other_captain):
        await register(gateway, hid, person)
    first = TeamState(await create_team(gateway, hackathon, captain))
    await enrol_judge(gateway, org, hid, judge)

    # Hacking opens -> the first submission is accepted at once.
    await move_to(gateway, org, hid, "hacking")
    await submit_on_each(targets.submissions, first, captain, f"{label} first")

    # Someone joins -> they read the team's submission and submit at once.
    await join(gateway, first.team, member)
    await read_on_each(targets.submissions, first, member.auth)
    await submit_on_each(targets.submissions, first, member, f"{label} first")

    # A team formed during hacking submits at once.
    second = TeamState(await create_team(gateway, hackathon, other_captain))
    await submit_on_each(targets.submissions, second, other_captain, f"{label} second")

    # The member leaves -> they may neither submit nor read any more.
    await leave(gateway, first.team["team_id"], member)
    for target in targets.submissions:
        answer = await put_submission(target, first.team["team_id"], member.auth, "after leaving")
        expect(answer, 403, "not-a-member")
        expect(await get_submission(target, first.team["team_id"], member.auth), 403, "forbidden")
    await read_on_each(targets.submissions, first, captain.auth)  # unchanged by the refusals

    # Judging opens -> no more versions; every submission made is assigned, and the judge
    # sees, reads and scores them at once.
    await move_to(gateway, org, hid, "judging")
    for target in targets.submissions:
        answer = await put_submission(target, first.team["team_id"], captain.auth, "too late")
        expect(answer, 409, "wrong-phase")
    expected = sorted(
        [
            {"submission_id": s.submission_id, "judge_ids": [judge.account_id]}
            for s in (first, second)
        ],
        key=lambda a: a["submission_id"],
    )
    for target in targets.scoring:
        answer = expect(await target.http.post(f"/hackathons/{hid}/assignments", headers=org), 200)
        assert answer["assignments"] == expected, (target.name, answer)
        assert answer.get("shortfalls", []) == [], (target.name, answer)
    for target in targets.scoring:
        mine = [
            item
            for item in await every_item(target, "/judging/assignments", judge.auth)
            if item["hackathon_id"] == hid  # the judge judges every round's hackathon
        ]
        assert sorted(mine, key=lambda a: a["submission_id"]) == sorted(
            [
                {
                    "submission_id": s.submission_id,
                    "team_id": s.team["team_id"],
                    "title": s.title,
                    "hackathon_id": hid,
                    "scored": False,
                }
                for s in (first, second)
            ],
            key=lambda a: a["submission_id"],
        ), (target.name, mine)
    for state in (first, second):
        await read_on_each(targets.submissions, state, judge.auth)
    values = {
        first.submission_id: {"impact": 8, "feasibility": 5},
        second.submission_id: {"impact": 4, "feasibility": 7},
    }
    for state in (first, second):
        for revision, target in enumerate(targets.scoring, start=1):
            scores = values[state.submission_id]
            answer = expect(await score(target, state.submission_id, judge, scores), 200)
            assert answer["submission_id"] == state.submission_id, answer
            assert answer["judge_id"] == judge.account_id and answer["revision"] == revision, answer
            assert answer["total"] == pytest.approx(weighted_total(scores)), answer
    for target in targets.scoring:
        scored = {
            item["submission_id"]: item["scored"]
            for item in await every_item(target, "/judging/assignments", judge.auth)
            if item["hackathon_id"] == hid
        }
        assert scored == {first.submission_id: True, second.submission_id: True}, target.name

    # Results are published -> the hackathon is finished and the results are public at once.
    published = expect(
        await targets.scoring[0].http.post(f"/hackathons/{hid}/results", headers=org), 201
    )
    ranking = [(e["rank"], e["submission_id"], e["team_id"]) for e in published["entries"]]
    assert ranking == [
        (1, first.submission_id, first.team["team_id"]),
        (2, second.submission_id, second.team["team_id"]),
    ], published
    assert [(a["rank"], a["team_id"]) for a in published["awards"]] == [(1, first.team["team_id"])]
    assert expect(await gateway.http.get(f"/hackathons/{hid}"), 200)["phase"] == "finished"
    for target in targets.scoring:
        assert expect(await target.http.get(f"/hackathons/{hid}/results"), 200) == published

    # The captain erases their account -> the same token is refused everywhere at once.
    team_id = first.team["team_id"]
    assert (
        expect(await gateway.http.get("/me", headers=captain.auth), 200)["email"] == captain.email
    )
    await read_on_each(targets.submissions, first, captain.auth)
    for target in targets.scoring:
        expect(await target.http.get("/judging/assignments", headers=captain.auth), 200)
    expect(await gateway.http.get("/notifications", headers=captain.auth), 200)
    expect(await gateway.http.delete("/me", headers=captain.auth), 204)
    expect(await gateway.http.get("/me", headers=captain.auth), 401)
    for target in targets.submissions:
        expect(await get_submission(target, team_id, captain.auth), 401)
        expect(await put_submission(target, team_id, captain.auth, "erased"), 401)
    for target in targets.scoring:
        expect(await target.http.get("/judging/assignments", headers=captain.auth), 401)
    expect(await gateway.http.get("/notifications", headers=captain.auth), 401)


async def test_every_dependent_step_is_answered_right_after_its_cause(platform: Platform) -> None:
    gateway = gateway_target(platform)
    try:
        targets = Targets(gateway, [gateway], [gateway])
        cast = await cast_of(gateway)
        for number in range(ROUNDS):
            await journey_round(targets, cast, f"round {number}")
    finally:
        await close_targets(gateway)


# --------------------------------------------------------------------------------------------
# 2. Submissions racing the phase change to judging
# --------------------------------------------------------------------------------------------

RACE_TEAMS = 30
SIGN_UPS_AT_ONCE = 3  # Argon2 is slow on purpose: more at once only queue


async def test_submissions_racing_the_phase_change_to_judging(platform: Platform) -> None:
    gateway = gateway_target(platform)
    try:
        await _race(platform, gateway)
    finally:
        await close_targets(gateway)


async def _race(platform: Platform, gateway: Target) -> None:
    org = await organizer(gateway)
    hackathon = await create_hackathon(gateway, org)
    hid = hackathon["hackathon_id"]
    await move_to(gateway, org, hid, "registration")

    signing_up = asyncio.Semaphore(SIGN_UPS_AT_ONCE)

    async def captain_and_team(number: int) -> tuple[Person, Json]:
        async with signing_up:
            person = await new_participant(gateway, platform, f"racer{number}")
        await register(gateway, hid, person)
        return person, await create_team(gateway, hackathon, person)

    teams = await asyncio.gather(*(captain_and_team(n) for n in range(RACE_TEAMS)))
    await move_to(gateway, org, hid, "hacking")
    # Half the teams have a first version before the race; the others race for their first.
    before: dict[str, Json] = {}
    for person, team in teams[::2]:
        body = expect(
            await put_submission(gateway, team["team_id"], person.auth, "before the race"), 201
        )
        before[team["team_id"]] = body

    def racer(index: int) -> asyncio.Task[Timed]:
        person, team = teams[index]
        title = f"racing {index}"
        return asyncio.create_task(
            timed(put_submission(gateway, team["team_id"], person.auth, title))
        )

    # A third of the PUTs leave just before the phase change, a third right after it (tasks
    # start in the order they are made), all of them decided while the change reaches the
    # submissions service; the last third leaves once the change was answered.
    third = RACE_TEAMS // 3
    tasks = {i: racer(i) for i in range(third)}
    phase_task = asyncio.create_task(timed(change_phase(gateway, org, hid, "judging")))
    tasks.update({i: racer(i) for i in range(third, 2 * third)})
    phase = await phase_task
    assert expect(phase.answer, 200)["phase"] == "judging"
    tasks.update({i: racer(i) for i in range(2 * third, RACE_TEAMS)})
    results = {index: await task for index, task in tasks.items()}

    acknowledged: dict[str, Json] = {}  # team -> the version the race acknowledged
    late = 0
    for index, outcome in sorted(results.items()):
        _person, team = teams[index]
        answer = outcome.answer
        status = answer.status_code
        if status in (200, 201):
            assert status == (200 if team["team_id"] in before else 201), describe(answer)
            body = answer.json()
            assert body["version"] == (2 if team["team_id"] in before else 1), body
            acknowledged[team["team_id"]] = body
        else:
            assert (status, rule_of(answer)) == (409, "wrong-phase"), describe(answer)
        if outcome.sent > phase.answered:
            late += 1
            assert (status, rule_of(answer)) == (409, "wrong-phase"), (
                f"PUT {index} was sent {outcome.sent - phase.answered:.3f}s after the phase "
                f"change was answered, yet: {describe(answer)}"
            )
        if outcome.answered < phase.sent:
            assert status in (200, 201), (
                f"PUT {index} answered before the change: {describe(answer)}"
            )
    assert late >= RACE_TEAMS - 2 * third, (late, phase)

    # Every acknowledged version is there, and nothing refused changed anything.
    for _person, team in teams:
        team_id = team["team_id"]
        answer = await get_submission(gateway, team_id, org)
        if team_id in acknowledged:
            body = expect(answer, 200)
            assert (body["version"], body["title"]) == (
                acknowledged[team_id]["version"],
                acknowledged[team_id]["title"],
            ), body
        elif team_id in before:
            body = expect(answer, 200)
            assert (body["version"], body["title"]) == (1, "before the race"), body
        else:
            expect(answer, 404, "submission-not-found")
    listed = await every_item(gateway, f"/hackathons/{hid}/submissions", org)
    expected = {t: (b["version"], b["title"]) for t, b in (before | acknowledged).items()}
    assert {s["team_id"]: (s["version"], s["title"]) for s in listed} == expected
    assert len(listed) == len(expected)

    # The log: each version accepted once, and none decided on the judging phase.
    phase_changes = {
        e.payload.to_phase: e.sequence
        for e in await read_topic(platform, REGISTRATION_EVENTS)
        if isinstance(e, HackathonPhaseChanged) and e.aggregate_id == hid
    }
    received = [
        e
        for e in await read_topic(platform, SUBMISSIONS_EVENTS)
        if isinstance(e, SubmissionReceived) and e.payload.hackathon_id == hid
    ]
    versions = sorted((e.payload.team_id, e.payload.version) for e in received)
    assert versions == sorted(
        [(t, 1) for t in before] + [(t, b["version"]) for t, b in acknowledged.items()]
    ), versions
    for event in received:
        seen = [
            s.sequence
            for s in event.payload.seen
            if s.producer == "registration" and s.aggregate_id == hid
        ]
        assert len(seen) == 1, event.payload
        if phase_changes["hacking"] <= seen[0] < phase_changes["judging"]:
            continue
        raced = [
            f"sent {o.sent - phase.sent:+.3f}s and answered {o.answered - phase.sent:+.3f}s "
            f"after the phase change was sent (answered {phase.answered - phase.sent:+.3f}s)"
            for index, o in results.items()
            if teams[index][1]["team_id"] == event.payload.team_id
        ]
        raise AssertionError(
            f"{event.type} of team {event.payload.team_id} version {event.payload.version} "
            f"was decided on hackathon {hid} at sequence {seen[0]}, outside the hacking phase "
            f"(sequences {phase_changes}); its PUT was {raced}; seen: {event.payload.seen}"
        )


@pytest.mark.parametrize("platform", ["postgresql"], indirect=True)
async def test_a_version_held_up_across_the_phase_change_names_the_phase_it_was_decided_on(
    platform: Platform,
) -> None:
    """The race above, made certain (PostgreSQL): a PUT that has read the hackathon in
    hacking is held (the test locks the team's submission row in the submissions service's
    database, so the PUT's update waits) while the phase changes to judging and the change
    is applied there. Once let go, the version may be accepted (its request came before the
    change) but its event must name the hackathon as it was decided on: in hacking."""
    # PostgreSQL only: it holds a row lock; SQLite's writers are serialised anyway.
    url = platform.config.database_urls["submissions"].replace(
        "postgresql+asyncpg://", "postgresql://"
    )
    gateway = gateway_target(platform)
    holder = await asyncpg.connect(url)
    watcher = await asyncpg.connect(url)
    try:
        org = await organizer(gateway)
        hackathon = await create_hackathon(gateway, org)
        hid = hackathon["hackathon_id"]
        await move_to(gateway, org, hid, "registration")
        captain = await new_person(gateway, "held")
        await register(gateway, hid, captain)
        team_id = (await create_team(gateway, hackathon, captain))["team_id"]
        await move_to(gateway, org, hid, "hacking")
        expect(await put_submission(gateway, team_id, captain.auth, "first"), 201)

        lock = holder.transaction()
        await lock.start()
        try:
            await holder.execute("SELECT 1 FROM submissions WHERE team_id = $1 FOR UPDATE", team_id)
            put = asyncio.create_task(timed(put_submission(gateway, team_id, captain.auth, "held")))

            async def put_waits_on_the_lock() -> bool:
                waiting = await watcher.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE submissions%'"
                )
                return bool(waiting)

            await wait_until(put_waits_on_the_lock, timeout=10, message="the PUT held on the row")
            phase = await timed(change_phase(gateway, org, hid, "judging"))
            assert expect(phase.answer, 200)["phase"] == "judging"

            async def applied() -> bool:
                phase_there = await watcher.fetchval(
                    "SELECT phase FROM known_hackathons WHERE hackathon_id = $1", hid
                )
                return bool(phase_there == "judging")

            # Applied by submissions' consumer meanwhile (asynchronous by nature). A service
            # that made its consumer wait for the held PUT would not get there: go on anyway.
            with contextlib.suppress(AssertionError):
                await wait_until(applied, timeout=5, message="the change applied")
        finally:
            await lock.rollback()
        outcome = await put
    finally:
        await holder.close()
        await watcher.close()
        await close_targets(gateway)

    assert outcome.sent < phase.sent  # concurrent with the change: accepting it is allowed
    answer = outcome.answer
    if answer.status_code == 409:
        expect(answer, 409, "wrong-phase")
        return
    assert expect(answer, 200)["version"] == 2
    sequences = {
        e.payload.to_phase: e.sequence
        for e in await read_topic(platform, REGISTRATION_EVENTS)
        if isinstance(e, HackathonPhaseChanged) and e.aggregate_id == hid
    }
    [event] = [
        e
        for e in await read_topic(platform, SUBMISSIONS_EVENTS)
        if isinstance(e, SubmissionReceived)
        and e.payload.team_id == team_id
        and e.payload.version == 2
    ]
    seen = [s.sequence for s in event.payload.seen if s.aggregate_id == hid]
    assert seen and sequences["hacking"] <= seen[0] < sequences["judging"], (
        f"version 2 was decided in hacking but names the hackathon at {seen} "
        f"(phase changes at {sequences})"
    )


# --------------------------------------------------------------------------------------------
# 3. Replicas: two of submissions and of scoring, on PostgreSQL
# --------------------------------------------------------------------------------------------

REPLICAS = {"submissions": 2, "scoring": 2}


@pytest.fixture
def replicated_platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    require_postgres()
    data_dir: Path = tmp_path_factory.mktemp("replicated")
    names = {name: create_postgres_database() for name in SERVICES}
    running = Platform(
        PlatformConfig(
            data_dir=data_dir,
            gateway_port=free_port(),
            bootstrap_servers=kafka_bootstrap,
            topic_prefix=f"{data_dir.name}.",
            organizer_email=ORGANIZER[0],
            organizer_password=ORGANIZER[1],
            database_urls={name: postgres_url(db) for name, db in names.items()},
            extra_env=dict(PERMISSIVE_LIMITS),
            replicas=REPLICAS,
        )
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
        for db in names.values():
            drop_postgres_database(db)


def test_replicas_need_a_shared_postgresql_database(tmp_path: Path) -> None:
    """An SQLite file serves one process: the platform refuses to start replicas on one."""
    config = PlatformConfig(data_dir=tmp_path, bootstrap_servers="127.0.0.1:1", replicas=REPLICAS)
    with pytest.raises(PlatformError, match="PostgreSQL"):
        Platform(config).start()
    assert not (tmp_path / "logs").exists()  # nothing was started
    with pytest.raises(PlatformError, match="not a service"):
        PlatformConfig(data_dir=tmp_path, replicas={"gateway": 2}).check_replicas()


async def _requests_served(target: Target, route: str) -> float:
    text = (await target.http.get("/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("http_requests_total{") and f'route="{route}"' in line
    )


async def test_every_replica_answers_dependent_steps_right_after_their_causes(
    replicated_platform: Platform,
) -> None:
    platform = replicated_platform
    for service, count in REPLICAS.items():
        assert len(platform.replica_urls(service)) == count
    gateway = gateway_target(platform)
    submissions = replica_targets(platform, "submissions")
    scoring = replica_targets(platform, "scoring")
    try:
        targets = Targets(gateway, submissions, scoring)
        cast = await cast_of(gateway)
        for number in range(REPLICATED_ROUNDS):
            # Each replica is asked first in turn.
            await journey_round(targets.rotated(number), cast, f"replicated round {number}")

        # The gateway spreads requests over every replica.
        org = cast.organizer
        hackathon = await create_hackathon(gateway, org)
        routes = {
            "submissions": ("/hackathons/{hackathon_id}/submissions", submissions),
            "scoring": ("/hackathons/{hackathon_id}/leaderboard", scoring),
        }
        served_before = {
            service: [await _requests_served(t, route) for t in replicas]
            for service, (route, replicas) in routes.items()
        }
        for _ in range(20):
            hid = hackathon["hackathon_id"]
            expect(await gateway.http.get(f"/hackathons/{hid}/submissions", headers=org), 200)
            expect(await gateway.http.get(f"/hackathons/{hid}/leaderboard", headers=org), 200)
        for service, (route, replicas) in routes.items():
            served = [await _requests_served(t, route) for t in replicas]
            grew = [now - then for now, then in zip(served, served_before[service], strict=True)]
            assert sum(grew) == 20 and all(g > 0 for g in grew), (service, grew)
    finally:
        await close_targets(gateway, *submissions, *scoring)


# --------------------------------------------------------------------------------------------
# 4. Faults: the broker unreachable, then back
# --------------------------------------------------------------------------------------------

CONSISTENCY_WAIT = 1.5
WRITE_ACK_TIMEOUT = 1.0
RECOVERY_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def faulty_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """A platform with an embedded broker of its own (so that pausing it disturbs nobody
    else), on SQLite, with short bounds."""
    running = Platform(
        PlatformConfig(
            data_dir=tmp_path_factory.mktemp("faults"),
            gateway_port=free_port(),
            broker_port=None,
            bootstrap_servers=None,
            organizer_email=ORGANIZER[0],
            organizer_password=ORGANIZER[1],
            extra_env=PERMISSIVE_LIMITS
            | {
                "CONSISTENCY_WAIT_SECONDS": str(CONSISTENCY_WAIT),
                "WRITE_ACK_TIMEOUT_SECONDS": str(WRITE_ACK_TIMEOUT),
            },
        )
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def fault_gateway(faulty_platform: Platform) -> AsyncIterator[Target]:
    gateway = gateway_target(faulty_platform)
    yield gateway
    await close_targets(gateway)


Call = Callable[[], Awaitable[httpx.Response]]


async def until_answered(call: Call, what: str) -> httpx.Response:
    """Repeat a call (a callable returning the request's awaitable) while it answers 503
    ``catching-up`` (the broker is coming back), within ``RECOVERY_TIMEOUT``; any other
    answer ends the wait and is returned."""

    async def answered() -> httpx.Response | None:
        answer = await call()
        if answer.status_code == 503 and rule_of(answer) == "catching-up":
            return None
        return answer

    answer: httpx.Response = await wait_until(
        answered, timeout=RECOVERY_TIMEOUT, interval=0.1, message=f"{what} after the broker resumed"
    )
    return answer


async def test_broker_paused_dependent_requests_catch_up_writes_are_recorded_then_recover(
    faulty_platform: Platform, fault_gateway: Target
) -> None:
    gateway = fault_gateway
    registration = Target(
        "registration",
        httpx.AsyncClient(base_url=faulty_platform.service_url("registration"), timeout=30),
    )
    try:
        org = await organizer(gateway)
        hackathon = await create_hackathon(gateway, org)
        hid = hackathon["hackathon_id"]
        await move_to(gateway, org, hid, "registration")
        captain, eraser = await new_person(gateway, "captain"), await new_person(gateway, "eraser")
        for person in (captain, eraser):
            await register(gateway, hid, person)
        team = await create_team(gateway, hackathon, captain)
        await move_to(gateway, org, hid, "hacking")
        team_id = team["team_id"]
        first = expect(
            await put_submission(gateway, team_id, captain.auth, "before the fault"), 201
        )
        newcomer_email = unique_email("newcomer")
        direct_email = unique_email("direct")

        with broker_paused(faulty_platform):
            # Dependent requests: 503 catching-up once the bound passed, never a guess.
            started = time.monotonic()
            expect_catching_up(
                await put_submission(gateway, team_id, captain.auth, "during the fault")
            )
            assert time.monotonic() - started >= CONSISTENCY_WAIT * 0.9
            expect_catching_up(await get_submission(gateway, team_id, captain.auth))
            expect_catching_up(await gateway.http.get("/notifications", headers=captain.auth))
            expect_catching_up(
                await gateway.http.get(f"/hackathons/{hid}/leaderboard", headers=org)
            )

            # Writes of registration's own facts: recorded, answered 202 with their usual
            # body once the acknowledgement bound passed.
            started = time.monotonic()
            answer = await gateway.http.post(
                "/accounts",
                json={"email": newcomer_email, "password": PASSWORD, "display_name": "newcomer"},
            )
            assert time.monotonic() - started >= WRITE_ACK_TIMEOUT * 0.9
            newcomer_id = expect(answer, 202)["account_id"]
            assert set(answer.json()) == {"account_id"}, answer.json()
            # Straight at the service, the 202 names the pending delivery.
            answer = await registration.http.post(
                "/accounts",
                json={"email": direct_email, "password": PASSWORD, "display_name": "direct"},
            )
            expect(answer, 202)
            assert answer.headers.get("x-event-delivery") == "pending", dict(answer.headers)
            # Committed: the new account signs in and is itself, with the broker still away.
            newcomer = Person(newcomer_id, await sign_in(gateway, newcomer_email), newcomer_email)
            me = expect(await gateway.http.get("/me", headers=newcomer.auth), 200)
            assert (me["account_id"], me["email"]) == (newcomer_id, newcomer_email), me
            # An erasure: recorded (202), the token refused by registration at once.
            expect(await gateway.http.delete("/me", headers=eraser.auth), 202)
            expect(await gateway.http.get("/me", headers=eraser.auth), 401)

        # Back: without a restart, dependent requests answer normally again...
        answer = await until_answered(
            lambda: put_submission(gateway, team_id, captain.auth, "after the fault"), "a PUT"
        )
        body = expect(answer, 200)
        assert (body["version"], body["submission_id"]) == (2, first["submission_id"]), body
        body = expect(await get_submission(gateway, team_id, captain.auth), 200)
        assert (body["version"], body["title"]) == (2, "after the fault"), body
        expect(await gateway.http.get("/notifications", headers=captain.auth), 200)

        # ...and the 202 writes' effects reach the other services: the erased account's token
        # is refused by submissions, scoring and notifications. Within a deadline: a 202
        # promised that the write is recorded, not that the others had heard of it; until
        # they have, each answers as before the erasure (or that it is catching up).
        before_erasure: list[tuple[str, Call, int]] = [
            ("submissions", lambda: get_submission(gateway, team_id, eraser.auth), 403),
            ("scoring", lambda: gateway.http.get("/judging/assignments", headers=eraser.auth), 200),
            ("notifications", lambda: gateway.http.get("/notifications", headers=eraser.auth), 200),
        ]
        for what, call, earlier in before_erasure:

            async def refused(call: Call = call, earlier: int = earlier) -> bool:
                answer = await call()
                if answer.status_code == 401:
                    return True
                assert answer.status_code == earlier or rule_of(answer) == "catching-up", describe(
                    answer
                )
                return False

            await wait_until(
                refused, timeout=RECOVERY_TIMEOUT, message=f"{what} refusing an erased token"
            )
        # ...and the account made during the fault takes part like any other, each step
        # right after its cause.
        await register(gateway, hid, newcomer)
        new_team = await create_team(gateway, hackathon, newcomer)
        answer = await put_submission(gateway, new_team["team_id"], newcomer.auth, "newcomer's")
        assert expect(answer, 201)["version"] == 1
    finally:
        await close_targets(registration)


async def test_gateway_passes_on_that_a_202_write_is_pending(
    faulty_platform: Platform, fault_gateway: Target
) -> None:
    """The gateway keeps the service's ``X-Event-Delivery: pending`` on a 202."""
    with broker_paused(faulty_platform):
        answer = await fault_gateway.http.post(
            "/accounts",
            json={"email": unique_email("pending"), "password": PASSWORD, "display_name": "p"},
        )
    expect(answer, 202)
    assert answer.headers.get("x-event-delivery") == "pending", dict(answer.headers)


async def test_organizer_writes_are_recorded_while_the_broker_is_paused(
    faulty_platform: Platform, fault_gateway: Target
) -> None:
    """Creating a hackathon and moving it from registration to hacking decide on
    registration's own facts alone: past the bound they answer 202 with their usual body,
    are committed, and reach the other services once the broker is back. The 202 points at
    its status monitor, which says when its events are in the log: from then on the other
    services decide with the write (a submission is accepted in the new phase at once)."""
    gateway = fault_gateway
    org = await organizer(gateway)
    hackathon = await create_hackathon(gateway, org)
    hid = hackathon["hackathon_id"]
    await move_to(gateway, org, hid, "registration")
    captain = await new_person(gateway, "captain")
    await register(gateway, hid, captain)
    team = await create_team(gateway, hackathon, captain)
    with broker_paused(faulty_platform):
        created = await gateway.http.post("/hackathons", headers=org, json=hackathon_body())
        moved = await change_phase(gateway, org, hid, "hacking")
        monitor = moved.links.get("monitor", {}).get("url")
        assert monitor is not None and monitor.startswith("/api/v1/deliveries/registration/"), dict(
            moved.headers
        )
        # The monitor reads registration's own outbox: it answers with the broker stopped.
        while_paused = expect(await gateway.http.get(monitor.removeprefix("/api/v1")), 200)
        assert while_paused["state"] == "pending", while_paused
    created_body = expect(created, 202)
    assert created_body["phase"] == "draft", created_body
    assert expect(moved, 202)["phase"] == "hacking"
    answer = await until_answered(
        lambda: gateway.http.get(f"/hackathons/{created_body['hackathon_id']}"), "a GET"
    )
    assert expect(answer, 200) == created_body

    async def delivered() -> bool:
        answer = expect(await gateway.http.get(monitor.removeprefix("/api/v1")), 200)
        return bool(answer["state"] == "delivered")

    # The relay sends what waited once the broker is back: asynchronous by nature.
    await wait_until(delivered, timeout=RECOVERY_TIMEOUT, message="the phase change delivered")
    answer = await until_answered(
        lambda: put_submission(gateway, team["team_id"], captain.auth, "after the fault"), "a PUT"
    )
    expect(answer, 201)
