"""Stored positions, applied sequences and erased principals, as every service has them.

Revision ID: 0002
Revises: 0001
"""

from hackathon_shared.messaging_tables import create_consistency_tables, drop_consistency_tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_consistency_tables()


def downgrade() -> None:
    drop_consistency_tables()
