"""The Idempotency-Keys callers send with writes, and their answers
(hackathon_shared.idempotency).

Revision ID: 0009
Revises: 0008
"""

from hackathon_shared.messaging_tables import create_idempotency_table, drop_idempotency_table

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
