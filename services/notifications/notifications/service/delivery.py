"""Sending the queued e-mails and webhook POSTs, with retries and exponential backoff.

A dispatcher runs in every replica. It claims due deliveries in a short transaction (on
PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so two replicas never claim the same row) by
pushing their next attempt a lease ahead, sends them outside any transaction, then records
each outcome in a transaction of its own together with the ``NotificationSent`` or
``NotificationFailed`` event (transactional outbox). A replica that dies between claim and
record leaves the row to be taken again when the lease runs out: at-least-once delivery,
which receivers absorb by the delivery id (``X-Webhook-Delivery``, ``Message-ID``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import aiosmtplib
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    NotificationFailed,
    NotificationFailedPayload,
    NotificationSent,
    NotificationSentPayload,
)
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.outbox import Outbox
from notifications.adapters.mailer import Mailer
from notifications.adapters.tables import ContactRow, DeliveryRow, NotificationRow, WebhookRow
from notifications.adapters.webhook_client import WebhookClient, WebhookRefused
from notifications.domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_TYPE_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    UnsafeWebhookUrl,
    sign,
)
from notifications.service.feed import render_for_mail
from notifications.settings import NotificationsSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    """A claimed delivery with what sending it needs, read in the claiming transaction."""

    delivery_id: str
    channel: str
    kind: str
    causing_event_id: str
    account_id: str | None
    attempts: int
    problem: str | None = None  # found while claiming: the attempt fails with it
    # The lease this claim set: the claim's token. A row whose lease differs was claimed again
    # (this one ran out), and its outcome is then the new claimant's to record.
    lease_until: datetime | None = None
    # e-mail
    to: str | None = None
    subject: str | None = None
    body: str | None = None
    # webhook
    url: str | None = None
    secret: str | None = None
    hackathon_id: str | None = None
    webhook_id: str | None = None
    event_json: str | None = None


def describe(error: BaseException) -> str:
    """A failure, for the delivery record and the NotificationFailed event: without the
    server's own text, which may quote the recipient's address."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return f"SMTP server answered {error.code}"
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
        codes = sorted({refusal.code for refusal in error.recipients})
        return f"SMTP server answered {', '.join(map(str, codes))}"
    if isinstance(error, WebhookRefused | UnsafeWebhookUrl | LookupError):
        return str(error)[:300]
    return error.__class__.__name__


def webhook_body(claim: Claimed, sent_at: str) -> bytes:
    """The JSON POSTed to a webhook: the delivery's ids, the signed time, and the event
    exactly as published (its own hash still verifies)."""
    head = json.dumps(
        {
            "delivery_id": claim.delivery_id,
            "webhook_id": claim.webhook_id,
            "hackathon_id": claim.hackathon_id,
            "sent_at": sent_at,
        },
        separators=(",", ":"),
    )
    return f'{head[:-1]},"event":{claim.event_json}}}'.encode()


class Dispatcher:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        settings: NotificationsSettings,
        mailer: Mailer | None,
        webhooks: WebhookClient,
        names_caught_up: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.db = db
        # Before e-mails are rendered: the barrier on the contact details (names come on
        # their own topic), so a mail names everyone whose details were in the log by then.
        self.names_caught_up = names_caught_up
        self.outbox = outbox
        self.settings = settings
        self.mailer = mailer
        self.webhooks = webhooks
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifications-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.webhooks.close()

    async def _run(self) -> None:
        while True:
            try:
                handled = await self.dispatch_due()
            except Exception:
                log.exception("dispatching deliveries failed; trying again")
                handled = 0
            if handled < self.settings.delivery_batch_size:
                await asyncio.sleep(self.settings.delivery_interval_seconds)

    async def dispatch_due(self) -> int:
        """Send what is due now; returns how many deliveries were attempted."""
        if self.names_caught_up is not None and await self._emails_due():
            await self.names_caught_up()
        claims = await self._claim()
        if not claims:
            return 0
        await asyncio.gather(*(self._attempt_and_record(claim) for claim in claims))
        return len(claims)

    async def _attempt_and_record(self, claim: Claimed) -> None:
        """One attempt, bounded in total (a receiver that trickles its answer cannot hold the
        round, nor outlive the claim's lease), and its outcome recorded at once."""
        deadline = self.deadline_for(claim)
        try:
            async with asyncio.timeout(deadline):
                error = await self._attempt(claim)
        except TimeoutError:
            error = f"no answer within {deadline:g} s"
        await self._record(claim, error)

    def deadline_for(self, claim: Claimed) -> float:
        """Twice the channel's own timeout (connecting, then answering), and never more than
        half the lease, so that no other replica takes the delivery while it is under way."""
        if claim.channel == "email":
            timeout = self.settings.smtp_timeout_seconds
        else:
            timeout = self.settings.webhook_timeout_seconds
        return min(2 * timeout, self.settings.delivery_lease_seconds / 2)

    async def _emails_due(self) -> bool:
        async with self.db.sessions() as session:
            found = await session.exec(
                select(DeliveryRow.delivery_id)
                .where(
                    DeliveryRow.status == "pending",
                    DeliveryRow.channel == "email",
                    DeliveryRow.next_attempt_at <= datetime.now(UTC),
                )
                .limit(1)
            )
            return found.first() is not None

    async def _claim(self) -> list[Claimed]:
        now = datetime.now(UTC)
        lease = timedelta(seconds=self.settings.delivery_lease_seconds)
        async with self.db.transaction() as session:
            rows = (
                await session.exec(
                    select(DeliveryRow)
                    .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
                    .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.delivery_id))
                    .limit(self.settings.delivery_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            claims: list[Claimed] = []
            for row in rows:
                row.next_attempt_at = now + lease
                lease_until = row.next_attempt_at
                session.add(row)
                base = Claimed(
                    delivery_id=row.delivery_id,
                    channel=row.channel,
                    kind=row.kind,
                    causing_event_id=row.causing_event_id,
                    account_id=row.account_id,
                    attempts=row.attempts,
                    lease_until=lease_until,
                )
                if row.channel == "email":
                    contact = await session.get(ContactRow, row.account_id or "")
                    notification = await session.get(NotificationRow, row.notification_id or "")
                    if contact is None or notification is None:
                        claims.append(base)
                        continue
                    try:
                        text = await render_for_mail(session, notification)
                    except Exception as error:  # one bad row must not stop the others
                        log.exception("rendering delivery %s failed", row.delivery_id)
                        claims.append(replace(base, problem=f"rendering failed: {error!r}"[:300]))
                        continue
                    claims.append(
                        replace(base, to=contact.email, subject=text.subject, body=text.body)
                    )
                else:
                    hook = await session.get(WebhookRow, row.webhook_id or "")
                    claims.append(
                        replace(
                            base,
                            url=hook.url if hook else None,
                            secret=hook.secret if hook else None,
                            hackathon_id=hook.hackathon_id if hook else None,
                            webhook_id=row.webhook_id,
                            event_json=row.event_json,
                        )
                    )
            return claims

    async def _attempt(self, claim: Claimed) -> str | None:
        """Send once; the failure's description, or None when it went out."""
        try:
            if claim.problem is not None:
                raise LookupError(claim.problem)
            if claim.channel == "email":
                if self.mailer is None:
                    raise LookupError("no SMTP server is configured")
                if claim.to is None or claim.subject is None or claim.body is None:
                    raise LookupError("the recipient's contact details are not known (yet)")
                await self.mailer.send(
                    to=claim.to,
                    subject=claim.subject,
                    body=claim.body,
                    delivery_id=claim.delivery_id,
                )
            else:
                if claim.url is None or claim.secret is None or claim.event_json is None:
                    raise LookupError("the webhook no longer exists")
                sent_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                body = webhook_body(claim, sent_at)
                await self.webhooks.post(
                    claim.url,
                    body,
                    {
                        SIGNATURE_HEADER: sign(claim.secret, body),
                        TIMESTAMP_HEADER: sent_at,
                        DELIVERY_HEADER: claim.delivery_id,
                        EVENT_TYPE_HEADER: claim.kind,
                    },
                )
        except Exception as error:
            log.warning(
                "%s delivery %s failed (attempt %d): %s",
                claim.channel,
                claim.delivery_id,
                claim.attempts + 1,
                describe(error),
            )
            return describe(error)
        return None

    async def _record(self, claim: Claimed, error: str | None) -> None:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            row = await session.get(DeliveryRow, claim.delivery_id)
            if row is None or row.status != "pending" or row.next_attempt_at != claim.lease_until:
                return  # erased meanwhile, or claimed again after this claim's lease ran out
            row.attempts += 1
            row.last_error = error
            if error is None or row.attempts >= self.settings.delivery_max_attempts:
                row.status, row.finished_at = ("sent" if error is None else "failed"), now
                await self._announce(session, row, error)
            else:
                delay = self.settings.delivery_backoff_seconds * 2 ** (row.attempts - 1)
                row.next_attempt_at = now + timedelta(seconds=delay)
            session.add(row)

    async def _announce(self, session: AsyncSession, row: DeliveryRow, error: str | None) -> None:
        """The delivery's outcome as an event, in the transaction that records it."""
        outcome = {
            "notification_id": row.delivery_id,
            "channel": row.channel,
            "recipient_account_id": row.account_id,
            "causing_event_id": row.causing_event_id,
            "kind": row.kind,
        }
        event_class: type[Envelope] = NotificationSent if error is None else NotificationFailed
        payload: BaseModel = (
            NotificationSentPayload(**outcome)
            if error is None
            else NotificationFailedPayload(**outcome, error=error)
        )
        await self.outbox.append(
            session,
            event_class,
            payload,
            aggregate_id=row.delivery_id,
            causation_id=row.causing_event_id,
        )
