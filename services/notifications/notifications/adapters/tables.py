"""The notifications service's tables: the in-app notifications, the outgoing deliveries
(e-mail and webhooks), the registered webhooks, and its own copy of the facts it needs from
registration (contact details, hackathon and team names, team members)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from hackathon_shared.db import UtcDateTime


class NotificationsTable(SQLModel, registry=registry()):
    """Base of the notifications service's tables, with metadata of their own: one process may load
    several services' tables (the audit's rebuild, the tests), and services may name their
    own tables alike (each service's copy of ``known_teams``, say)."""


class NotificationRow(NotificationsTable, table=True):
    """One in-app notification. ``context`` holds ids and values (never names or addresses);
    the subject and body are rendered from the templates when read, so that erasing an
    account's contact details removes its name from every notification."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("causing_event_id", "account_id", "channel", name="uq_notification"),
        sa.Index("ix_notifications_feed", "account_id", "created_at", "notification_id"),
        sa.Index("ix_notifications_stored", "account_id", "stored_at"),
    )

    notification_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64)
    channel: str = Field(default="in_app", max_length=20)
    kind: str = Field(max_length=50)
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False)
    )
    causing_event_id: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    # When this service stored it: what a live stream follows (created_at is the event's time,
    # and events of different topics arrive out of that order).
    stored_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    read: bool = False


class DeliveryRow(NotificationsTable, table=True):
    """One outgoing e-mail or webhook POST, retried until sent or given up."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.Index("ix_deliveries_due", "status", "next_attempt_at"),)

    delivery_id: str = Field(primary_key=True, max_length=64)
    channel: str = Field(max_length=20)  # "email" or "webhook"
    kind: str = Field(max_length=50)
    causing_event_id: str = Field(max_length=64)
    # e-mail: the recipient account and the in-app notification whose text it sends
    account_id: str | None = Field(default=None, max_length=64, index=True)
    notification_id: str | None = Field(default=None, max_length=64)
    # webhook: the hook and the event's JSON as published
    webhook_id: str | None = Field(default=None, max_length=64, index=True)
    event_json: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status: str = Field(default="pending", max_length=20)  # pending, sent, failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=sa.Column(UtcDateTime()))


class WebhookRow(NotificationsTable, table=True):
    __tablename__ = "webhooks"

    webhook_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, index=True)
    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class ContactRow(NotificationsTable, table=True):
    """The latest contact details from ``registration.contacts``, for delivery only."""

    __tablename__ = "contacts"

    account_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(max_length=320)
    display_name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class KnownHackathon(NotificationsTable, table=True):
    __tablename__ = "known_hackathons"

    hackathon_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


class KnownTeam(NotificationsTable, table=True):
    __tablename__ = "known_teams"

    team_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, index=True)
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    withdrawn: bool = False
    # No longer written (the team's position now comes from the events' `seen`, and the
    # consumer's applied sequences); kept as the column migration 0005 added.
    sequence: int = 0


class TeamMember(NotificationsTable, table=True):
    __tablename__ = "team_members"

    team_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)
    joined_seq: int = 0  # the joining event's sequence in the team's chain, for a stable order
    # The leaving event's sequence; a member who left stays, so that the team can be told
    # as of an earlier sequence (the one a submission was accepted on).
    left_seq: int | None = None


class PastTeamMember(NotificationsTable, table=True):
    """An earlier period of a membership, kept when the person rejoined the team (the row in
    ``team_members`` then holds the latest period)."""

    __tablename__ = "past_team_members"

    team_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)
    joined_seq: int = Field(primary_key=True)
    left_seq: int


class ErasedAccount(NotificationsTable, table=True):
    """An account erased at registration: it keeps its place in teams (memberships are facts
    that stay), but nothing is addressed to it and no contact details are kept for it."""

    __tablename__ = "erased_accounts"

    account_id: str = Field(primary_key=True, max_length=64)
    erased_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
