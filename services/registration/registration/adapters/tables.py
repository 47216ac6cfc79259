from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from hackathon_shared.db import UtcDateTime


class RegistrationTable(SQLModel, registry=registry()):
    """Base of the registration service's tables, with metadata of their own: one process may load
    several services' tables (the audit's rebuild, the tests), and services may name their
    own tables alike (each service's copy of ``known_teams``, say)."""


class AccountRow(RegistrationTable, table=True):
    __tablename__ = "accounts"

    account_id: str = Field(primary_key=True, max_length=64)
    email: str | None = Field(default=None, max_length=320, unique=True)
    display_name: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=255)
    roles: str = Field(default="participant", max_length=200)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))

    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]


class HackathonRow(RegistrationTable, table=True):
    __tablename__ = "hackathons"

    hackathon_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    phase: str = Field(max_length=20)
    max_teams: int
    min_team_size: int
    max_team_size: int
    # The rest of the definition as given (challenges with ids, rubric, awards, deadline...).
    definition: dict[str, Any] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class ParticipantRow(RegistrationTable, table=True):
    __tablename__ = "participants"
    __table_args__ = (sa.UniqueConstraint("hackathon_id", "account_id", name="uq_participant"),)

    participant_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, foreign_key="hackathons.hackathon_id")
    account_id: str = Field(max_length=64, foreign_key="accounts.account_id")
    sector: str = Field(max_length=30)
    consent_version: str = Field(max_length=50)
    consented_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class TeamRow(RegistrationTable, table=True):
    __tablename__ = "teams"

    team_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64, foreign_key="hackathons.hackathon_id", index=True)
    name: str = Field(max_length=100)
    # The name's confusable-safe comparison key (registration.domain.teams.name_key; NFKC and
    # case folding can lengthen a name); unique among a hackathon's active teams (partial
    # index). Rows migrated by 0004 that collided keep a "#<team id>" tail.
    name_key: str = Field(max_length=400)
    challenge_id: str = Field(max_length=64)
    captain_id: str = Field(max_length=64)
    invite_code: str = Field(max_length=64)
    status: str = Field(default="active", max_length=20)
    created_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))


class TeamMemberRow(RegistrationTable, table=True):
    __tablename__ = "team_members"
    # One team per participant per hackathon, enforced by the database as well.
    __table_args__ = (sa.UniqueConstraint("hackathon_id", "account_id", name="uq_one_team"),)

    team_id: str = Field(primary_key=True, max_length=64, foreign_key="teams.team_id")
    account_id: str = Field(primary_key=True, max_length=64)
    hackathon_id: str = Field(max_length=64)
    joined_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
    position: int  # order of joining within the team, for the captaincy hand-over


class JudgeRow(RegistrationTable, table=True):
    __tablename__ = "judges"

    hackathon_id: str = Field(
        primary_key=True, max_length=64, foreign_key="hackathons.hackathon_id"
    )
    account_id: str = Field(primary_key=True, max_length=64)
    conflicts: list[str] = Field(sa_column=sa.Column(sa.JSON, nullable=False))
    enrolled_at: datetime = Field(sa_column=sa.Column(UtcDateTime(), nullable=False))
