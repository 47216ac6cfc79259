"""The scoring service's tables: its view of hackathons, judges, teams and submissions (from
events), and the assignments, scores and results it owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from hackathon_shared.db import UtcDateTime


class ScoringTable(SQLModel, registry=registry()):
    """Base of the scoring service's tables, with metadata of their own: one process may load
    several services' tables (the audit's rebuild, the tests), and services may name their
    own tables alike (each service's copy of ``known_teams``, say)."""


def _when() -> Any:
    return Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


def _json() -> Any:
    return Field(sa_column=sa.Column(sa.JSON, nullable=False))


class JudgedHackathon(ScoringTable, table=True):
    __tablename__ = "known_hackathons"

    hackathon_id: str = Field(primary_key=True, max_length=64)
    phase: str = Field(max_length=20)
    judges_per_submission: int
    normalization: str = Field(max_length=10)
    criteria: list[dict[str, Any]] = _json()  # [{key, weight, min, max}]
    awards: list[dict[str, Any]] = _json()  # [{name, rank, kind, amount}]


class KnownJudge(ScoringTable, table=True):
    __tablename__ = "known_judges"

    hackathon_id: str = Field(primary_key=True, max_length=64)
    judge_id: str = Field(primary_key=True, max_length=64)
    conflicts: list[str] = _json()


class KnownTeam(ScoringTable, table=True):
    __tablename__ = "known_teams"

    team_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    # The team withdrew (`TeamWithdrawn`); the use cases tell that its submission no longer
    # competes (service/judging.py).
    withdrawn: bool = False


class KnownMembership(ScoringTable, table=True):
    """An account that is or was a member of a team (`TeamRegistered`, `TeamMemberJoined`).
    Leaving does not remove the row: a former member conflicts with the team all the same."""

    __tablename__ = "known_memberships"
    __table_args__ = (
        sa.Index("ix_known_memberships_hackathon_account", "hackathon_id", "account_id"),
    )

    team_id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64)


class KnownSubmission(ScoringTable, table=True):
    __tablename__ = "known_submissions"

    submission_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, index=True)
    team_id: str = Field(max_length=64)
    title: str = Field(max_length=120)
    first_submitted_at: datetime = _when()
    withdrawn: bool = False


class AssignmentRow(ScoringTable, table=True):
    __tablename__ = "assignments"

    submission_id: str = Field(primary_key=True, max_length=64)
    judge_id: str = Field(primary_key=True, max_length=64, index=True)
    hackathon_id: str = Field(max_length=64, index=True)
    assigned_at: datetime = _when()


class ScoreRow(ScoringTable, table=True):
    __tablename__ = "scores"

    submission_id: str = Field(primary_key=True, max_length=64)
    judge_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, index=True)
    values: dict[str, float] = _json()
    total: float
    revision: int
    comment: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    scored_at: datetime = _when()


class ResultsRow(ScoringTable, table=True):
    __tablename__ = "results"

    hackathon_id: str = Field(primary_key=True, max_length=64)
    entries: list[dict[str, Any]] = _json()
    awards: list[dict[str, Any]] = _json()
    published_by: str = Field(max_length=64)
    published_at: datetime = _when()
