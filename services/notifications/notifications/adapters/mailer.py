"""Sending e-mail through the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

import aiosmtplib

from notifications.settings import NotificationsSettings

UNFOLDED = policy.SMTP.clone(max_line_length=998)


class Mailer:
    def __init__(self, settings: NotificationsSettings) -> None:
        if not settings.smtp_host:
            raise ValueError("no SMTP server configured")
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.sender = settings.smtp_from
        self.starttls = settings.smtp_starttls
        self.timeout = settings.smtp_timeout_seconds

    async def send(self, *, to: str, subject: str, body: str, delivery_id: str) -> None:
        """Send one plain-text message; raises on any refusal or connection failure."""
        # Headers are not folded below RFC 5322's 998: Python folds a long subject with no
        # space early enough right after "Subject:", and readers then show it with a
        # leading space.
        message = EmailMessage(policy=UNFOLDED)
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        # The same for every attempt of one delivery, so that a mail system can drop a repeat.
        message["Message-ID"] = f"<{delivery_id}@hackathon.local>"
        message["X-Notification-Id"] = delivery_id
        message.set_content(body)
        await aiosmtplib.send(
            # Flattened here: given the message, aiosmtplib would flatten it with its own
            # policy, which folds at 78.
            message.as_bytes(),
            sender=parseaddr(self.sender)[1],
            recipients=[to],
            hostname=self.host,
            port=self.port,
            username=self.username,
            password=self.password,
            start_tls=self.starttls,
            use_tls=False,
            timeout=self.timeout,
        )
