"""Hackathons, participants, teams and their members, judges.

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
        "hackathons",
        sa.Column("hackathon_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("max_teams", sa.Integer, nullable=False),
        sa.Column("min_team_size", sa.Integer, nullable=False),
        sa.Column("max_team_size", sa.Integer, nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        _when("created_at"),
    )
    op.create_table(
        "participants",
        sa.Column("participant_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), sa.ForeignKey("hackathons.hackathon_id"), nullable=False),
        sa.Column("account_id", sa.String(64), sa.ForeignKey("accounts.account_id"), nullable=False),
        sa.Column("sector", sa.String(30), nullable=False),
        sa.Column("consent_version", sa.String(50), nullable=False),
        _when("consented_at"),
        sa.UniqueConstraint("hackathon_id", "account_id", name="uq_participant"),
    )
    op.create_table(
        "teams",
        sa.Column("team_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), sa.ForeignKey("hackathons.hackathon_id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("name_key", sa.String(400), nullable=False),
        sa.Column("challenge_id", sa.String(64), nullable=False),
        sa.Column("captain_id", sa.String(64), nullable=False),
        sa.Column("invite_code", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _when("created_at"),
    )
    op.create_index("ix_teams_hackathon_id", "teams", ["hackathon_id"])
    op.create_index(
        "uq_active_team_name",
        "teams",
        ["hackathon_id", "name_key"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.String(64), sa.ForeignKey("teams.team_id"), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("hackathon_id", sa.String(64), nullable=False),
        _when("joined_at"),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("hackathon_id", "account_id", name="uq_one_team"),
    )
    op.create_table(
        "judges",
        sa.Column("hackathon_id", sa.String(64), sa.ForeignKey("hackathons.hackathon_id"), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("conflicts", sa.JSON, nullable=False),
        _when("enrolled_at"),
    )


def downgrade() -> None:
    for table in ("judges", "team_members", "teams", "participants", "hackathons"):
        op.drop_table(table)
