"""How fast each service's consumers catch up a backlog, against raw consumption of the same
topics, and what decoding an event costs against ``json.loads``.

The backlog is one hackathon sized like the largest civic ones (at 100x: 30,000
participants in 3,000 teams of ten, 3,000 submissions, 500 judges, five per submission,
15,000 scores, the results), sealed and chained the way the services' outboxes write it
(``audit.sample.LogBuilder``), with every account's contact details on
``registration.contacts``. 1x is a hundredth of that, 10x a tenth. Each scale is produced
once, under a topic prefix of its own, to a fresh embedded broker (Tansu).

Then, for each backend (a fresh SQLite file, a fresh PostgreSQL database) and each scale,
each service in turn: its real consumers (``build_runtime`` and the service's own
``subscribe``, with the service's migrations, fetch timing and batch size; no relay, no HTTP)
run until the positions stored in its database reach the log's end, one replica, nothing
else running. The clock starts when the service's first consumer group has joined (Tansu
holds a join for about a second) and every record counts, so the other groups' joins are
timed too: a conservative rate, and at 1x (a few batches) mostly join and batch latency.
Notifications runs with e-mail on (an in-app row and an e-mail delivery per notification),
and its contacts consumer is counted with its events. A run that passes ``--cap-seconds``
is stopped and reported at the rate it had reached ("capped"): the whole suite stays near
three minutes on two cores. After each full run, the inbox must hold one row per event
consumed (exactly once), or the run is reported as failed. The backlog is dropped from
memory before the runs, so that the process's heap is a service's.

Baselines from the same run, on the 100x backlog: aiokafka reading the same topics (no
group, every partition from offset 0, the services' fetch wait), the same with ``json.loads``
of every value, and a micro-benchmark of ``decode_event`` against ``json.loads`` on every
event value (CPU time of this process, best of three, the garbage collector off as in
``timeit``).

Flat as the inbox grows: a second copy of the largest backlog (the same shape, new ids,
under a prefix of its own) is applied into the database the first copy's run left, which
holds its inbox, positions and tables, and its rate is compared with the first's. The same
events in the same order, so only the database's size differs. (Comparing the 100x rate with
the 10x one said little: a 10x run is a handful of batches in well under a second, its rate
set by how far the other groups got while the first was joining; and the two halves of one
run apply different kinds of events.)

    .venv/bin/python bench/consumers.py [--scales 1,10,100] [--backends sqlite,postgresql]
        [--services registration,submissions,scoring,notifications] [--cap-seconds 10]

PostgreSQL: ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
a database is created per run and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import os
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import table
from sqlmodel import func, select
from table import Row, print_rows

from audit.log import LogRecord
from audit.sample import LogBuilder
from hackathon_cli.embedded_broker import EmbeddedBroker
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    AwardGranted,
    AwardOffered,
    Challenge,
    ContactDetails,
    HackathonCreated,
    HackathonCreatedPayload,
    HackathonPhaseChanged,
    HackathonPhaseChangedPayload,
    JudgeAssigned,
    JudgeAssignedPayload,
    JudgeEnrolled,
    JudgeEnrolledPayload,
    ParticipantRegistered,
    ParticipantRegisteredPayload,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
    Rubric,
    RubricCriterion,
    ScoreSubmitted,
    ScoreSubmittedPayload,
    SubmissionReceived,
    SubmissionReceivedPayload,
    SubmissionWithdrawn,
    SubmissionWithdrawnPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamMemberLeft,
    TeamMemberLeftPayload,
    TeamRegistered,
    TeamRegisteredPayload,
    TeamWithdrawn,
    TeamWithdrawnPayload,
    decode_event,
)
from hackathon_shared.kafka_admin import cluster_id_of, ensure_topics
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.positions import read_positions
from hackathon_shared.process_tuning import freeze_startup_objects
from hackathon_shared.service_app import ServiceRuntime, build_runtime
from hackathon_shared.settings import ServiceSettings
from hackathon_shared.signing import (
    EventSigner,
    KeyFiles,
    ensure_platform_keys,
    load_signer,
    record_digest,
)
from hackathon_shared.topics import (
    ALL_TOPICS,
    EVENTS_TOPIC_OF_PRODUCER,
    REGISTRATION_CONTACTS,
    REGISTRATION_EVENTS,
    SCORING_EVENTS,
    SUBMISSIONS_EVENTS,
    Topics,
)
from scoring.domain.leaderboard import (
    Criterion,
    Entrant,
    Score,
    awards_granted,
    leaderboard,
    weighted_total,
)

BENCH = "consumers"
PARTITIONS = 3
SECRET = "bench-consumers-secret-0123456789"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
GOAL_RATE = {"notifications": 5_000.0}  # events/s per replica; others 10,000
DEFAULT_GOAL = 10_000.0
FLAT = 0.8  # a second copy's rate into the grown database, as a share of the first's: flat
POLL = 0.01
MAX_REQUEST = 8 * 1024 * 1024  # the results of 3,000 teams are one large record


# --------------------------------------------------------------------------------------------
# The backlog
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Size:
    scale: int
    participants: int
    teams: int
    judges: int
    judges_per_submission: int = 5

    @staticmethod
    def of(scale: int) -> Size:
        """``scale`` hundredths of the largest civic hackathon."""
        return Size(scale, participants=300 * scale, teams=30 * scale, judges=max(5 * scale, 5))


def _id(kind: str, rng: random.Random) -> str:
    return f"{kind}_{rng.getrandbits(128):032x}"


def civic_hackathon(log: LogBuilder, size: Size, seed: int = 14) -> None:
    """One hackathon from the organizer's account to its finish, written to ``log``: every
    account with its contact details, registrations, teams formed by joining, judges with a
    conflict each, one submission per team, a few members leaving and teams withdrawing,
    ``judges_per_submission`` assignments and scores per submission, the results."""
    rng = random.Random(seed)
    contacts = log.prefix + REGISTRATION_CONTACTS

    def account(roles: list[str]) -> str:
        account_id = _id("acc", rng)
        log.add(
            AccountCreated,
            AccountCreatedPayload(account_id=account_id, roles=roles),
            aggregate_id=account_id,
        )
        details = ContactDetails(
            account_id=account_id,
            email=f"{account_id}@example.org",
            display_name=f"Person {account_id[-6:]}",
            updated_at=log.now,
        )
        log.append_raw(contacts, account_id, details.to_json().encode())
        return account_id

    boss = account(["organizer"])
    hid = _id("hck", rng)
    challenges = [Challenge(challenge_id=_id("chl", rng), title=t) for t in ("Water", "Data")]
    criteria = [
        RubricCriterion(key="impact", weight=3),
        RubricCriterion(key="feasibility", weight=2),
        RubricCriterion(key="inclusion", weight=1, min=0, max=5),
    ]
    offered = [
        AwardOffered(name="Seed grant", rank=1, kind="grant", amount=5000),
        AwardOffered(name="Second", rank=2, kind="grant", amount=2000),
        AwardOffered(name="Mentorship", rank=3, kind="mentorship"),
    ]
    log.add(
        HackathonCreated,
        HackathonCreatedPayload(
            hackathon_id=hid,
            name="Civic Hackathon",
            challenges=challenges,
            min_team_size=1,
            max_team_size=10,
            max_teams=size.teams,
            submission_deadline=log.now + timedelta(days=30),
            rubric=Rubric(criteria=criteria),
            judges_per_submission=size.judges_per_submission,
            awards=offered,
            created_by=boss,
        ),
        aggregate_id=hid,
    )
    phase = "draft"

    def move(to: str) -> None:
        nonlocal phase
        log.add(
            HackathonPhaseChanged,
            HackathonPhaseChangedPayload(
                hackathon_id=hid, from_phase=phase, to_phase=to, changed_by=boss
            ),
            aggregate_id=hid,
        )
        phase = to

    move("registration")
    people: list[str] = []
    for _ in range(size.participants):
        person = account(["participant"])
        people.append(person)
        log.add(
            ParticipantRegistered,
            ParticipantRegisteredPayload(
                participant_id=_id("par", rng),
                account_id=person,
                hackathon_id=hid,
                sector=rng.choice(["private", "academia", "civil_society", "government"]),
                consent_version="2026-01",
                consented_at=log.now,
            ),
            aggregate_id=hid,
        )
    judges = [account(["participant"]) for _ in range(size.judges)]
    per_team = size.participants // size.teams
    teams: list[tuple[str, list[str]]] = []
    for number in range(size.teams):
        members = people[number * per_team : (number + 1) * per_team]
        tid = _id("team", rng)
        log.add(
            TeamRegistered,
            TeamRegisteredPayload(
                team_id=tid,
                hackathon_id=hid,
                name=f"Team {number}",
                challenge_id=challenges[number % 2].challenge_id,
                captain_id=members[0],
                members=[members[0]],
            ),
            aggregate_id=tid,
        )
        for joiner in members[1:]:
            log.add(
                TeamMemberJoined,
                TeamMemberJoinedPayload(team_id=tid, hackathon_id=hid, account_id=joiner),
                aggregate_id=tid,
            )
        teams.append((tid, members))
    for tid, members in teams[::100]:  # one member in a hundred teams leaves
        log.add(
            TeamMemberLeft,
            TeamMemberLeftPayload(team_id=tid, hackathon_id=hid, account_id=members[-1]),
            aggregate_id=tid,
        )
        members.pop()
    for judge in judges:
        log.add(
            JudgeEnrolled,
            JudgeEnrolledPayload(
                hackathon_id=hid, judge_id=judge, conflicts=[rng.choice(teams)[0]]
            ),
            aggregate_id=hid,
        )
    move("hacking")
    submissions: dict[str, str] = {}
    first_at: dict[str, datetime] = {}
    for number, (tid, members) in enumerate(teams):
        sid = _id("sub", rng)
        submissions[tid] = sid
        first_at[sid] = log.tick()
        log.add(
            SubmissionReceived,
            SubmissionReceivedPayload(
                submission_id=sid,
                hackathon_id=hid,
                team_id=tid,
                challenge_id=challenges[number % 2].challenge_id,
                version=1,
                title=f"Proposal {number}",
                summary="Open data for everyone in the city, searchable and explained.",
                kind="technology",
                repo_url=f"https://git.example.org/team{number}",
                submitted_by=members[0],
                first_submitted_at=first_at[sid],
                seen=log.seen(("registration", hid), ("registration", tid)),
            ),
            aggregate_id=sid,
            occurred_at=first_at[sid],
        )
    withdrawn = {tid for tid, _members in teams[50::300]}  # one team in three hundred
    for tid in sorted(withdrawn):
        gone = log.add(
            TeamWithdrawn,
            TeamWithdrawnPayload(team_id=tid, hackathon_id=hid, reason="the team withdrew"),
            aggregate_id=tid,
        )
        log.add(
            SubmissionWithdrawn,
            SubmissionWithdrawnPayload(
                submission_id=submissions[tid],
                hackathon_id=hid,
                team_id=tid,
                reason="the team withdrew",
                seen=log.seen(("registration", tid)),
            ),
            aggregate_id=submissions[tid],
            causation_id=str(gone.event_id),
        )
    move("judging")
    panels: dict[str, list[str]] = {}
    for number, (tid, _members) in enumerate(teams):
        if tid in withdrawn:
            continue
        sid = submissions[tid]
        start = number * size.judges_per_submission
        panels[sid] = [judges[(start + k) % len(judges)] for k in range(size.judges_per_submission)]
        for judge in panels[sid]:
            log.add(
                JudgeAssigned,
                JudgeAssignedPayload(
                    hackathon_id=hid,
                    submission_id=sid,
                    team_id=tid,
                    judge_id=judge,
                    seen=log.seen(("registration", hid), ("submissions", sid)),
                ),
                aggregate_id=sid,
            )
    weights = [Criterion(c.key, c.weight) for c in criteria]
    latest: list[Score] = []
    for sid, panel in panels.items():
        for judge in panel:
            values = {
                "impact": float(rng.randint(1, 10)),
                "feasibility": float(rng.randint(1, 10)),
                "inclusion": float(rng.randint(0, 5)),
            }
            latest.append(Score(judge, sid, values))
            log.add(
                ScoreSubmitted,
                ScoreSubmittedPayload(
                    hackathon_id=hid,
                    submission_id=sid,
                    judge_id=judge,
                    scores=values,
                    total=weighted_total(weights, values),
                    revision=1,
                    comment="clear and useful",
                    seen=log.seen(("registration", hid), ("submissions", sid)),
                ),
                aggregate_id=sid,
            )
    board = leaderboard(
        weights,
        "none",
        [
            Entrant(sid, tid, first_at[sid], withdrawn=tid in withdrawn)
            for tid, sid in submissions.items()
        ],
        latest,
    )
    granted = awards_granted(board, [(a.name, a.rank) for a in offered])
    by_rank = {a.rank: a for a in offered}
    log.add(
        ResultsPublished,
        ResultsPublishedPayload(
            hackathon_id=hid,
            entries=[
                RankingEntry(
                    rank=e.rank,
                    submission_id=e.submission_id,
                    team_id=e.team_id,
                    score=e.score,
                    judges=e.judges,
                )
                for e in board
            ],
            awards=[
                AwardGranted(
                    name=name,
                    kind=by_rank[rank].kind,
                    amount=by_rank[rank].amount,
                    rank=rank,
                    team_id=team,
                )
                for name, rank, team in granted
            ],
            published_by=boss,
            seen=log.seen(
                ("registration", hid),
                *(("registration", e.team_id) for e in board),
                *(("submissions", e.submission_id) for e in board),
            ),
        ),
        aggregate_id=hid,
    )
    move("finished")


@dataclass
class Backlog:
    size: Size
    prefix: str
    placed: dict[tuple[str, int], list[LogRecord]]  # per (prefixed) topic and partition
    ends: dict[TopicPartition, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ends = {TopicPartition(t, p): len(placed) for (t, p), placed in self.placed.items()}

    def topic(self, name: str) -> str:
        return self.prefix + name

    def values(self, topics: Sequence[str]) -> list[bytes]:
        wanted = {self.topic(t) for t in topics}
        return [
            record.value
            for (topic, _partition), placed in sorted(self.placed.items())
            if topic in wanted
            for record in placed
            if record.value is not None
        ]

    def count(self, topics: Sequence[str]) -> int:
        wanted = {self.topic(t) for t in topics}
        return sum(end for tp, end in self.ends.items() if tp.topic in wanted)

    def forget_records(self) -> None:
        """Once on the broker: the services' runs must not scan the bench's heap (the
        garbage collector would, at every full collection)."""
        self.placed = {}


def build_backlog(scale: int) -> Backlog:
    prefix = f"bc{scale}x-{secrets.token_hex(3)}."
    log = LogBuilder(prefix=prefix, partitions=PARTITIONS)
    civic_hackathon(log, Size.of(scale))
    return Backlog(Size.of(scale), prefix, dict(log.logs))


def signed(
    backlog: Backlog, keys: KeyFiles, topic: str, key: bytes | None, value: bytes | None
) -> list[tuple[str, bytes]]:
    """The headers the record's producer would send: its signature (hackathon_shared.signing)
    with the bench's key of that service, over the event's hash or the record's digest."""
    producer = backlog_producer(backlog, topic)
    signer = _signer(keys, producer)
    target = (
        json.loads(value)["hash"]
        if topic != backlog.topic(REGISTRATION_CONTACTS) and value
        else record_digest(key, value)
    )
    return [(name, text.encode()) for name, text in signer.headers_for(target).items()]


@functools.cache
def _signer(keys: KeyFiles, producer: str) -> EventSigner:
    return load_signer(keys.signing_key(producer), producer)


def backlog_producer(backlog: Backlog, topic: str) -> str:
    producer = Topics(backlog.prefix).producer_of(topic)
    assert producer is not None, topic
    return producer


async def produce(bootstrap: str, backlog: Backlog, keys: KeyFiles) -> float:
    """Put the backlog on the broker (each record on the partition the builder chose, signed
    by its producer as the services sign); returns the seconds it took."""
    topics = [backlog.topic(t) for t in ALL_TOPICS]
    await ensure_topics(
        bootstrap,
        topics + [f"{t}.dlq" for t in topics],
        partitions=PARTITIONS,
        topic_configs={backlog.topic(REGISTRATION_CONTACTS): {"cleanup.policy": "compact"}},
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=5,
        max_batch_size=512 * 1024,
        max_request_size=MAX_REQUEST,
        enable_idempotence=False,
    )
    started = time.perf_counter()
    await producer.start()
    try:
        pending: list[asyncio.Future[Any]] = []
        for (topic, partition), records in sorted(backlog.placed.items()):
            batch = producer.create_batch()
            for record in records:
                headers = signed(backlog, keys, topic, record.key, record.value)
                if (
                    batch.append(
                        key=record.key, value=record.value, timestamp=None, headers=headers
                    )
                    is not None
                ):
                    continue
                if batch.record_count():  # full: send it, start the next one
                    pending.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                if (
                    batch.append(
                        key=record.key, value=record.value, timestamp=None, headers=headers
                    )
                    is None
                ):
                    # larger than a whole batch (the results of 3,000 teams): on its own
                    pending.append(
                        await producer.send(
                            topic,
                            record.value,
                            key=record.key,
                            partition=partition,
                            headers=headers,
                        )
                    )
                if len(pending) >= 64:
                    await asyncio.gather(*pending)
                    pending = []
            if batch.record_count():
                pending.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------------


async def raw_consume(
    bootstrap: str, backlog: Backlog, topics: Sequence[str], parse: bool
) -> float:
    """Records per second aiokafka reads ``topics`` from offset 0 (optionally each value
    through ``json.loads``), with the services' fetch wait on the embedded broker."""
    wanted = {
        tp: end
        for tp, end in backlog.ends.items()
        if tp.topic in {backlog.topic(t) for t in topics}
    }
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=10
    )
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning()
        total = sum(wanted.values())
        got = 0
        started = time.perf_counter()
        while got < total:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            for records in batches.values():
                got += len(records)
                if parse:
                    for record in records:
                        if record.value is not None:
                            json.loads(record.value)
        return total / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def decode_rates(backlog: Backlog) -> tuple[float, float, int]:
    """(decode_event per CPU second, json.loads per CPU second, values) over every event
    value."""
    values = backlog.values([REGISTRATION_EVENTS, SUBMISSIONS_EVENTS, SCORING_EVENTS])

    def rate(function: Callable[[bytes], object]) -> float:
        # CPU time of this process, the best of three: the machine is shared, and another
        # process taking the core mid-loop must not count against either side. The garbage
        # collector is off while timing, as timeit has it: its full collections scan this
        # process's heap, which holds every backlog here, and would charge that to whichever
        # side allocates more.
        best = 0.0
        for _ in range(3):
            gc.disable()
            try:
                started = time.process_time()
                for value in values:
                    function(value)
                best = max(best, len(values) / (time.process_time() - started))
            finally:
                gc.enable()
        return best

    return rate(decode_event), rate(json.loads), len(values)


# --------------------------------------------------------------------------------------------
# The services' consumers
# --------------------------------------------------------------------------------------------


def _service(name: str) -> tuple[type[ServiceSettings], Callable[[ServiceRuntime], None], Path]:
    if name == "registration":
        from registration.app import MIGRATIONS as registration_migrations
        from registration.entrypoints.subscribers import subscribe as registration_subscribe
        from registration.settings import RegistrationSettings

        return RegistrationSettings, registration_subscribe, registration_migrations
    if name == "submissions":
        from submissions.app import MIGRATIONS as submissions_migrations
        from submissions.entrypoints.subscribers import subscribe as submissions_subscribe
        from submissions.settings import SubmissionsSettings

        return SubmissionsSettings, submissions_subscribe, submissions_migrations
    if name == "scoring":
        from scoring.app import MIGRATIONS as scoring_migrations
        from scoring.entrypoints.subscribers import subscribe as scoring_subscribe
        from scoring.settings import ScoringSettings

        return ScoringSettings, scoring_subscribe, scoring_migrations
    if name == "notifications":
        from notifications.app import MIGRATIONS as notifications_migrations
        from notifications.entrypoints.subscribers import subscribe as notifications_subscribe
        from notifications.settings import NotificationsSettings

        return NotificationsSettings, notifications_subscribe, notifications_migrations
    raise ValueError(f"unknown service {name}")


@dataclass(frozen=True)
class Run:
    service: str
    backend: str
    scale: int
    events: int  # records of the consumed topics
    counted: int  # applied after every group had joined
    seconds: float
    capped: bool
    exactly_once: bool | None  # inbox rows == events consumed (None when capped)
    cpu: float  # this process's CPU seconds while the clock ran (both cores count)

    @property
    def rate(self) -> float:
        return self.counted / self.seconds if self.seconds > 0 else 0.0


@contextlib.asynccontextmanager
async def fresh_database(backend: str, workdir: Path, tag: str) -> Any:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / f'{tag}.db'}"
        return
    name = f"bench_{tag}".replace("-", "_").replace(".", "_")
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _consumed(runtime: ServiceRuntime) -> list[str]:
    return runtime.consumed_topics


async def _first_joined(runtime: ServiceRuntime) -> None:
    """Wait until one of the service's consumers has partitions assigned."""
    while True:
        for subscriber in runtime.broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is not None and consumer.assignment():
                return
        await asyncio.sleep(0.001)


async def run_service(
    service: str,
    backend: str,
    backlog: Backlog,
    bootstrap: str,
    cluster_id: str,
    workdir: Path,
    cap_seconds: float,
    into: str | None = None,
) -> Run:
    """One service's catch-up of ``backlog``, into a fresh database or, with ``into``, into
    that one (which already holds what an earlier run applied)."""
    settings_class, subscribe, migrations = _service(service)
    tag = f"{service}-{backend}-{backlog.size.scale}x-{secrets.token_hex(3)}"
    async with contextlib.AsyncExitStack() as stack:
        url: str = (
            into
            if into is not None
            else await stack.enter_async_context(fresh_database(backend, workdir, tag))
        )
        await upgrade_to_head(url, migrations)
        options: dict[str, Any] = {
            "database_url": url,
            "kafka_bootstrap_servers": bootstrap,
            "topic_prefix": backlog.prefix,
            "HACKATHON_JWT_SECRET": SECRET,
            "HACKATHON_DATA_DIR": workdir,
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "EVENT_SIGNING_KEY_FILE": workdir / "keys" / f"{service}.key",
            "EVENT_TRUSTED_KEYS_FILE": workdir / "keys" / "trusted-keys.json",
        }
        if service == "notifications":
            options["smtp_host"] = "mail.invalid"  # e-mail on: a delivery row per notification
        settings = settings_class(**options)
        runtime = build_runtime(settings)
        subscribe(runtime)
        for consumer in runtime.consumers:
            consumer.group_id = f"{consumer.group_id}.{tag}"  # a fresh group for every run
        runtime.progress.log_id = cluster_id
        await runtime.register_consumers(cluster_id)
        topics = _consumed(runtime)
        ends = {tp: end for tp, end in backlog.ends.items() if tp.topic in topics}
        total = sum(ends.values())
        reader = Database(url)
        inbox_before = await _inbox_rows(reader)

        async def reached() -> int:
            async with reader.sessions() as session:
                positions = await read_positions(session, cluster_id, topics)
            return sum(min(positions.get(tp, 0), end) for tp, end in ends.items())

        freeze_startup_objects()  # as a service does once started (its lifespan)
        await runtime.broker.start()
        try:
            # The clock starts when the first consumer group has joined (the broker holds a
            # join for about a second); every record counts, so the others' join is timed.
            await _first_joined(runtime)
            started = time.perf_counter()
            cpu_started = time.process_time()
            before = done = 0
            capped = False
            while done < total:
                await asyncio.sleep(POLL)
                done = await reached()
                if time.perf_counter() - started > cap_seconds:
                    capped = True
                    break
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu_started
        finally:
            await runtime.broker.stop()
            await runtime.log_ends.close()
        exactly_once: bool | None = None
        if not capped:
            events = backlog.count(
                [t for t in ALL_TOPICS if backlog.topic(t) in topics and t != REGISTRATION_CONTACTS]
            )
            exactly_once = await _inbox_rows(reader) - inbox_before == events
        await reader.dispose()
        await runtime.db.dispose()
    return Run(
        service,
        backend,
        backlog.size.scale,
        total,
        done - before,
        seconds,
        capped,
        exactly_once,
        cpu,
    )


async def _inbox_rows(database: Database) -> int:
    async with database.sessions() as session:
        rows: int = (await session.exec(select(func.count()).select_from(table("inbox")))).one()
    return rows


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def _events(n: int) -> str:
    return f"{n:,}"


def rows_for(runs: list[Run], again: list[tuple[Run, Run]], raw: dict[str, float]) -> list[Row]:
    rows: list[Row] = []
    for run in runs:
        goal = GOAL_RATE.get(run.service, DEFAULT_GOAL)
        notes = []
        if run.capped:
            notes.append(f"capped: {_events(run.counted)} applied")
        if run.exactly_once is False:
            notes.append("INBOX ROWS != EVENTS")
        note = f" ({'; '.join(notes)})" if notes else ""
        rows.append(
            Row(
                bench=BENCH,
                metric=f"{run.service} catch-up, {run.backend}, {run.scale}x "
                f"({_events(run.events)} records){note}",
                value=run.rate,
                unit="events/s",
                baseline=raw.get(run.service),
                baseline_name="raw aiokafka, same topics",
                goal=f">= {goal:,.0f} events/s",
                met=run.rate >= goal and run.exactly_once is not False,
            )
        )
    for run, grown in again:
        rows.append(
            Row(
                bench=BENCH,
                metric=f"{run.service} catch-up, {run.backend}, {run.scale}x again, into the "
                f"database the first {run.scale}x run left",
                value=grown.rate,
                unit="events/s",
                baseline=run.rate,
                baseline_name="into a fresh database",
                goal=f"flat: >= {FLAT} of the fresh rate",
                met=run.rate > 0
                and grown.rate / run.rate >= FLAT
                and grown.exactly_once is not False,
            )
        )
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--services", default="registration,submissions,scoring,notifications")
    parser.add_argument("--cap-seconds", type=float, default=10.0)
    args = parser.parse_args()
    scales = sorted(int(s) for s in args.scales.split(","))
    backends = args.backends.split(",")
    services = args.services.split(",")
    began = time.perf_counter()
    loads_at_start = ", ".join(f"{v:.1f}" for v in os.getloadavg())

    built: dict[int, Backlog] = {}
    for scale in scales:
        t = time.perf_counter()
        built[scale] = build_backlog(scale)
        records = sum(built[scale].ends.values())
        print(f"built {scale}x: {records:,} records in {time.perf_counter() - t:.1f} s", flush=True)
    largest = built[scales[-1]]
    # The same shape again, with new ids under a prefix of its own: applied after the first
    # copy, into the database that run left (flat as the inbox grows).
    second_copy = build_backlog(scales[-1])

    with tempfile.TemporaryDirectory(prefix="bench-consumers-") as tmp, EmbeddedBroker() as broker:
        workdir = Path(tmp)
        bootstrap = broker.bootstrap_servers
        cluster_id = await cluster_id_of(bootstrap)
        keys = ensure_platform_keys(workdir / "keys", EVENTS_TOPIC_OF_PRODUCER)
        for scale in scales:
            seconds = await produce(bootstrap, built[scale], keys)
            print(f"produced {scale}x in {seconds:.1f} s", flush=True)
        await produce(bootstrap, second_copy, keys)

        rows: list[Row] = []
        every = [REGISTRATION_EVENTS, SUBMISSIONS_EVENTS, SCORING_EVENTS, REGISTRATION_CONTACTS]
        raw_all = await raw_consume(bootstrap, largest, every, parse=False)
        parsed_all = await raw_consume(bootstrap, largest, every, parse=True)
        decoded, loaded, values = decode_rates(largest)
        rows += [
            Row(
                BENCH,
                f"raw aiokafka consume, every topic, {largest.size.scale}x",
                raw_all,
                "records/s",
            ),
            Row(
                BENCH,
                f"raw aiokafka consume + json.loads, {largest.size.scale}x",
                parsed_all,
                "records/s",
                baseline=raw_all,
                baseline_name="raw aiokafka",
            ),
            Row(
                BENCH,
                f"decode_event ({values:,} event values, CPU time)",
                decoded,
                "events/s",
                baseline=loaded,
                baseline_name="json.loads",
                goal="cost <= 2x json.loads (ratio >= 0.5)",
                met=decoded >= loaded / 2,
            ),
        ]
        print_rows(rows)

        raw: dict[str, float] = {}
        for service in services:
            raw[service] = await raw_consume(bootstrap, largest, _topics_of(service), parse=False)
        for backlog in [*built.values(), second_copy]:
            backlog.forget_records()
        gc.collect()

        def say(run: Run, label: str) -> None:
            print(
                f"  {run.service:13} {run.backend:10} {label:>9}: {run.counted:>7,} in "
                f"{run.seconds:6.2f} s = {run.rate:>8,.0f}/s "
                f"(this process: {run.cpu / run.seconds:.0%} of a core)"
                f"{' CAPPED' if run.capped else ''}"
                f"{' INBOX MISMATCH' if run.exactly_once is False else ''}",
                flush=True,
            )

        runs: list[Run] = []
        again: list[tuple[Run, Run]] = []
        for backend in backends:
            for scale in scales:
                for service in services:
                    common = (bootstrap, cluster_id, workdir, args.cap_seconds)
                    if scale != scales[-1]:
                        run = await run_service(service, backend, built[scale], *common)
                        runs.append(run)
                        say(run, f"{scale}x")
                        continue
                    tag = f"{service}-{backend}-grown-{secrets.token_hex(3)}"
                    async with fresh_database(backend, workdir, tag) as url:
                        run = await run_service(service, backend, built[scale], *common, into=url)
                        runs.append(run)
                        say(run, f"{scale}x")
                        grown = await run_service(service, backend, second_copy, *common, into=url)
                        again.append((run, grown))
                        say(grown, f"{scale}x again")
    print()
    print_rows(rows + rows_for(runs, again, raw))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"\nwhole bench: {time.perf_counter() - began:.0f} s on {os.cpu_count()} cores "
        f"(load average now {load}, {loads_at_start} at the start); "
        f"a run stops at {args.cap_seconds:g} s (capped); decode figures are CPU time"
    )


def _topics_of(service: str) -> list[str]:
    return {
        "registration": [SCORING_EVENTS],
        "submissions": [REGISTRATION_EVENTS, SCORING_EVENTS],
        "scoring": [REGISTRATION_EVENTS, SUBMISSIONS_EVENTS],
        "notifications": [
            REGISTRATION_EVENTS,
            SUBMISSIONS_EVENTS,
            SCORING_EVENTS,
            REGISTRATION_CONTACTS,
        ],
    }[service]


if __name__ == "__main__":
    asyncio.run(main())
