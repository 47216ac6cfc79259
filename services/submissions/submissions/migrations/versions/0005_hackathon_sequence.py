"""How far the copy of each hackathon goes in the hackathon's chain of events.

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
    with op.batch_alter_table("known_hackathons") as batch:
        batch.add_column(sa.Column("sequence", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("known_hackathons") as batch:
        batch.drop_column("sequence")
