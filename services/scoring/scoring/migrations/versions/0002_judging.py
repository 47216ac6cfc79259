"""The view of hackathons, judges, teams and submissions; assignments, scores, results.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "known_hackathons",
        sa.Column("hackathon_id", sa.String(64), primary_key=True),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("judges_per_submission", sa.Integer, nullable=False),
        sa.Column("normalization", sa.String(10), nullable=False),
        sa.Column("criteria", sa.JSON, nullable=False),
        sa.Column("awards", sa.JSON, nullable=False),
    )
    op.create_table(
        "known_judges",
        sa.Column("hackathon_id", sa.String(64), primary_key=True),
        sa.Column("judge_id", sa.String(64), primary_key=True),
        sa.Column("conflicts", sa.JSON, nullable=False),
    )
    op.create_table(
        "known_teams",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "known_submissions",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False, index=True),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        _when("first_submitted_at"),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("judge_id", sa.String(64), primary_key=True, index=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False, index=True),
        _when("assigned_at"),
    )
    op.create_table(
        "scores",
        sa.Column("submission_id", sa.String(64), primary_key=True),
        sa.Column("judge_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False, index=True),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        _when("scored_at"),
    )
    op.create_table(
        "results",
        sa.Column("hackathon_id", sa.String(64), primary_key=True),
        sa.Column("entries", sa.JSON, nullable=False),
        sa.Column("awards", sa.JSON, nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        _when("published_at"),
    )


def downgrade() -> None:
    for table in ("results", "scores", "assignments", "known_submissions", "known_teams",
                  "known_judges", "known_hackathons"):
        op.drop_table(table)
