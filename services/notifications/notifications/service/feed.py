"""Notification use cases: record what an event causes (in-app notifications, e-mails and
webhook deliveries to send), and read, mark and follow one account's feed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.notifications import NotificationView
from hackathon_shared.db import Database
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.pagination import keyset_page
from hackathon_shared.problems import ProblemError
from notifications.adapters.tables import DeliveryRow, NotificationRow, WebhookRow
from notifications.domain.rules import notifications_for, teams_concerned
from notifications.domain.templates import Names, account_ids_in, render
from notifications.service.view import (
    apply_to_view,
    erased_among,
    members_of,
    names_for,
)


def derived_id(prefix: str, *parts: str) -> str:
    """An id derived from what caused it, so that a redelivered event or a rebuild from the
    log gives the same rows (and the unique keys absorb a second attempt)."""
    return f"{prefix}_{uuid.uuid5(uuid.NAMESPACE_URL, '/'.join(parts)).hex}"


@dataclass(frozen=True)
class Recorder:
    """The consumer's handler: one call per event, inside the consumer's transaction (the
    inbox makes a redelivery a no-op)."""

    email_enabled: bool

    async def __call__(self, session: AsyncSession, event: Envelope) -> None:
        drafts = notifications_for(event, await members_of(session, teams_concerned(event)))
        erased = await erased_among(session, (d.account_id for d in drafts))
        drafts = [d for d in drafts if d.account_id not in erased]
        await apply_to_view(session, event)
        now = datetime.now(UTC)
        event_id = str(event.event_id)
        for draft in drafts:
            notification_id = derived_id("ntf", event_id, draft.account_id, "in_app")
            if await session.get(NotificationRow, notification_id) is not None:
                continue
            session.add(
                NotificationRow(
                    notification_id=notification_id,
                    account_id=draft.account_id,
                    channel="in_app",
                    kind=draft.kind,
                    context=draft.context,
                    causing_event_id=event_id,
                    created_at=event.occurred_at,
                    stored_at=now,
                )
            )
            if self.email_enabled:
                session.add(
                    DeliveryRow(
                        delivery_id=derived_id("ntf", event_id, draft.account_id, "email"),
                        channel="email",
                        kind=draft.kind,
                        causing_event_id=event_id,
                        account_id=draft.account_id,
                        notification_id=notification_id,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        await self._queue_webhooks(session, event, now)

    async def _queue_webhooks(self, session: AsyncSession, event: Envelope, now: datetime) -> None:
        hackathon_id = getattr(event.payload, "hackathon_id", None)
        if not isinstance(hackathon_id, str):
            return
        hooks = await session.exec(
            select(WebhookRow).where(WebhookRow.hackathon_id == hackathon_id)
        )
        event_id = str(event.event_id)
        for hook in hooks.all():
            delivery_id = derived_id("whd", event_id, hook.webhook_id)
            if await session.get(DeliveryRow, delivery_id) is not None:
                continue
            session.add(
                DeliveryRow(
                    delivery_id=delivery_id,
                    channel="webhook",
                    kind=event.type,
                    causing_event_id=event_id,
                    webhook_id=hook.webhook_id,
                    event_json=event.to_json(),
                    next_attempt_at=now,
                    created_at=now,
                )
            )


@dataclass(frozen=True)
class Mentioned:
    """The accounts, teams and hackathons whose names rendering some notifications needs."""

    accounts: set[str]
    teams: set[str]
    hackathons: set[str]


def mentioned_in(rows: Sequence[NotificationRow]) -> Mentioned:
    mentioned = Mentioned(set(), set(), set())
    for row in rows:
        mentioned.accounts.update(account_ids_in(row.context, row.account_id))
        if isinstance(row.context.get("team_id"), str):
            mentioned.teams.add(row.context["team_id"])
        if isinstance(row.context.get("hackathon_id"), str):
            mentioned.hackathons.add(row.context["hackathon_id"])
    return mentioned


def _view(row: NotificationRow, names: Names) -> NotificationView:
    text = render(row.kind, row.context, row.account_id, names)
    return NotificationView(
        notification_id=row.notification_id,
        kind=row.kind,
        subject=text.subject,
        body=text.body,
        created_at=row.created_at,
        read=row.read,
    )


async def render_rows(
    session: AsyncSession, rows: Sequence[NotificationRow]
) -> list[NotificationView]:
    """The public view of stored notifications, rendered with the names known now."""
    mentioned = mentioned_in(rows)
    names = await names_for(session, mentioned.accounts, mentioned.teams, mentioned.hackathons)
    return [_view(row, names) for row in rows]


async def render_for_mail(session: AsyncSession, row: NotificationRow) -> NotificationView:
    """The notification rendered with the names known now (the dispatcher has passed the
    barrier on the contact details first); a name not known, such as an erased person's,
    reads in the neutral wording."""
    mentioned = mentioned_in([row])
    names = await names_for(session, mentioned.accounts, mentioned.teams, mentioned.hackathons)
    return _view(row, names)


async def list_feed(
    db: Database, account_id: str, limit: int, cursor: str | None
) -> tuple[list[NotificationView], str | None]:
    """One account's notifications, newest first, keyset-paginated."""
    query = select(NotificationRow).where(NotificationRow.account_id == account_id)
    async with db.sessions() as session:
        rows, next_cursor = await keyset_page(
            session,
            query,
            col(NotificationRow.created_at),
            col(NotificationRow.notification_id),
            limit,
            cursor,
            newest_first=True,
        )
        return await render_rows(session, rows), next_cursor


async def mark_read(db: Database, account_id: str, notification_id: str) -> NotificationView:
    """Mark one of the caller's notifications as read (again: no change). Someone else's
    notification is answered like one that does not exist."""
    async with db.transaction() as session:
        row = await session.get(NotificationRow, notification_id)
        if row is None or row.account_id != account_id:
            raise ProblemError(404, "not-found", "no such notification of yours")
        if not row.read:
            row.read = True
            session.add(row)
        return (await render_rows(session, [row]))[0]


async def mark_all_read(db: Database, account_id: str) -> int:
    async with db.transaction() as session:
        rows = await session.exec(
            select(NotificationRow).where(
                NotificationRow.account_id == account_id, col(NotificationRow.read).is_(False)
            )
        )
        changed = 0
        for row in rows.all():
            row.read = True
            session.add(row)
            changed += 1
        return changed


class FeedFollower:
    """What one open stream has not sent yet. When the stream opens, what the account can
    already see counts as sent (or, for a client resuming after a notification it has, what
    was stored up to that one); from then on every notification not sent yet goes out. Rows
    are looked up by the time they were stored, with a look-back margin for transactions that
    commit late and for replicas' clocks, and told apart by id."""

    MARGIN_SECONDS = 10.0

    def __init__(self, db: Database, account_id: str) -> None:
        self.db = db
        self.account_id = account_id
        self.watermark = datetime.now(UTC)
        self.resumed_at: datetime | None = None
        self.sent: dict[str, datetime] = {}

    async def resume_after(self, notification_id: str) -> None:
        """Continue after a notification the client already has (its own only)."""
        async with self.db.sessions() as session:
            row = await session.get(NotificationRow, notification_id)
        if row is not None and row.account_id == self.account_id:
            self.resumed_at = self.watermark = row.stored_at
            self.sent[row.notification_id] = row.stored_at

    async def start(self) -> None:
        for row in await self._recent():
            if self.resumed_at is None or row.stored_at <= self.resumed_at:
                self.sent[row.notification_id] = row.stored_at

    async def _recent(self) -> list[NotificationRow]:
        horizon = self._horizon()
        async with self.db.sessions() as session:
            rows = await session.exec(
                select(NotificationRow)
                .where(
                    NotificationRow.account_id == self.account_id,
                    col(NotificationRow.stored_at) >= horizon,
                )
                .order_by(col(NotificationRow.stored_at), col(NotificationRow.notification_id))
            )
            return list(rows.all())

    def _horizon(self) -> datetime:
        return datetime.fromtimestamp(self.watermark.timestamp() - self.MARGIN_SECONDS, UTC)

    async def new_notifications(self) -> list[NotificationView]:
        fresh = [row for row in await self._recent() if row.notification_id not in self.sent]
        for row in fresh:
            self.sent[row.notification_id] = row.stored_at
            self.watermark = max(self.watermark, row.stored_at)
        async with self.db.sessions() as session:
            views = await render_rows(session, fresh) if fresh else []
        # Forget what is older than the look-back window: it cannot be selected again.
        horizon = self._horizon()
        self.sent = {k: v for k, v in self.sent.items() if v >= horizon}
        return views
