"""Webhook use cases: an organizer registers a receiver for a hackathon's events and reads
how its deliveries went."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, delete, select

from hackathon_shared.api.notifications import (
    DeliveryCounts,
    NewWebhook,
    WebhookDeliveryView,
    WebhookView,
)
from hackathon_shared.auth import Principal
from hackathon_shared.db import Database
from hackathon_shared.keyset import keyset_page
from hackathon_shared.problems import ProblemError, invalid_field
from notifications.adapters.tables import DeliveryRow, KnownHackathon, WebhookRow
from notifications.adapters.webhook_client import check_destination
from notifications.domain.webhooks import UnsafeWebhookUrl


async def register_webhook(
    db: Database,
    hackathon_id: str,
    new: NewWebhook,
    organizer: Principal,
    allow_private: bool,
    max_per_hackathon: int,
) -> WebhookView:
    try:
        await check_destination(new.url, allow_private)
    except UnsafeWebhookUrl as error:
        raise invalid_field("url", str(error)) from None
    row = WebhookRow(
        webhook_id=f"whk_{uuid.uuid4().hex}",
        hackathon_id=hackathon_id,
        url=new.url,
        secret=new.secret,
        created_by=organizer.account_id,
        created_at=datetime.now(UTC),
    )
    async with db.transaction() as session:
        # Locks the hackathon's row, so that two registrations cannot both pass the cap.
        if await session.get(KnownHackathon, hackathon_id, with_for_update=True) is None:
            raise ProblemError(404, "hackathon-not-found", f"no hackathon {hackathon_id}")
        existing = await session.exec(
            select(func.count()).where(WebhookRow.hackathon_id == hackathon_id)
        )
        if existing.one() >= max_per_hackathon:
            raise ProblemError(
                409,
                "too-many-webhooks",
                f"a hackathon has at most {max_per_hackathon} webhooks; delete one first",
            )
        session.add(row)
    return WebhookView(
        webhook_id=row.webhook_id,
        hackathon_id=row.hackathon_id,
        url=row.url,
        created_at=row.created_at,
    )


async def list_webhooks(db: Database, hackathon_id: str) -> list[WebhookView]:
    async with db.sessions() as session:
        hooks = (
            await session.exec(
                select(WebhookRow)
                .where(WebhookRow.hackathon_id == hackathon_id)
                .order_by(col(WebhookRow.created_at), col(WebhookRow.webhook_id))
            )
        ).all()
        counts: dict[str, DeliveryCounts] = {h.webhook_id: DeliveryCounts() for h in hooks}
        if hooks:
            tallies = await session.exec(
                select(DeliveryRow.webhook_id, DeliveryRow.status, func.count())
                .where(col(DeliveryRow.webhook_id).in_(list(counts)))
                .group_by(col(DeliveryRow.webhook_id), col(DeliveryRow.status))
            )
            for webhook_id, status, number in tallies.all():
                if webhook_id is not None:
                    setattr(counts[webhook_id], status, number)
    return [
        WebhookView(
            webhook_id=h.webhook_id,
            hackathon_id=h.hackathon_id,
            url=h.url,
            created_at=h.created_at,
            deliveries=counts[h.webhook_id],
        )
        for h in hooks
    ]


async def list_deliveries(
    db: Database, hackathon_id: str, webhook_id: str, limit: int, cursor: str | None
) -> tuple[list[WebhookDeliveryView], str | None]:
    async with db.sessions() as session:
        hook = await session.get(WebhookRow, webhook_id)
        if hook is None or hook.hackathon_id != hackathon_id:
            raise ProblemError(404, "not-found", "no such webhook of this hackathon")
        rows, next_cursor = await keyset_page(
            session,
            select(DeliveryRow).where(DeliveryRow.webhook_id == webhook_id),
            col(DeliveryRow.created_at),
            col(DeliveryRow.delivery_id),
            limit,
            cursor,
            newest_first=True,
        )
    views = [
        WebhookDeliveryView(
            delivery_id=row.delivery_id,
            event_type=row.kind,
            causing_event_id=row.causing_event_id,
            status=row.status,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            finished_at=row.finished_at,
        )
        for row in rows
    ]
    return views, next_cursor


async def delete_webhook(db: Database, hackathon_id: str, webhook_id: str) -> None:
    """Stop a webhook: it is removed with its deliveries not made yet; those already sent or
    failed stay on record (with their outcome events)."""
    async with db.transaction() as session:
        hook = await session.get(WebhookRow, webhook_id)
        if hook is None or hook.hackathon_id != hackathon_id:
            raise ProblemError(404, "not-found", "no such webhook of this hackathon")
        await session.exec(
            delete(DeliveryRow).where(
                col(DeliveryRow.webhook_id) == webhook_id, col(DeliveryRow.status) == "pending"
            )
        )
        await session.delete(hook)
