"""Members who left keep their row, with the sequence they left at.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team_members") as batch:
        batch.add_column(sa.Column("left_seq", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("team_members") as batch:
        batch.drop_column("left_seq")
