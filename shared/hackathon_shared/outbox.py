"""Transactional outbox: events are appended in the caller's transaction, with their
per-aggregate sequence and hash chain, and a relay publishes committed rows to Kafka.

Nothing is published that was not committed (the relay only sees committed rows), and
nothing committed stays unpublished (the relay marks rows only after the broker confirmed
them; after a crash in between it publishes them again, and consumers' inboxes absorb the
duplicates).

Several replicas of a service share one outbox on PostgreSQL. There each relay round is one
transaction that claims rows with ``SELECT ... FOR UPDATE SKIP LOCKED``, publishes them and
marks them published before it commits: a row is published by one replica at a time, and the
rows another replica holds are skipped rather than waited for. An aggregate's events still
leave in order: a claimed row whose key has an earlier row held by another replica waits for
a later round. SQLite has no row locks (and one writer at a time); there the relay reads, then
publishes, then marks in a transaction of its own, which is correct for the single process
that an SQLite file serves.

Acknowledgement (docs/consistency.md): during an HTTP request, the ids of the outbox rows its
transactions committed are collected (``begin_acknowledgement``), and the request answers
only once the relay (this replica's or another's) has had them accepted by the broker
(``OutboxRelay.wait_published``), bounded: so an acknowledged write is in the log, where
every other service's barrier finds it."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from faststream.kafka import KafkaBroker
from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.db import Database
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.metrics import OUTBOX_PUBLISHED
from hackathon_shared.positions import Signal
from hackathon_shared.signing import EventSigner, record_digest
from hackathon_shared.topics import Topics

log = logging.getLogger(__name__)

# The outbox rows committed while handling the current request (None outside a request).
_committed: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "outbox_committed", default=None
)


def begin_acknowledgement() -> contextvars.Token[list[int] | None]:
    """Start collecting the outbox rows the current request commits."""
    return _committed.set([])


def committed_rows() -> list[int]:
    """The outbox rows committed so far by the current request."""
    return list(_committed.get() or ())


def end_acknowledgement(token: contextvars.Token[list[int] | None]) -> None:
    _committed.reset(token)


class Outbox:
    """Appends a service's events to its outbox table inside the current transaction."""

    def __init__(self, topics: Topics, producer: str) -> None:
        self.topics = topics
        self.producer = producer
        self._wake: asyncio.Event | None = None

    def attach_wakeup(self, wake: asyncio.Event) -> None:
        """Let the relay know right after a transaction with new rows commits."""
        self._wake = wake

    def _after_commit(self, session: AsyncSession, row: OutboxRecord) -> None:
        """Once the transaction commits: wake the relay, and count the row as the current
        request's (the list is taken here, in the request's context: the commit hook runs
        inside SQLAlchemy's greenlet)."""
        wake, committed, row_id = self._wake, _committed.get(), row.id

        def on_commit(_session: Any) -> None:
            if wake is not None:
                wake.set()
            if committed is not None and row_id is not None:
                committed.append(row_id)

        sa_event.listen(session.sync_session, "after_commit", on_commit, once=True)

    async def append(
        self,
        session: AsyncSession,
        event_class: type[Envelope],
        payload: BaseModel,
        *,
        aggregate_id: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Envelope:
        """Seal an event as the next link of its aggregate's chain and stage it for publishing.

        Two transactions racing for the same aggregate cannot both take the same sequence:
        the unique constraint on (topic, aggregate_id, sequence) rejects the later one."""
        if self.producer != event_class.PRODUCER:
            raise ValueError(f"{self.producer} cannot publish {event_class.TYPE}")
        topic = self.topics.events_of(self.producer)
        last = (
            await session.exec(
                select(OutboxRecord.sequence, OutboxRecord.hash)
                .where(OutboxRecord.topic == topic, OutboxRecord.aggregate_id == aggregate_id)
                .order_by(col(OutboxRecord.sequence).desc())
                .limit(1)
            )
        ).first()
        sequence, prev_hash = 1, GENESIS_HASH
        if last is not None and last[0] is not None and last[1] is not None:
            sequence, prev_hash = last[0] + 1, last[1]
        envelope = seal(
            event_class,
            payload=payload,
            aggregate_id=aggregate_id,
            sequence=sequence,
            prev_hash=prev_hash,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=occurred_at,
        )
        row = OutboxRecord(
            topic=topic,
            message_key=aggregate_id,
            value=envelope.to_json(),
            event_id=str(envelope.event_id),
            event_type=envelope.type,
            aggregate_id=aggregate_id,
            sequence=sequence,
            hash=envelope.hash,
            created_at=envelope.occurred_at,
        )
        session.add(row)
        await session.flush()
        self._after_commit(session, row)
        return envelope

    async def append_record(
        self, session: AsyncSession, topic: str, key: str, value: str | None
    ) -> None:
        """Stage a plain keyed record (not an event envelope), e.g. contact details on the
        compacted contacts topic; ``None`` is a tombstone."""
        row = OutboxRecord(
            topic=self.topics.name(topic),
            message_key=key,
            value=value,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        await session.flush()
        self._after_commit(session, row)


def _aiokafka_producer(broker: KafkaBroker) -> Any:
    # FastStream encodes a None body as an empty value; a compaction tombstone must have no
    # value at all, so tombstones go through the aiokafka producer that FastStream wraps.
    return broker.config.producer._producer.producer  # type: ignore[attr-defined]


MAX_RELAY_BACKOFF_SECONDS = 5.0
"""The longest a relay waits between failed rounds (broker or database down): short enough
that an outage's end is noticed within seconds, long enough not to hammer either."""


class OutboxRelay:
    """Publishes committed outbox rows in id order (so in sequence order per aggregate,
    since one aggregate's rows are keyed alike and land on one partition) and marks them
    published once the broker acknowledged them. On PostgreSQL, relays of several replicas
    share the outbox through row locks (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        broker: KafkaBroker,
        *,
        batch_size: int = 500,
        interval: float = 0.2,
        service: str = "service",
        signer: EventSigner | None = None,
    ) -> None:
        self.db = db
        self.broker = broker
        # The service's own key: every row leaves signed (hackathon_shared.signing). Signed
        # at publishing, from the row's stored hash, so rows written before signing began
        # leave signed too when the outbox is published again.
        self.signer = signer
        self.batch_size = batch_size
        self.interval = interval
        self.service = service
        self.wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.published_total = 0
        self._round_done = Signal()
        # Rows this relay saw the broker accept, by id, with when (kept a while, for the
        # requests waiting on them: they need no database read to learn it).
        self._accepted: dict[int, float] = {}
        # Rows the broker accepted that could not be marked yet (the database refused the
        # mark): they are marked again each round, never sent again by this process.
        self._unmarked: set[int] = set()
        self.failures = 0  # relay rounds failed in a row (the backoff grows with it)
        # Checks, before rows are sent, that the broker still holds the log this service
        # started on (hackathon_shared.log_loss.LogWatch.guard); ``True`` asks for a fresh
        # check (after a failed round, the broker may have come back as another log).
        self.log_guard: Callable[[bool], Awaitable[None]] | None = None

    @property
    def claims_rows(self) -> bool:
        """True where rows are claimed with row locks (PostgreSQL), so replicas can share."""
        return self.db.engine.dialect.name == "postgresql"

    async def pending(self) -> list[OutboxRecord]:
        async with self.db.sessions() as session:
            rows = await session.exec(
                select(OutboxRecord)
                .where(col(OutboxRecord.published_at).is_(None))
                .order_by(col(OutboxRecord.id))
                .limit(self.batch_size)
            )
            return list(rows.all())

    async def publish(self, rows: Sequence[OutboxRecord]) -> list[OutboxRecord]:
        """Send the rows and wait for every acknowledgement. Returns the rows that may be
        marked: each one the broker acknowledged, unless a row before it with the same key
        (the same aggregate, so the same partition) was not; those are sent again next
        round, so an aggregate's events never skip ahead of one that failed, and rows of
        other aggregates are not sent twice for another's failure."""
        futures: list[asyncio.Future[Any]] = []
        for row in rows:
            key = row.message_key.encode()
            signed = row.hash or record_digest(
                key, row.value.encode() if row.value is not None else None
            )
            signature = self.signer.headers_for(signed) if self.signer is not None else {}
            if row.value is None:
                send = await _aiokafka_producer(self.broker).send(
                    row.topic,
                    None,
                    key=key,
                    headers=[(name, value.encode()) for name, value in signature.items()],
                )
                futures.append(send)
                continue
            headers = {"content-type": "application/json", **signature}
            if row.event_type:
                headers["event-type"] = row.event_type
            futures.append(
                await self.broker.publish(
                    row.value.encode(), row.topic, key=key, headers=headers, no_confirm=True
                )
            )
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        held_back: set[tuple[str, str]] = set()
        accepted: list[OutboxRecord] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            chain = (row.topic, row.message_key)
            if isinstance(outcome, BaseException):
                log.warning("outbox row %s not acknowledged: %r", row.id, outcome)
                held_back.add(chain)
            elif chain not in held_back:
                accepted.append(row)
        return accepted

    async def republish_everything(self) -> int:
        """Mark every row unpublished, so the relay sends the whole outbox again. For a broker
        that kept nothing (the embedded one is memory-only): the outboxes are the durable
        record, and consumers' inboxes absorb what they had already applied."""
        async with self.db.transaction() as session:
            result = await session.exec(
                update(OutboxRecord)
                .where(col(OutboxRecord.published_at).is_not(None))
                .values(published_at=None)
            )
        return int(result.rowcount or 0)

    async def mark_published(
        self, rows: Sequence[OutboxRecord], session: AsyncSession | None = None
    ) -> None:
        """Mark rows published: in the round's claiming transaction when given (they are then
        marked when it commits), else in a transaction of its own."""
        statement = (
            update(OutboxRecord)
            .where(col(OutboxRecord.id).in_([row.id for row in rows]))
            .values(published_at=datetime.now(UTC))
        )
        if session is not None:
            await session.exec(statement)
            return
        async with self.db.transaction() as own:
            await own.exec(statement)

    async def claim(self, session: AsyncSession) -> list[OutboxRecord]:
        """Lock up to ``batch_size`` unpublished rows no other relay holds (PostgreSQL), in id
        order, keeping only those that may leave now: a row waits while an earlier unpublished
        row with the same key is held by another relay (it was skipped here), so that an
        aggregate's events are never published out of order."""
        claimed = list(
            (
                await session.exec(
                    select(OutboxRecord)
                    .where(col(OutboxRecord.published_at).is_(None))
                    .order_by(col(OutboxRecord.id))
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
        if not claimed:
            return []
        ids = [row.id for row in claimed]
        last_id = claimed[-1].id  # ordered by id
        keys = {row.message_key for row in claimed}
        held = await session.exec(
            select(OutboxRecord.topic, OutboxRecord.message_key, func.min(OutboxRecord.id))
            .where(
                col(OutboxRecord.published_at).is_(None),
                col(OutboxRecord.id) < last_id,
                col(OutboxRecord.id).not_in(ids),
                col(OutboxRecord.message_key).in_(keys),
            )
            .group_by(col(OutboxRecord.topic), col(OutboxRecord.message_key))
        )
        first_held = {(topic, key): first for topic, key, first in held.all()}
        if not first_held:
            return claimed
        return [
            row
            for row in claimed
            if (first := first_held.get((row.topic, row.message_key))) is None
            or (row.id is not None and row.id < first)
        ]

    async def publish_pending(self) -> int:
        """One round: publish up to ``batch_size`` unpublished rows. Returns how many."""
        if self.claims_rows:
            async with self.db.transaction() as session:
                rows = await self.claim(session)
                acknowledged = await self._publish_and_mark(rows, session)
        else:
            rows = await self.pending()
            acknowledged = await self._publish_and_mark(rows)
        self._unmarked.difference_update(row.id for row in acknowledged if row.id is not None)
        self.published_total += len(acknowledged)
        OUTBOX_PUBLISHED.labels(self.service).inc(len(acknowledged))
        if len(acknowledged) < len(rows):
            raise RuntimeError(f"{len(rows) - len(acknowledged)} outbox rows not acknowledged")
        return len(rows)

    async def _publish_and_mark(
        self, rows: list[OutboxRecord], session: AsyncSession | None = None
    ) -> list[OutboxRecord]:
        """Publish ``rows`` and mark those the broker acknowledged; returns them. Rows the
        broker accepted in an earlier round whose mark failed are only marked: a database that
        cannot write makes no second copy of them, however long it lasts."""
        sent = [row for row in rows if row.id in self._unmarked]
        fresh = [row for row in rows if row.id not in self._unmarked]
        if fresh and self.log_guard is not None:
            await self.log_guard(self.failures > 0)  # never onto a log that is not ours
        accepted = await self.publish(fresh) if fresh else []
        if accepted:
            self._note_accepted(accepted)
            self._unmarked.update(row.id for row in accepted if row.id is not None)
        acknowledged = sorted([*sent, *accepted], key=lambda row: row.id or 0)
        if acknowledged:
            await self.mark_published(acknowledged, session)
        return acknowledged

    def _note_accepted(self, rows: Sequence[OutboxRecord]) -> None:
        now = time.monotonic()
        if len(self._accepted) > 10_000:
            self._accepted = {i: t for i, t in self._accepted.items() if now - t < 60}
        for row in rows:
            if row.id is not None:
                self._accepted[row.id] = now
        self._round_done.fire()

    async def wait_published(self, row_ids: Sequence[int], timeout: float) -> bool:
        """Wait until the broker has accepted these rows (whichever replica's relay sent them);
        False if the bound passed first. This relay's acceptances are known in memory, the
        moment the broker acknowledged; the outbox table is read now and then, for rows
        another replica's relay sent (PostgreSQL) or an earlier round marked."""
        deadline = time.monotonic() + timeout
        ids = set(row_ids)
        read_every = 0.1 if self.claims_rows else 0.25
        # Rows just committed are not published yet: the first read waits a round, since
        # this relay is woken by the commit and its acceptances come in memory.
        next_read = time.monotonic() + read_every
        while True:
            # Each waiter looks up its own few rows: not a set difference with every
            # acceptance remembered (up to 10,000), once per relay round per waiter.
            ids = {row_id for row_id in ids if row_id not in self._accepted}
            if ids and time.monotonic() >= next_read:
                async with self.db.sessions() as session:
                    found = await session.exec(
                        select(OutboxRecord.id).where(
                            col(OutboxRecord.id).in_(list(ids)),
                            col(OutboxRecord.published_at).is_(None),
                        )
                    )
                    ids = {row_id for row_id in found.all() if row_id is not None}
                next_read = time.monotonic() + read_every
                # accepted during the read
                ids = {row_id for row_id in ids if row_id not in self._accepted}
            if not ids:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.wake.set()
            await self._round_done.wait(min(left, max(0.001, next_read - time.monotonic())))

    def backoff(self) -> float:
        """How long the relay waits after ``failures`` failed rounds in a row: the round's
        interval, doubling up to ``MAX_RELAY_BACKOFF_SECONDS``."""
        doublings = min(max(self.failures - 1, 0), 16)  # 2**16 intervals is past the cap
        return float(min(self.interval * 2**doublings, MAX_RELAY_BACKOFF_SECONDS))

    async def run(self) -> None:
        while True:
            # Cleared before the round, so a commit that lands during it is not missed.
            self.wake.clear()
            try:
                count = await self.publish_pending()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self.failures += 1
                if self.failures == 1:
                    log.exception("outbox relay round failed; retrying with backoff")
                else:
                    log.warning("outbox relay round %d failed in a row: %r", self.failures, error)
                count = 0
                self._round_done.fire()
                # A commit cuts the wait short: a write waiting for its acknowledgement should
                # not wait out the backoff once the broker or the database is back.
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout=self.backoff())
                continue
            if self.failures:
                log.info("outbox relay recovered after %d failed rounds", self.failures)
                self.failures = 0
            self._round_done.fire()
            if count >= self.batch_size:
                continue
            with suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=self.interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def backlog(self) -> int:
        async with self.db.sessions() as session:
            result = await session.exec(
                select(func.count()).where(col(OutboxRecord.published_at).is_(None))
            )
            return int(result.one())
