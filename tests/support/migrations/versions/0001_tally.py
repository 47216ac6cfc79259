"""Outbox, inbox and the tallies of the test service.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from hackathon_shared.messaging_tables import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "tallies",
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tallies")
