"""The notifications dispatcher's bookkeeping on a real database: a failed attempt is retried
later with backoff, the last one is recorded as failed with its event in the outbox, and an
outcome arriving after the claim's lease ran out (the delivery was claimed again) is not
counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from hackathon_shared.db import Database
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox
from hackathon_shared.topics import Topics
from notifications.adapters.tables import DeliveryRow
from notifications.adapters.webhook_client import WebhookClient
from notifications.app import MIGRATIONS
from notifications.service.delivery import Dispatcher
from notifications.settings import NotificationsSettings

SECRET = "a-test-secret-of-enough-length"


async def dispatcher_on(database_url: str, max_attempts: int = 3) -> tuple[Dispatcher, Database]:
    await upgrade_to_head(database_url, MIGRATIONS)
    db = Database(database_url)
    settings = NotificationsSettings(
        HACKATHON_JWT_SECRET=SECRET,
        delivery_max_attempts=max_attempts,
        delivery_backoff_seconds=30,
    )
    # No SMTP server configured: every e-mail attempt fails, which is what these tests need.
    outbox = Outbox(Topics("t."), "notifications")
    dispatcher = Dispatcher(db, outbox, settings, None, WebhookClient(1, False))
    now = datetime.now(UTC)
    async with db.transaction() as session:
        session.add(
            DeliveryRow(
                delivery_id="ntf_test",
                channel="email",
                kind="welcome",
                causing_event_id="evt_1",
                account_id="acc_1",
                notification_id="ntf_in_app",
                next_attempt_at=now - timedelta(seconds=1),
                created_at=now,
            )
        )
    return dispatcher, db


async def delivery(db: Database) -> DeliveryRow:
    async with db.sessions() as session:
        row = await session.get(DeliveryRow, "ntf_test")
    assert row is not None
    return row


async def test_a_failed_attempt_is_retried_later_and_the_last_is_reported(
    database_url: str,
) -> None:
    dispatcher, db = await dispatcher_on(database_url, max_attempts=2)
    try:
        assert await dispatcher.dispatch_due() == 1
        first = await delivery(db)
        assert (first.status, first.attempts) == ("pending", 1)
        assert first.last_error == "no SMTP server is configured"
        assert first.next_attempt_at > datetime.now(UTC) + timedelta(seconds=25)
        assert await dispatcher.dispatch_due() == 0  # not due yet

        async with db.transaction() as session:
            row = await session.get(DeliveryRow, "ntf_test")
            assert row is not None
            row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
            session.add(row)
        assert await dispatcher.dispatch_due() == 1
        last = await delivery(db)
        assert (last.status, last.attempts) == ("failed", 2)
        async with db.sessions() as session:
            events = (await session.exec(select(OutboxRecord))).all()
        assert [e.event_type for e in events] == ["NotificationFailed"]
        assert events[0].aggregate_id == "ntf_test"
    finally:
        await dispatcher.stop()
        await db.dispose()


async def test_an_outcome_after_the_lease_ran_out_is_not_counted(database_url: str) -> None:
    dispatcher, db = await dispatcher_on(database_url)
    try:
        [claim] = await dispatcher._claim()
        claimed = await delivery(db)
        assert claimed.next_attempt_at == claim.lease_until
        # The lease ran out and another replica claimed the delivery again.
        async with db.transaction() as session:
            row = await session.get(DeliveryRow, "ntf_test")
            assert row is not None
            row.next_attempt_at = datetime.now(UTC) + timedelta(minutes=5)
            session.add(row)
        await dispatcher._record(claim, "late outcome")
        after = await delivery(db)
        assert (after.attempts, after.last_error, after.status) == (0, None, "pending")
        assert await dispatcher._claim() == []  # held by the other claim's lease
    finally:
        await dispatcher.stop()
        await db.dispose()
