from __future__ import annotations

from pydantic import Field

from hackathon_shared.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    """The notifications service's own settings on top of every service's. Without
    ``SMTP_HOST`` notifications are in-app only."""

    service_name: str = "notifications"

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "Hackathon platform <no-reply@hackathon.local>"
    # Upgrade the connection with STARTTLS (the server must offer it); off for a local
    # mail catcher.
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0

    # Outgoing deliveries (e-mail and webhooks): attempts before giving up, and the first
    # retry's delay, doubled after each failure.
    delivery_max_attempts: int = Field(default=6, ge=1)
    delivery_backoff_seconds: float = Field(default=2.0, gt=0)
    delivery_interval_seconds: float = Field(default=0.5, gt=0)
    delivery_batch_size: int = Field(default=50, ge=1)
    # A claimed delivery that no outcome was recorded for (the replica died) is taken again
    # after this long.
    delivery_lease_seconds: float = Field(default=60.0, gt=0)

    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # Webhook URLs resolving to private, loopback, link-local or reserved addresses are
    # refused unless this is on (tests and closed networks).
    webhook_allow_private_addresses: bool = False
    webhook_max_per_hackathon: int = Field(default=10, ge=1)

    # How often an open notification stream looks for new notifications, and how many
    # streams one account may hold open on one replica.
    stream_poll_seconds: float = Field(default=0.5, gt=0)
    stream_max_per_account: int = Field(default=5, ge=1)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host)
