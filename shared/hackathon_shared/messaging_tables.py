"""The outbox and inbox tables that every service's database has.

The outbox holds what a service decided to publish, written in the same transaction as the
state change; the inbox holds the ids of events a consumer group has processed, written in
the same transaction as the handler's changes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from hackathon_shared.db import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class OutboxRecord(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (
        sa.UniqueConstraint("topic", "aggregate_id", "sequence", name="uq_outbox_chain"),
        sa.Index("ix_outbox_unpublished", "published_at", "id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(BigIntId, primary_key=True))
    topic: str = Field(max_length=255)
    message_key: str = Field(max_length=255)
    value: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    event_id: str | None = Field(default=None, max_length=36, unique=True)
    event_type: str | None = Field(default=None, max_length=100)
    aggregate_id: str | None = Field(default=None, max_length=200)
    sequence: int | None = None
    hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    published_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UtcDateTime(), nullable=True)
    )


class InboxRecord(SQLModel, table=True):
    __tablename__ = "inbox"

    consumer_group: str = Field(primary_key=True, max_length=200)
    event_id: str = Field(primary_key=True, max_length=64)
    topic: str = Field(max_length=255)
    processed_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class ConsumerPosition(SQLModel, table=True):
    """How far this service has applied a partition of a topic it consumes: every record
    before ``next_offset`` of the log ``log_id`` (the broker cluster's id) is applied or
    dead-lettered. Written in the transaction of the effects, so any replica of the service
    can tell how far the service is (``hackathon_shared.barrier``)."""

    __tablename__ = "consumer_positions"

    topic: str = Field(primary_key=True, max_length=255)
    partition: int = Field(primary_key=True)
    log_id: str = Field(max_length=200)
    next_offset: int


class AppliedSequence(SQLModel, table=True):
    """The head of each aggregate's chain of another service's topic, as this service has it:
    the highest sequence applied (or passed: dead-lettered after its chain was checked) and
    that event's hash. An event's ``seen`` positions are compared with the sequence (causal
    delivery); the next event must follow it and link to the hash (``hackathon_shared.chain``).
    ``hash`` is None on rows written before it was kept (their next link is not checked)."""

    __tablename__ = "applied_sequences"

    topic: str = Field(primary_key=True, max_length=255)
    aggregate_id: str = Field(primary_key=True, max_length=200)
    sequence: int
    hash: str | None = Field(default=None, max_length=64)


class PassedEvent(SQLModel, table=True):
    """A real event that continued its chain but was dead-lettered rather than applied (its
    handler failed after the retries, or it named positions the log does not hold): the
    chain went on past it. Kept so that the same event sent again (from the DLQ, once the
    cause is fixed, or by a republished outbox) is recognised as a link of the chain and
    applied, while any other event at that sequence is a fork."""

    __tablename__ = "passed_events"

    topic: str = Field(primary_key=True, max_length=255)
    aggregate_id: str = Field(primary_key=True, max_length=200)
    sequence: int = Field(primary_key=True)
    hash: str = Field(max_length=64)


class RecordVersion(SQLModel, table=True):
    """Per key of a keyed record topic (``registration.contacts``: per account), the highest
    version applied and the digest of that record, and whether a tombstone ended the key
    (``hackathon_shared.record_versions``). ``version`` is None while only records from
    before versions existed were applied."""

    __tablename__ = "record_versions"

    topic: str = Field(primary_key=True, max_length=255)
    record_key: str = Field(primary_key=True, max_length=255)
    version: int | None = None
    digest: str | None = Field(default=None, max_length=64)
    ended: bool = False


class IdempotencyRecord(SQLModel, table=True):
    """An ``Idempotency-Key`` a caller sent with a write, and the answer it got
    (hackathon_shared.idempotency)."""

    __tablename__ = "idempotency_keys"

    owner: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=255)
    fingerprint: str = Field(max_length=64)
    state: str = Field(max_length=10)  # started, committed, answered
    claim: str = Field(max_length=32)  # which run of the request holds the key
    status: int | None = None
    headers: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    body: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False, index=True))


def create_idempotency_table() -> None:
    """For a service's migration: the table of Idempotency-Keys."""
    from alembic import op

    op.create_table(
        "idempotency_keys",
        sa.Column("owner", sa.String(80), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("claim", sa.String(32), nullable=False),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("headers", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])


def drop_idempotency_table() -> None:
    from alembic import op

    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")


class ErasedPrincipal(SQLModel, table=True):
    """Accounts whose ``AccountErased`` this service has applied: their tokens are refused."""

    __tablename__ = "erased_principals"

    account_id: str = Field(primary_key=True, max_length=64)


def create_consistency_tables() -> None:
    """For a service's migration: the tables of stored positions, applied sequences and
    erased principals (docs/consistency.md)."""
    from alembic import op

    op.create_table(
        "consumer_positions",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("log_id", sa.String(200), nullable=False),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "applied_sequences",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("aggregate_id", sa.String(200), primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
    )
    op.create_table(
        "erased_principals",
        sa.Column("account_id", sa.String(64), primary_key=True),
    )


def add_chain_links() -> None:
    """For a service's migration: the hash of each chain's head beside its sequence, and the
    events that passed without being applied (docs/consistency.md, "The chain continues").
    Rows that exist already keep a null hash: their next event's link is taken on trust once,
    and its hash is kept from then on."""
    from alembic import op

    with op.batch_alter_table("applied_sequences") as batch:
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "passed_events",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("aggregate_id", sa.String(200), primary_key=True),
        sa.Column("sequence", sa.Integer, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def drop_chain_links() -> None:
    from alembic import op

    op.drop_table("passed_events")
    with op.batch_alter_table("applied_sequences") as batch:
        batch.drop_column("hash")


def create_record_versions_table() -> None:
    """For the migration of a service that consumes ``registration.contacts``."""
    from alembic import op

    op.create_table(
        "record_versions",
        sa.Column("topic", sa.String(255), primary_key=True),
        sa.Column("record_key", sa.String(255), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("ended", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def drop_record_versions_table() -> None:
    from alembic import op

    op.drop_table("record_versions")


def drop_consistency_tables() -> None:
    from alembic import op

    op.drop_table("erased_principals")
    op.drop_table("applied_sequences")
    op.drop_table("consumer_positions")


def create_messaging_tables() -> None:
    """For a service's first Alembic migration: create the outbox and inbox tables."""
    from alembic import op

    op.create_table(
        "outbox",
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("message_key", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("event_id", sa.String(36), nullable=True, unique=True),
        sa.Column("event_type", sa.String(100), nullable=True),
        sa.Column("aggregate_id", sa.String(200), nullable=True),
        sa.Column("sequence", sa.Integer, nullable=True),
        sa.Column("hash", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("topic", "aggregate_id", "sequence", name="uq_outbox_chain"),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])
    op.create_table(
        "inbox",
        sa.Column("consumer_group", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )


def drop_messaging_tables() -> None:
    from alembic import op

    op.drop_table("inbox")
    op.drop_index("ix_outbox_unpublished", table_name="outbox")
    op.drop_table("outbox")
