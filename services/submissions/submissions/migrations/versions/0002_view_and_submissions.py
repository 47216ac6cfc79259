"""The view of hackathons, teams, members and assignments, and the submissions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_hackathons",
        sa.Column("hackathon_id", sa.String(64), primary_key=True),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("submission_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_team_size", sa.Integer, nullable=False),
        sa.Column("challenge_ids", sa.JSON, nullable=False),
    )
    op.create_table(
        "known_teams",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False, index=True),
        sa.Column("challenge_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )
    op.create_table(
        "known_members",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "known_assignments",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("judge_id", sa.String(64), primary_key=True),
    )
    op.create_table(
        "submissions",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("team_id", sa.String(64), nullable=False, unique=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False, index=True),
        sa.Column("challenge_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("repo_url", sa.String(2048), nullable=True),
        sa.Column("demo_url", sa.String(2048), nullable=True),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    for table in ("submissions", "known_assignments", "known_members", "known_teams", "known_hackathons"):
        op.drop_table(table)
