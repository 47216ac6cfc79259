"""The e-mail a person receives, through a real SMTP exchange with a receiver on 127.0.0.1:
its subject arrives exactly as the notification's, however long (a tied team's results
subject is), with no leading space from header folding."""

from __future__ import annotations

from pathlib import Path

from notifications.adapters.mailer import Mailer
from notifications.settings import NotificationsSettings
from tests.mail_fixtures import SmtpServer


async def test_a_long_subject_arrives_as_it_was_written(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    settings = NotificationsSettings(
        HACKATHON_DATA_DIR=str(tmp_path),
        SMTP_HOST=smtp_server.host,
        SMTP_PORT=smtp_server.port,
    )
    subject = "Results of Civic Hack Bishkek 2026: your team ranked 1 of 4 (tied with 1 other)"
    assert len("Subject: " + subject) > 78  # where a default policy folds
    await Mailer(settings).send(
        to="aigerim@example.org", subject=subject, body="Well done.", delivery_id="dlv_long"
    )
    [received] = smtp_server.mailbox.to("aigerim@example.org")
    assert received["Subject"] == subject
    assert received["Message-ID"] == "<dlv_long@hackathon.local>"
    assert received.get_content().strip() == "Well done."
