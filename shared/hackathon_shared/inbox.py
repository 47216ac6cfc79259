"""Inbox of processed event ids: written in the handler's own transaction, so an event
delivered again (after a crash, a rebalance or a relay re-publish) changes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.messaging_tables import InboxRecord


async def already_processed(
    session: AsyncSession, consumer_group: str, event_ids: Iterable[str]
) -> set[str]:
    """Which of these events this consumer group has already applied."""
    ids = list(set(event_ids))
    if not ids:
        return set()
    rows = await session.exec(
        select(InboxRecord.event_id).where(
            InboxRecord.consumer_group == consumer_group, col(InboxRecord.event_id).in_(ids)
        )
    )
    return set(rows.all())


def record_processed(session: AsyncSession, event_id: str, consumer_group: str, topic: str) -> None:
    session.add(
        InboxRecord(
            event_id=event_id,
            consumer_group=consumer_group,
            topic=topic,
            processed_at=datetime.now(UTC),
        )
    )
