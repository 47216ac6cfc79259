"""What a service has applied of the log, stored in its own database with the effects.

- Positions: per topic and partition, the offset before which every record is applied (or
  dead-lettered), tagged with the id of the log they belong to (the broker cluster's id: the
  embedded broker gets a new one at every start, since it keeps nothing). Positions of
  another log are ignored, so a broker that lost its log is never taken for one that has
  been read.
- Sequences: per aggregate of another service's topic, the head of its chain applied: the
  highest sequence and that event's hash. An event names the sequences it was decided on
  (``seen``), and is applied only after them; the next event must link to the hash
  (``hackathon_shared.chain``). Events that passed without being applied are kept beside
  them (``passed_events``).
- Erased principals: accounts whose ``AccountErased`` was applied.

Upserts use each dialect's ``INSERT ... ON CONFLICT``, one statement per batch (the sequences
sent as one ``executemany`` of a statement compiled once); reads of many sequences probe the
primary key once per key (``hackathon_shared.batch.rows_with_keys``), whether or not the
table was ever analysed."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka import TopicPartition
from sqlalchemy import case, func
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.batch import (
    dialect_insert,
    dialect_of,
    insert_new,
    insert_of,
    rows_with_keys,
)
from hackathon_shared.chain import Head
from hackathon_shared.events.catalogue import Producer, SeenFact
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.messaging_tables import (
    AppliedSequence,
    ConsumerPosition,
    ErasedPrincipal,
    PassedEvent,
)
from hackathon_shared.topics import Topics


async def record_positions(
    session: AsyncSession, log_id: str, positions: Mapping[TopicPartition, int]
) -> None:
    """Store ``next_offset`` per partition: never backwards within one log (a replica that
    lost its partition may finish an older batch after the new owner moved on), and
    replaced outright when the log is another one."""
    if not positions:
        return
    rows = [
        {"topic": tp.topic, "partition": tp.partition, "log_id": log_id, "next_offset": offset}
        for tp, offset in sorted(positions.items())
    ]
    await session.exec(_positions_upsert(dialect_of(session)), params=rows)


@functools.cache
def _positions_upsert(dialect: str) -> Any:
    table = ConsumerPosition.__table__  # type: ignore[attr-defined]
    statement = insert_of(dialect, table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["topic", "partition"],
        set_={
            "next_offset": case(
                (
                    table.c.log_id == excluded.log_id,
                    _greatest(dialect, table.c.next_offset, excluded.next_offset),
                ),
                else_=excluded.next_offset,
            ),
            "log_id": excluded.log_id,
        },
    )


def _greatest(dialect: str, a: Any, b: Any) -> Any:
    # SQLite's two-argument max() is a scalar function; PostgreSQL spells it greatest().
    return func.greatest(a, b) if dialect == "postgresql" else func.max(a, b)


async def read_positions(
    session: AsyncSession, log_id: str, topics: Iterable[str]
) -> dict[TopicPartition, int]:
    rows = await session.exec(
        select(ConsumerPosition.topic, ConsumerPosition.partition, ConsumerPosition.next_offset)
        .where(ConsumerPosition.log_id == log_id)
        .where(col(ConsumerPosition.topic).in_(list(set(topics))))
    )
    return {TopicPartition(topic, partition): offset for topic, partition, offset in rows.all()}


async def record_sequences(
    session: AsyncSession, sequences: Mapping[tuple[str, str], int | Head]
) -> None:
    """Raise each (topic, aggregate) to at least the given sequence; given a :class:`Head`,
    its hash goes with it (kept with the highest sequence, so a replica that finishes an
    older batch after another moved on leaves the newer head)."""
    if not sequences:
        return
    rows = []
    for (topic, aggregate), head in sorted(sequences.items()):
        sequence, hash_ = (head, None) if isinstance(head, int) else (head.sequence, head.hash)
        rows.append(
            {"topic": topic, "aggregate_id": aggregate, "sequence": sequence, "hash": hash_}
        )
    await session.exec(_sequences_upsert(dialect_of(session)), params=rows)


@functools.cache
def _sequences_upsert(dialect: str) -> Any:
    table = AppliedSequence.__table__  # type: ignore[attr-defined]
    statement = insert_of(dialect, table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["topic", "aggregate_id"],
        set_={
            "sequence": _greatest(dialect, table.c.sequence, excluded.sequence),
            # Both right-hand sides see the row as it was: the hash follows the sequence
            # that wins, and a sequence given without a hash keeps the one known.
            "hash": case(
                (
                    (excluded.sequence >= table.c.sequence) & excluded.hash.is_not(None),
                    excluded.hash,
                ),
                (excluded.sequence > table.c.sequence, None),
                else_=table.c.hash,
            ),
        },
    )


async def applied_sequences(
    session: AsyncSession, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The applied sequence of each (topic, aggregate) asked for that has one."""
    heads = await chain_heads(session, wanted)
    return {key: head.sequence for key, head in heads.items()}


async def chain_heads(
    session: AsyncSession, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Head]:
    """The head (sequence and hash) of each chain asked for that has one: one statement."""
    rows = await rows_with_keys(
        session, AppliedSequence, ["topic", "aggregate_id"], wanted, fresh=True
    )
    return {(row.topic, row.aggregate_id): Head(row.sequence, row.hash) for row in rows}


async def passed_events(
    session: AsyncSession, wanted: Iterable[tuple[str, str, int]]
) -> dict[tuple[str, str, int], str]:
    """The hash of each (topic, aggregate, sequence) asked for that passed without being
    applied (``PassedEvent``): one statement, asked only for events behind their chain."""
    keys = list(dict.fromkeys(wanted))
    if not keys:
        return {}
    rows = await rows_with_keys(
        session, PassedEvent, ["topic", "aggregate_id", "sequence"], keys, fresh=True
    )
    return {(row.topic, row.aggregate_id, row.sequence): row.hash for row in rows}


async def record_passed(session: AsyncSession, events: Iterable[tuple[str, Envelope]]) -> None:
    """Remember (topic, event) pairs that continued their chain but were dead-lettered."""
    rows = [
        {
            "topic": topic,
            "aggregate_id": event.aggregate_id,
            "sequence": event.sequence,
            "hash": event.hash,
        }
        for topic, event in events
    ]
    if rows:
        await insert_new(session, PassedEvent.__table__, rows)  # type: ignore[attr-defined]


async def record_erasure(session: AsyncSession, account_id: str) -> None:
    statement = dialect_insert(session, ErasedPrincipal.__table__).values(  # type: ignore[attr-defined]
        account_id=account_id
    )
    await session.exec(statement.on_conflict_do_nothing(index_elements=["account_id"]))


async def is_erased(connection: AsyncConnection, account_id: str) -> bool:
    """Whether this service has applied the account's erasure (asked on every request that
    carries a token, so one plain statement: ``Database.reads``)."""
    statement = select(col(ErasedPrincipal.account_id)).where(
        col(ErasedPrincipal.account_id) == account_id
    )
    return (await connection.execute(statement)).first() is not None


class Signal:
    """Something that happens again and again (a batch applied, a relay round done): a waiter
    wakes at the next occurrence after it began waiting, or when its timeout passes."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)


class Progress:
    """The service's log identity and a signal raised each time this process applied a batch,
    so that a waiting barrier or a causal wait looks again at once instead of at its next
    poll."""

    def __init__(self, log_id: str = "") -> None:
        self.log_id = log_id
        self._applied = Signal()

    def applied(self) -> None:
        self._applied.fire()

    async def wait_applied(self, timeout: float) -> None:
        await self._applied.wait(timeout)


async def seen_facts(
    session: AsyncSession, topics: Topics, facts: Iterable[tuple[Producer, str]]
) -> list[SeenFact]:
    """The positions a decision is taken on: for each (producer, aggregate), the sequence
    this service has applied of it (aggregates it has not heard of are left out)."""
    wanted = [(producer, topics.events_of(producer), aggregate) for producer, aggregate in facts]
    applied = await applied_sequences(session, [(topic, agg) for _p, topic, agg in wanted])
    return [
        SeenFact(producer=producer, aggregate_id=aggregate, sequence=applied[(topic, aggregate)])
        for producer, topic, aggregate in dict.fromkeys(wanted)
        if (topic, aggregate) in applied
    ]
