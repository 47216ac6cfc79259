"""A consumer applies a batch in one transaction, claiming its events in the inbox with one
statement and letting the handlers read and write a table at a time
(``hackathon_shared.batch``). These tests hold it to the guarantees it had event by event:
a redelivered or repeated event changes nothing, two replicas claiming the same events apply
them once, and every service's projection ends in exactly the state that applying the same
events one transaction each gives. Real broker, real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from audit.sample import LogBuilder, judged_hackathon
from hackathon_shared.batch import applying
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AccountErased,
    AccountErasedPayload,
    JudgeAssigned,
    JudgeAssignedPayload,
    ScoreSubmitted,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamMemberLeft,
    TeamMemberLeftPayload,
    TeamWithdrawn,
)
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.inbox import claim
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox
from hackathon_shared.topics import REGISTRATION_EVENTS, Topics
from tests.database_fixtures import fresh_postgres_database
from tests.messaging_helpers import RunningConsumer, wait_for_committed
from tests.support.tally import count_event, count_rows, migrate, tallies
from tests.test_consumer import event_for, publish

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two fresh databases of one backend: one applies event by event, the other by batch."""
    if request.param == "sqlite":
        yield (
            f"sqlite+aiosqlite:///{tmp_path / 'one.db'}",
            f"sqlite+aiosqlite:///{tmp_path / 'two.db'}",
        )
        return
    with fresh_postgres_database() as one, fresh_postgres_database() as two:
        yield one, two


# --------------------------------------------------------------------------------------------
# The inbox
# --------------------------------------------------------------------------------------------


async def test_a_batch_repeating_events_and_redelivering_one_applies_each_once(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    first, second = event_for("acc_first"), event_for("acc_second")
    async with running_consumer(topic, db, count_event) as consumer:
        await publish(broker, topic, first.to_json().encode(), key="k")
        await wait_for_committed(kafka_bootstrap, group_id, topic, 1)
        # One partition (one key), published back to back: the consumer takes them in one
        # batch or a few; either way each event counts once.
        for event in (second, first, second, second, first):
            await publish(broker, topic, event.to_json().encode(), key="k")
        await wait_for_committed(kafka_bootstrap, group_id, topic, 6)
        assert consumer.dead_lettered == 0
    assert await tallies(db) == {"acc_first": 1, "acc_second": 1}
    assert await count_rows(db, "inbox") == 2
    await db.dispose()


async def test_two_replicas_claiming_the_same_events_apply_them_once(database_url: str) -> None:
    await migrate(database_url)
    one, two = Database(database_url), Database(database_url)  # two replicas' connections
    first_claimed = asyncio.Event()

    async def first() -> set[str]:
        async with one.transaction() as session:
            fresh = await claim(session, "svc", [("e1", "t"), ("e2", "t")])
            first_claimed.set()
            await asyncio.sleep(0.3)  # still uncommitted while the other replica claims
            return fresh

    async def second() -> set[str]:
        await first_claimed.wait()
        async with two.transaction() as session:
            return await claim(session, "svc", [("e2", "t"), ("e3", "t")])

    got = await asyncio.gather(first(), second())
    assert got == [{"e1", "e2"}, {"e3"}]
    async with one.transaction() as session:
        assert await claim(session, "svc", [("e1", "t"), ("e3", "t"), ("e4", "t")]) == {"e4"}
        assert await claim(session, "other", [("e1", "t")]) == {"e1"}  # per consumer group
    for db in (one, two):
        await db.dispose()


# --------------------------------------------------------------------------------------------
# Projections: a batch ends where event-by-event application ends
# --------------------------------------------------------------------------------------------


class OrderedLog(LogBuilder):
    """A log builder that also keeps every event in the order it was written (causal)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Envelope] = []

    def add(self, cls: type[Envelope], payload: BaseModel, **kwargs: Any) -> Envelope:
        event = super().add(cls, payload, **kwargs)
        self.events.append(event)
        return event


def eventful_log() -> list[Envelope]:
    """A judged hackathon, then what makes batching hard: a member leaves and rejoins, a
    member is erased and the team hears of a join after it, a judge is assigned again."""
    log = OrderedLog()
    judged = judged_hackathon(log)
    hid, team = judged.hackathon_id, judged.teams[0]
    members = [
        e.payload.account_id
        for e in log.events
        if isinstance(e, TeamMemberJoined) and e.payload.team_id == team
    ]
    captain = next(
        e.payload.captain_id for e in log.events if getattr(e.payload, "team_id", None) == team
    )
    joiner = members[0]
    log.add(
        TeamMemberLeft,
        TeamMemberLeftPayload(team_id=team, hackathon_id=hid, account_id=joiner),
        aggregate_id=team,
    )
    log.add(
        TeamMemberJoined,
        TeamMemberJoinedPayload(team_id=team, hackathon_id=hid, account_id=joiner),
        aggregate_id=team,
    )
    log.add(AccountErased, AccountErasedPayload(account_id=captain), aggregate_id=captain)
    outsider = judged.judges[2]
    log.add(
        TeamMemberJoined,
        TeamMemberJoinedPayload(team_id=team, hackathon_id=hid, account_id=outsider),
        aggregate_id=team,
    )
    submission = judged.submissions[team]
    log.add(
        JudgeAssigned,
        JudgeAssignedPayload(
            hackathon_id=hid,
            submission_id=submission,
            team_id=team,
            judge_id=judged.judges[1],
            seen=log.seen(("registration", hid), ("submissions", submission)),
        ),
        aggregate_id=submission,
    )
    return log.events


async def one_by_one(db: Database, handler: Handler, events: Sequence[Envelope]) -> None:
    for event in events:
        async with db.transaction() as session:
            await handler(session, event)


async def as_batches(db: Database, handler: Handler, events: Sequence[Envelope], size: int) -> None:
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        async with db.transaction() as session, applying(session, chunk):
            for event in chunk:
                await handler(session, event)


async def table_rows(db: Database, queries: Sequence[str]) -> list[list[tuple[Any, ...]]]:
    async with db.sessions() as session:
        return [
            sorted(tuple(row) for row in (await session.exec(text(query))).all())
            for query in queries
        ]


async def same_end_state(
    urls: tuple[str, str],
    migrations: Path,
    handler_of: Callable[[Database], Handler],
    queries: Sequence[str],
) -> None:
    events = eventful_log()
    state: list[list[list[tuple[Any, ...]]]] = []
    # Event by event, and the whole log as one batch (every event meets every other).
    for url, batch_size in zip(urls, (1, len(events)), strict=True):
        await upgrade_to_head(url, migrations)
        db = Database(url)
        handler = handler_of(db)
        if batch_size == 1:
            await one_by_one(db, handler, events)
        else:
            await as_batches(db, handler, events, batch_size)
        state.append(await table_rows(db, queries))
        await db.dispose()
    one, batched = state
    for query, expected, got in zip(queries, one, batched, strict=True):
        assert got == expected, query
    assert any(one), "the log left no state at all"


async def test_notifications_batch_ends_as_event_by_event(two_databases: tuple[str, str]) -> None:
    from notifications.app import MIGRATIONS
    from notifications.service.feed import Recorder

    await same_end_state(
        two_databases,
        MIGRATIONS,
        lambda _db: Recorder(email_enabled=True),
        [
            "SELECT notification_id, account_id, channel, kind, context, causing_event_id "
            "FROM notifications",
            "SELECT delivery_id, channel, kind, causing_event_id, account_id, notification_id, "
            "status FROM deliveries",
            "SELECT team_id, account_id, joined_seq, left_seq FROM team_members",
            "SELECT team_id, account_id, joined_seq, left_seq FROM past_team_members",
            "SELECT team_id, hackathon_id, name, withdrawn FROM known_teams",
            "SELECT hackathon_id, name FROM known_hackathons",
            "SELECT account_id FROM erased_accounts",
        ],
    )


async def test_scoring_batch_ends_as_event_by_event(two_databases: tuple[str, str]) -> None:
    from scoring.app import MIGRATIONS
    from scoring.service.view import apply_event

    await same_end_state(
        two_databases,
        MIGRATIONS,
        lambda _db: apply_event,
        [
            "SELECT hackathon_id, phase, judges_per_submission, normalization "
            "FROM known_hackathons",
            "SELECT hackathon_id, judge_id, conflicts FROM known_judges",
            "SELECT team_id, name, withdrawn FROM known_teams",
            "SELECT submission_id, hackathon_id, team_id, title, withdrawn FROM known_submissions",
        ],
    )


async def test_submissions_batch_ends_as_event_by_event(two_databases: tuple[str, str]) -> None:
    from submissions.app import MIGRATIONS
    from submissions.service.submissions import withdraw_for_team
    from submissions.service.view import apply_event

    def handler_of(db: Database) -> Handler:
        outbox = Outbox(Topics(), "submissions")

        async def on_event(session: AsyncSession, event: Envelope) -> None:
            await apply_event(session, event)
            if isinstance(event, TeamWithdrawn):
                await withdraw_for_team(session, outbox, event)

        return on_event

    await same_end_state(
        two_databases,
        MIGRATIONS,
        handler_of,
        [
            "SELECT hackathon_id, phase, min_team_size, sequence FROM known_hackathons",
            "SELECT team_id, hackathon_id, challenge_id, status, sequence FROM known_teams",
            "SELECT team_id, account_id FROM known_members",
            "SELECT submission_id, judge_id FROM known_assignments",
            "SELECT topic, aggregate_id, sequence, event_type FROM outbox",
        ],
    )


def test_the_log_has_what_the_batches_must_get_right() -> None:
    events = eventful_log()
    kinds = [type(e) for e in events]
    assert kinds.count(TeamMemberLeft) >= 2 and AccountErased in kinds
    assert ScoreSubmitted in kinds and TeamWithdrawn in kinds
