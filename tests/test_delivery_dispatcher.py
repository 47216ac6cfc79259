"""The notifications dispatcher's bookkeeping on a real database: a failed attempt is retried
later with backoff, the last one is recorded as failed with its event in the outbox, and an
outcome arriving after the claim's lease ran out (the delivery was claimed again) is not
counted. Before it renders due e-mails, the dispatcher awaits ``names_caught_up`` (in the
service, the barrier that brings its copy of the contact details up to the log's end): a
mail names whoever that brought in, goes out at once with the neutral wording for a name
still unknown, and nothing is claimed in a round whose barrier failed."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from hackathon_shared.barrier import catching_up
from hackathon_shared.db import Database
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError
from hackathon_shared.topics import Topics
from notifications.adapters.mailer import Mailer
from notifications.adapters.tables import ContactRow, DeliveryRow, KnownTeam, NotificationRow
from notifications.adapters.webhook_client import WebhookClient
from notifications.app import MIGRATIONS
from notifications.service.delivery import Dispatcher
from notifications.settings import NotificationsSettings
from tests.mail_fixtures import SmtpServer

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


NamesCaughtUp = Callable[[], Awaitable[None]]


class JoinMail:
    """An e-mail due to ``recipient`` (Ada, whose contact details are known): Bob
    (``acc_bob``, whose details are not in the store yet) joined Otters."""

    def __init__(self, database_url: str, smtp_server: SmtpServer) -> None:
        self.database_url = database_url
        self.smtp_server = smtp_server
        self.recipient = f"acc_ada_{uuid.uuid4().hex[:12]}"  # the mailbox serves the session
        self.db = Database(database_url)

    async def dispatcher(self, names_caught_up: NamesCaughtUp) -> Dispatcher:
        settings = NotificationsSettings(
            HACKATHON_JWT_SECRET=SECRET,
            smtp_host=self.smtp_server.host,
            smtp_port=self.smtp_server.port,
        )
        return Dispatcher(
            self.db,
            Outbox(Topics("t."), "notifications"),
            settings,
            Mailer(settings),
            WebhookClient(1, False),
            names_caught_up=names_caught_up,
        )

    async def queue(self) -> None:
        await upgrade_to_head(self.database_url, MIGRATIONS)
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            session.add(contact(self.recipient, "Ada"))
            session.add(KnownTeam(team_id="team_otters", hackathon_id="hk_1", name="Otters"))
            session.add(
                NotificationRow(
                    notification_id="ntf_in_app_joined",
                    account_id=self.recipient,
                    kind="team_member_joined",
                    context={"team_id": "team_otters", "member_id": "acc_bob"},
                    causing_event_id="evt_joined",
                    created_at=now,
                    stored_at=now,
                )
            )
            session.add(
                DeliveryRow(
                    delivery_id="ntf_mail_joined",
                    channel="email",
                    kind="team_member_joined",
                    causing_event_id="evt_joined",
                    account_id=self.recipient,
                    notification_id="ntf_in_app_joined",
                    next_attempt_at=now - timedelta(seconds=1),
                    created_at=now,
                )
            )

    def mails(self) -> list[str]:
        return [m["Subject"] for m in self.smtp_server.mailbox.to(f"{self.recipient}@example.org")]

    async def delivery(self) -> DeliveryRow:
        async with self.db.sessions() as session:
            row = await session.get(DeliveryRow, "ntf_mail_joined")
        assert row is not None
        return row


async def test_an_email_names_whoever_the_barrier_on_the_contacts_brought_in(
    database_url: str, smtp_server: SmtpServer
) -> None:
    mail = JoinMail(database_url, smtp_server)
    await mail.queue()
    calls: list[str] = []

    async def contacts_caught_up() -> None:
        # As the barrier does: the contact details already in the log are applied now.
        calls.append("caught up")
        async with mail.db.transaction() as session:
            session.add(contact("acc_bob", "Bob"))

    dispatcher = await mail.dispatcher(contacts_caught_up)
    try:
        assert await dispatcher.dispatch_due() == 1
        assert calls == ["caught up"]
        assert mail.mails() == ["Bob joined Otters"]
        sent = await mail.delivery()
        assert (sent.status, sent.attempts) == ("sent", 1)
        # Nothing due any more: the barrier is not passed for nothing.
        assert await dispatcher.dispatch_due() == 0
        assert calls == ["caught up"]
    finally:
        await dispatcher.stop()
        await mail.db.dispose()


async def test_an_email_whose_names_are_unknown_goes_out_at_once_in_neutral_words(
    database_url: str, smtp_server: SmtpServer
) -> None:
    mail = JoinMail(database_url, smtp_server)
    await mail.queue()
    calls: list[str] = []

    async def nothing_new() -> None:
        calls.append("caught up")  # the log holds no contact details for Bob

    dispatcher = await mail.dispatcher(nothing_new)
    try:
        # The first round sends it: no waiting round for a name that is not coming.
        assert await dispatcher.dispatch_due() == 1
        assert calls == ["caught up"]
        assert [s.lower() for s in mail.mails()] == ["a participant joined otters"]
        sent = await mail.delivery()
        assert (sent.status, sent.attempts, sent.last_error) == ("sent", 1, None)
    finally:
        await dispatcher.stop()
        await mail.db.dispose()


async def test_a_round_whose_barrier_fails_claims_and_attempts_nothing(
    database_url: str, smtp_server: SmtpServer
) -> None:
    mail = JoinMail(database_url, smtp_server)
    await mail.queue()
    before = await mail.delivery()
    behind = [True]

    async def contacts_caught_up() -> None:
        if behind[0]:
            raise catching_up("this service is still applying other services' events")
        async with mail.db.transaction() as session:
            session.add(contact("acc_bob", "Bob"))

    dispatcher = await mail.dispatcher(contacts_caught_up)
    try:
        with pytest.raises(ProblemError) as caught:
            await dispatcher.dispatch_due()
        assert (caught.value.status, caught.value.kind) == (503, "catching-up")
        # Not claimed (no lease taken), not attempted, not counted.
        after = await mail.delivery()
        assert (after.status, after.attempts, after.last_error) == ("pending", 0, None)
        assert after.next_attempt_at == before.next_attempt_at
        assert mail.mails() == []

        # The next round, once the barrier passes, sends it naming Bob.
        behind[0] = False
        assert await dispatcher.dispatch_due() == 1
        assert mail.mails() == ["Bob joined Otters"]
        sent = await mail.delivery()
        assert (sent.status, sent.attempts) == ("sent", 1)
    finally:
        await dispatcher.stop()
        await mail.db.dispose()
