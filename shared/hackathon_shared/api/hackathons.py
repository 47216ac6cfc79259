"""Public API v1 models for hackathons, registrations, teams and judges."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

Phase = Literal["draft", "registration", "hacking", "judging", "finished"]
Sector = Literal["private", "academia", "civil_society", "government", "other"]


class ChallengeIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class CriterionIn(BaseModel):
    key: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(default="", max_length=200)
    weight: float = Field(gt=0, allow_inf_nan=False)
    min: float = Field(default=1, allow_inf_nan=False)
    max: float = Field(default=10, allow_inf_nan=False)

    @field_validator("max")
    @classmethod
    def _scale(cls, maximum: float, info: ValidationInfo) -> float:
        minimum = info.data.get("min")
        if minimum is not None and minimum >= maximum:
            raise PydanticCustomError("scale", "the scale's max must be greater than its min")
        return maximum


class RubricIn(BaseModel):
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)
    normalization: Literal["none", "zscore"] = "none"

    @field_validator("criteria")
    @classmethod
    def _unique_keys(cls, criteria: list[CriterionIn]) -> list[CriterionIn]:
        keys = [c.key for c in criteria]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError("unique", "criterion keys must be unique")
        return criteria


class AwardIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    rank: int = Field(ge=1)
    kind: Literal["mentorship", "grant", "other"]
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class NewHackathon(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10000)
    challenges: list[ChallengeIn] = Field(min_length=1, max_length=50)
    min_team_size: int = Field(ge=1, le=100)
    max_team_size: int = Field(ge=1, le=100)
    max_teams: int = Field(ge=1, le=10000)
    submission_deadline: AwareDatetime
    rubric: RubricIn
    judges_per_submission: int = Field(ge=1, le=100)
    awards: list[AwardIn] = Field(default_factory=list, max_length=100)

    @field_validator("awards")
    @classmethod
    def _unique_ranks(cls, awards: list[AwardIn]) -> list[AwardIn]:
        ranks = [a.rank for a in awards]
        if len(set(ranks)) != len(ranks):
            raise PydanticCustomError("unique", "award ranks must be unique")
        return awards

    @field_validator("max_team_size")
    @classmethod
    def _sizes(cls, max_team_size: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_team_size")
        if minimum is not None and max_team_size < minimum:
            raise PydanticCustomError("team_size", "max_team_size must be at least min_team_size")
        return max_team_size


class ChallengeOut(BaseModel):
    challenge_id: str
    title: str
    description: str


class CriterionOut(BaseModel):
    key: str
    name: str
    weight: float
    min: float
    max: float


class RubricOut(BaseModel):
    criteria: list[CriterionOut]
    normalization: Literal["none", "zscore"]


class AwardOut(BaseModel):
    name: str
    rank: int
    kind: Literal["mentorship", "grant", "other"]
    amount: float | None


class HackathonView(BaseModel):
    hackathon_id: str
    name: str
    description: str
    challenges: list[ChallengeOut]
    min_team_size: int
    max_team_size: int
    max_teams: int
    submission_deadline: AwareDatetime
    rubric: RubricOut
    judges_per_submission: int
    awards: list[AwardOut]
    phase: Phase


class PhaseChange(BaseModel):
    phase: Phase


class NewRegistration(BaseModel):
    sector: Sector
    # Strict: only the JSON value true is consent ("yes", "true" or 1 are not).
    consent: StrictBool

    @field_validator("consent")
    @classmethod
    def _consented(cls, consent: bool) -> bool:
        if consent is not True:
            raise PydanticCustomError("consent", "consent to the privacy policy is required")
        return consent


class RegistrationAnswer(BaseModel):
    participant_id: str


class NewTeam(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    challenge_id: str = Field(min_length=1, max_length=100)

    @field_validator("name")
    @classmethod
    def _trimmed(cls, name: str) -> str:
        name = " ".join(name.split())
        if not name:
            raise PydanticCustomError("blank", "the team name must not be blank")
        return name


class JoinTeam(BaseModel):
    invite_code: str = Field(min_length=1, max_length=200)


class MemberView(BaseModel):
    account_id: str
    display_name: str | None


class TeamView(BaseModel):
    team_id: str
    hackathon_id: str
    name: str
    challenge_id: str
    captain_id: str
    members: list[MemberView]
    status: Literal["active", "withdrawn"]
    invite_code: str | None = None


class NewJudge(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    conflicts: list[str] = Field(default_factory=list, max_length=1000)


class JudgeAnswer(BaseModel):
    judge_id: str
