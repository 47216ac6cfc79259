"""Members who left keep their row, with the sequence they left at; earlier periods of a
membership are kept when someone rejoins.

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
    op.create_table(
        "past_team_members",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("joined_seq", sa.Integer, primary_key=True),
        sa.Column("left_seq", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("past_team_members")
    with op.batch_alter_table("team_members") as batch:
        batch.drop_column("left_seq")
