"""The submissions service's own tables: its view of other services' facts (from events)
and the submissions it owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from hackathon_shared.db import UtcDateTime


class SubmissionsTable(SQLModel, registry=registry()):
    """Base of the submissions service's tables, with metadata of their own: one process may load
    several services' tables (the audit's rebuild, the tests), and services may name their
    own tables alike (each service's copy of ``known_teams``, say)."""


def _when(nullable: bool = False) -> Any:
    return Field(sa_column=sa.Column(UtcDateTime(), nullable=nullable))


class KnownHackathon(SubmissionsTable, table=True):
    __tablename__ = "known_hackathons"

    hackathon_id: str = Field(primary_key=True, max_length=64)
    phase: str = Field(max_length=20)
    submission_deadline: datetime = _when()
    min_team_size: int
    challenge_ids: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    # The sequence of the last of the hackathon's events applied here (its creation, phase
    # changes): read with the phase in one row, it is the position a submission names.
    sequence: int = 0


class KnownTeam(SubmissionsTable, table=True):
    __tablename__ = "known_teams"

    team_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, index=True)
    challenge_id: str = Field(max_length=64)
    status: str = Field(max_length=20)
    # The sequence of the last event of this team applied (TeamRegistered, joins, leaves...),
    # updated under the row's lock, which a submission holds while it decides: the position
    # it names is the one its members were read at.
    sequence: int = 0


class KnownMember(SubmissionsTable, table=True):
    __tablename__ = "known_members"

    team_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)


class KnownAssignment(SubmissionsTable, table=True):
    __tablename__ = "known_assignments"

    submission_id: str = Field(primary_key=True, max_length=64)
    judge_id: str = Field(primary_key=True, max_length=64)


class SubmissionRow(SubmissionsTable, table=True):
    __tablename__ = "submissions"

    submission_id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=64, unique=True)
    hackathon_id: str = Field(max_length=64, index=True)
    challenge_id: str = Field(max_length=64)
    version: int
    title: str = Field(max_length=120)
    summary: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    kind: str = Field(max_length=20)
    repo_url: str | None = Field(default=None, max_length=2048)
    demo_url: str | None = Field(default=None, max_length=2048)
    submitted_by: str = Field(max_length=64)
    submitted_at: datetime = _when()
    first_submitted_at: datetime = _when()
    status: str = Field(default="active", max_length=20)


VIEW_TABLES: tuple[type[SQLModel], ...] = (
    KnownHackathon,
    KnownTeam,
    KnownMember,
    KnownAssignment,
    SubmissionRow,
)
