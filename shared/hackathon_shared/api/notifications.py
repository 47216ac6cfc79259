"""Public API v1 models for notifications and webhooks."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from hackathon_shared.api.inputs import InputModel
from hackathon_shared.api.timestamps import UtcDateTime
from hackathon_shared.text import Verbatim, WebAddress


class NotificationView(BaseModel):
    notification_id: str
    kind: str
    subject: str
    body: str
    created_at: UtcDateTime
    read: bool


class MarkedRead(BaseModel):
    marked: int = Field(description="how many notifications were unread and are read now")


class NewWebhook(InputModel):
    """A receiver for a hackathon's events. The secret keys the HMAC-SHA256 signature of
    every delivery's body (``X-Signature: sha256=<hex>``); it is never shown again."""

    url: Annotated[str, WebAddress(min_length=8, max_length=2000)] = Field(
        examples=["https://example.org/hooks/hackathon"]
    )
    secret: Annotated[str, Verbatim(min_length=16, max_length=200)]


class DeliveryCounts(BaseModel):
    pending: int = 0
    sent: int = 0
    failed: int = 0


class WebhookView(BaseModel):
    webhook_id: str
    hackathon_id: str
    url: str
    created_at: UtcDateTime
    deliveries: DeliveryCounts = Field(default_factory=DeliveryCounts)


class WebhookDeliveryView(BaseModel):
    delivery_id: str
    event_type: str
    causing_event_id: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str | None
    created_at: UtcDateTime
    finished_at: UtcDateTime | None
