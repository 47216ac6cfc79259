"""Notification use cases: record what an event causes, and read one account's feed."""

from __future__ import annotations

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.db import Database
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.pagination import keyset_page
from notifications.adapters.tables import NotificationRow
from notifications.domain.rules import notifications_for


async def record_notifications(session: AsyncSession, event: Envelope) -> None:
    """Event handler: store the in-app notifications the event causes (in the consumer's
    transaction; the inbox makes a redelivery a no-op, the unique key backs it up)."""
    for draft in notifications_for(event):
        # Derived from the event, so that rebuilding from the log gives the same rows.
        key = f"{event.event_id}/{draft.account_id}/in_app"
        session.add(
            NotificationRow(
                notification_id=f"ntf_{uuid.uuid5(uuid.NAMESPACE_URL, key).hex}",
                account_id=draft.account_id,
                channel="in_app",
                kind=draft.kind,
                subject=draft.subject,
                body=draft.body,
                causing_event_id=str(event.event_id),
                created_at=event.occurred_at,
            )
        )


async def list_feed(
    db: Database, account_id: str, limit: int, cursor: str | None
) -> tuple[list[NotificationRow], str | None]:
    """One account's notifications, newest first, keyset-paginated."""
    query = select(NotificationRow).where(NotificationRow.account_id == account_id)
    async with db.sessions() as session:
        return await keyset_page(
            session,
            query,
            col(NotificationRow.created_at),
            col(NotificationRow.notification_id),
            limit,
            cursor,
            newest_first=True,
        )
