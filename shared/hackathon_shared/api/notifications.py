"""Public API v1 models for notifications."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class NotificationView(BaseModel):
    notification_id: str
    kind: str
    subject: str
    body: str
    created_at: datetime
    read: bool
