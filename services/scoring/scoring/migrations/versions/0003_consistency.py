"""Stored consumer positions, applied sequences and erased principals (docs/consistency.md).

Revision ID: 0003
Revises: 0002
"""

from hackathon_shared.messaging_tables import create_consistency_tables, drop_consistency_tables

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_consistency_tables()


def downgrade() -> None:
    drop_consistency_tables()
