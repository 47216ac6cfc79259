"""Public API v1 models for notifications."""

from __future__ import annotations

from pydantic import BaseModel

from hackathon_shared.api.timestamps import UtcDateTime


class NotificationView(BaseModel):
    notification_id: str
    kind: str
    subject: str
    body: str
    created_at: UtcDateTime
    read: bool
