"""Who is or was a member of which team: a judge conflicts with such a team automatically.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_memberships",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False),
    )
    op.create_index(
        "ix_known_memberships_hackathon_account",
        "known_memberships",
        ["hackathon_id", "account_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_known_memberships_hackathon_account", table_name="known_memberships")
    op.drop_table("known_memberships")
