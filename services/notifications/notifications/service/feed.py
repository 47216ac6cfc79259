"""Notification use cases: record what an event causes (in-app notifications, e-mails and
webhook deliveries to send), and read, mark and follow one account's feed."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.notifications import NotificationView
from hackathon_shared.batch import Batch, batch_of, insert_new, rows_with_keys
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import AccountErased
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.keyset import keyset_page
from hackathon_shared.problems import ProblemError
from notifications.adapters.tables import DeliveryRow, NotificationRow, WebhookRow
from notifications.domain.rules import notifications_for, teams_concerned
from notifications.domain.templates import Names, account_ids_in, render
from notifications.service.view import TeamView, names_for

_NAMESPACE = uuid.NAMESPACE_URL.bytes


def derived_id(prefix: str, *parts: str) -> str:
    """An id derived from what caused it, so that a redelivered event or a rebuild from the
    log gives the same rows (and the unique keys absorb a second attempt): the name-based
    UUID (version 5, URL namespace) of the parts, as ``uuid.uuid5`` makes it, without the
    ``UUID`` object."""
    digest = bytearray(hashlib.sha1(_NAMESPACE + "/".join(parts).encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return f"{prefix}_{digest.hex()}"


@dataclass(frozen=True)
class Recorder:
    """The consumer's handler: one call per event, inside the consumer's transaction (the
    inbox makes a redelivery a no-op). The events of one batch are recorded together
    (:class:`FeedBatch`)."""

    email_enabled: bool

    async def __call__(self, session: AsyncSession, event: Envelope) -> None:
        async with batch_of(session, event) as batch:
            feed = await batch.prepared(
                self, lambda: FeedBatch.start(session, batch, self.email_enabled)
            )
            await feed.record(event)


def _hackathon_of(event: Envelope) -> str | None:
    hackathon_id = getattr(event.payload, "hackathon_id", None)
    return hackathon_id if isinstance(hackathon_id, str) else None


class FeedBatch:
    """What a batch of events causes: the team view and the webhooks it needs, read once,
    and the notifications and deliveries it makes, written together when the batch ends
    (the unique keys absorb a row written before, as the derived ids are the same)."""

    def __init__(
        self,
        session: AsyncSession,
        view: TeamView,
        hooks: dict[str, list[WebhookRow]],
        email_enabled: bool,
    ) -> None:
        self.session = session
        self.view = view
        self.hooks = hooks
        self.email_enabled = email_enabled
        self.notifications: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, session: AsyncSession, batch: Batch, email_enabled: bool) -> FeedBatch:
        events: Sequence[Envelope] = batch.items
        teams = {team for event in events for team in teams_concerned(event)}
        view = await TeamView.load(session, events, teams)
        hackathons = {h for h in map(_hackathon_of, events) if h is not None}
        hooks: dict[str, list[WebhookRow]] = {}
        found = await rows_with_keys(
            session, WebhookRow, ["hackathon_id"], [(h,) for h in sorted(hackathons)]
        )
        for hook in found:
            hooks.setdefault(hook.hackathon_id, []).append(hook)
        feed = cls(session, view, hooks, email_enabled)
        batch.at_end(feed.write)
        return feed

    async def record(self, event: Envelope) -> None:
        """What one event causes, in the batch's order: its notifications go to the members
        as the view holds them before the event is applied to it."""
        members = await self.view.members_of(teams_concerned(event))
        drafts = [
            d for d in notifications_for(event, members) if d.account_id not in self.view.erased
        ]
        if isinstance(event, AccountErased):
            await self.write(self.session)  # what the batch made so far, for the erasure
        await self.view.apply(event)
        now = datetime.now(UTC)
        event_id = str(event.event_id)
        for draft in drafts:
            notification_id = derived_id("ntf", event_id, draft.account_id, "in_app")
            self.notifications.append(
                {
                    "notification_id": notification_id,
                    "account_id": draft.account_id,
                    "channel": "in_app",
                    "kind": draft.kind,
                    "context": draft.context,
                    "causing_event_id": event_id,
                    "created_at": event.occurred_at,
                    "stored_at": now,
                    "read": False,
                }
            )
            if self.email_enabled:
                self.deliveries.append(
                    _delivery(
                        derived_id("ntf", event_id, draft.account_id, "email"),
                        "email",
                        draft.kind,
                        event_id,
                        now,
                        account_id=draft.account_id,
                        notification_id=notification_id,
                    )
                )
        hackathon_id = _hackathon_of(event)
        for hook in self.hooks.get(hackathon_id or "", ()):
            self.deliveries.append(
                _delivery(
                    derived_id("whd", event_id, hook.webhook_id),
                    "webhook",
                    event.type,
                    event_id,
                    now,
                    webhook_id=hook.webhook_id,
                    event_json=event.to_json(),
                )
            )

    async def write(self, session: AsyncSession) -> None:
        """Write the rows made so far (the view's other changes go with the session's
        flush)."""
        await self.view.write()
        await insert_new(session, NotificationRow.__table__, self.notifications)  # type: ignore[attr-defined]
        await insert_new(session, DeliveryRow.__table__, self.deliveries)  # type: ignore[attr-defined]
        self.notifications, self.deliveries = [], []


def _delivery(
    delivery_id: str,
    channel: str,
    kind: str,
    causing_event_id: str,
    now: datetime,
    *,
    account_id: str | None = None,
    notification_id: str | None = None,
    webhook_id: str | None = None,
    event_json: str | None = None,
) -> dict[str, Any]:
    """A pending delivery, due now, as a row of ``deliveries``."""
    return {
        "delivery_id": delivery_id,
        "channel": channel,
        "kind": kind,
        "causing_event_id": causing_event_id,
        "account_id": account_id,
        "notification_id": notification_id,
        "webhook_id": webhook_id,
        "event_json": event_json,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
        "created_at": now,
        "finished_at": None,
    }


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
