"""The notifications dispatcher's bookkeeping on a real database: a failed attempt is retried
later with backoff, the last one is recorded as failed with its event in the outbox, and an
outcome arriving after the claim's lease ran out (the delivery was claimed again) is not
counted; an e-mail waits a while for the names it mentions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from hackathon_shared.db import Database
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox
from hackathon_shared.topics import Topics
from notifications.adapters.mailer import Mailer
from notifications.adapters.tables import ContactRow, DeliveryRow, KnownTeam, NotificationRow
from notifications.adapters.webhook_client import WebhookClient
from notifications.app import MIGRATIONS
from notifications.service.delivery import Dispatcher
from notifications.settings import NotificationsSettings
from tests.mail_fixtures import SmtpServer
from tests.polling import wait_until

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


def contact(account_id: str, name: str) -> ContactRow:
    return ContactRow(
        account_id=account_id,
        email=f"{account_id}@example.org",
        display_name=name,
        updated_at=datetime.now(UTC),
    )


async def test_an_email_waits_for_the_names_it_mentions_for_a_while(
    database_url: str, smtp_server: SmtpServer
) -> None:
    """Names come on other topics than the event (contact details, teams): an e-mail whose
    text mentions someone not known yet waits, without counting an attempt, and goes out
    naming them once they are known, or with the neutral wording once the wait is over."""
    await upgrade_to_head(database_url, MIGRATIONS)
    db = Database(database_url)
    settings = NotificationsSettings(
        HACKATHON_JWT_SECRET=SECRET,
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        delivery_interval_seconds=0.1,
        email_names_wait_seconds=60,
    )
    dispatcher = Dispatcher(
        db,
        Outbox(Topics("t."), "notifications"),
        settings,
        Mailer(settings),
        WebhookClient(1, False),
    )
    now = datetime.now(UTC)
    recipient = f"acc_ada_{uuid.uuid4().hex[:12]}"  # the mailbox serves the whole session
    async with db.transaction() as session:
        session.add(contact(recipient, "Ada"))
        session.add(KnownTeam(team_id="team_otters", hackathon_id="hk_1", name="Otters"))
        for number, (joiner, queued) in enumerate(
            (("acc_bob", now), ("acc_never_named", now - timedelta(seconds=61)))
        ):
            session.add(
                NotificationRow(
                    notification_id=f"ntf_in_app_{number}",
                    account_id=recipient,
                    kind="team_member_joined",
                    context={"team_id": "team_otters", "member_id": joiner},
                    causing_event_id=f"evt_{number}",
                    created_at=queued,
                    stored_at=queued,
                )
            )
            session.add(
                DeliveryRow(
                    delivery_id=f"ntf_mail_{number}",
                    channel="email",
                    kind="team_member_joined",
                    causing_event_id=f"evt_{number}",
                    account_id=recipient,
                    notification_id=f"ntf_in_app_{number}",
                    next_attempt_at=queued,
                    created_at=queued,
                )
            )
    try:
        # Bob's name is not known: his mail waits. The other one has waited long enough.
        assert await dispatcher.dispatch_due() == 1
        [neutral] = smtp_server.mailbox.to(f"{recipient}@example.org")
        assert neutral["Subject"].lower() == "a participant joined otters"
        async with db.sessions() as session:
            waiting = await session.get(DeliveryRow, "ntf_mail_0")
        assert waiting is not None
        assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 0, None)

        async with db.transaction() as session:
            session.add(contact("acc_bob", "Bob"))
        await wait_until(dispatcher.dispatch_due, timeout=10, interval=0.1)
        mails = smtp_server.mailbox.to(f"{recipient}@example.org")
        assert sorted(m["Subject"] for m in mails) == sorted(
            ["Bob joined Otters", neutral["Subject"]]
        )
        async with db.sessions() as session:
            sent = await session.get(DeliveryRow, "ntf_mail_0")
        assert sent is not None and (sent.status, sent.attempts) == ("sent", 1)
    finally:
        await dispatcher.stop()
        await db.dispose()
