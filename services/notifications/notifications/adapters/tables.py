from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hackathon_shared.db import UtcDateTime


class NotificationRow(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("causing_event_id", "account_id", "channel", name="uq_notification"),
        sa.Index("ix_notifications_feed", "account_id", "created_at", "notification_id"),
    )

    notification_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64)
    channel: str = Field(default="in_app", max_length=20)
    kind: str = Field(max_length=50)
    subject: str = Field(max_length=300)
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    causing_event_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    read: bool = False
