"""The Idempotency-Keys callers send with writes, and their answers
(hackathon_shared.idempotency).

Revision ID: 0007
Revises: 0006
"""

from hackathon_shared.messaging_tables import create_idempotency_table, drop_idempotency_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_idempotency_table()


def downgrade() -> None:
    drop_idempotency_table()
