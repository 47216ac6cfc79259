"""Inbox of processed event ids: written in the handler's own transaction, so an event
delivered again (after a crash, a rebalance or a relay re-publish) changes nothing.

A batch claims its events in one statement: ``INSERT ... ON CONFLICT DO NOTHING RETURNING``
inserts the ids not recorded yet and returns exactly those, each checked against the
primary key ``(consumer_group, event_id)`` by an index probe. No query plan is involved, so
the check costs the same on a table PostgreSQL never analysed (where ``event_id IN (...)``
scanned the whole group: 1 s a batch at 94,000 rows) and however large the inbox grows.
A replica that claims the same events at the same moment waits for the first one's
transaction and then finds them taken, instead of failing on the primary key at commit."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.batch import dialect_of, insert_of
from hackathon_shared.messaging_tables import InboxRecord


async def claim(
    session: AsyncSession, consumer_group: str, events: Iterable[tuple[str, str]]
) -> set[str]:
    """Record the (event id, topic) pairs as processed by ``consumer_group``; returns the ids
    that were not recorded before (an id given twice is returned once). The caller applies
    exactly those, in this transaction."""
    wanted = dict(events)  # event id -> topic; a repeated id is one claim
    if not wanted:
        return set()
    dialect = dialect_of(session)
    values: dict[str, Any] = {"group": consumer_group, "now": datetime.now(UTC)}
    if dialect == "postgresql":
        values |= {"ids": list(wanted), "topics": list(wanted.values())}
    else:
        values["rows"] = json.dumps(list(wanted.items()))
    result = await session.exec(_claim(dialect), params=values)
    return set(result.scalars().all())


@functools.cache
def _claim(dialect: str) -> Any:
    """``INSERT INTO inbox SELECT <group>, id, topic, <now> FROM <the pairs> ON CONFLICT DO
    NOTHING RETURNING event_id``: one statement, whatever the batch's size, the pairs in one
    parameter (arrays on PostgreSQL, a JSON array on SQLite), so nothing is compiled or
    bound per event."""
    table = InboxRecord.__table__  # type: ignore[attr-defined]
    group = sa.bindparam("group", type_=table.c.consumer_group.type)
    now = sa.bindparam("now", type_=table.c.processed_at.type)
    if dialect == "postgresql":
        pairs = (
            sa.func.unnest(
                sa.bindparam("ids", type_=postgresql.ARRAY(table.c.event_id.type)),
                sa.bindparam("topics", type_=postgresql.ARRAY(table.c.topic.type)),
            )
            .table_valued("event_id", "topic")
            .render_derived("claimed")
        )
        rows = sa.select(group, pairs.c.event_id, pairs.c.topic, now).select_from(pairs)
    else:
        pairs = sa.func.json_each(sa.bindparam("rows")).table_valued("value")
        rows = (
            sa.select(
                group,
                sa.func.json_extract(pairs.c.value, "$[0]"),
                sa.func.json_extract(pairs.c.value, "$[1]"),
                now,
            )
            .select_from(pairs)
            .where(sa.true())  # SQLite: INSERT ... SELECT ... ON CONFLICT needs a WHERE
        )
    columns = ["consumer_group", "event_id", "topic", "processed_at"]
    return (
        insert_of(dialect, table)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["consumer_group", "event_id"])
        .returning(table.c.event_id)
    )


async def unclaim(session: AsyncSession, consumer_group: str, event_ids: Iterable[str]) -> None:
    """Take back claims made in this transaction for events that are not applied after all
    (refused by their chain, or dead-lettered while counted as passed): a copy sent again is
    then judged again, not skipped as a duplicate. Rare, so one plain statement."""
    ids = list(dict.fromkeys(event_ids))
    if not ids:
        return
    table = InboxRecord.__table__  # type: ignore[attr-defined]
    await session.exec(
        sa.delete(table).where(table.c.consumer_group == consumer_group, table.c.event_id.in_(ids))
    )
