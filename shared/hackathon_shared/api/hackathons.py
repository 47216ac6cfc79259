"""Public API v1 models for hackathons, registrations, teams and judges.

Request bodies derive from :class:`InputModel` (unknown fields refused); their text, numbers
and times follow the rules of ``hackathon_shared.text``, ``api.quantities`` and
``api.timestamps`` (docs/input-rules.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from hackathon_shared.api.inputs import InputModel
from hackathon_shared.api.quantities import (
    Amount,
    JudgeCount,
    Rank,
    ScaleValue,
    TeamCount,
    TeamSize,
    Weight,
)
from hackathon_shared.api.timestamps import Instant, UtcDateTime
from hackathon_shared.text import Line, Paragraphs, Verbatim, comparison_key

Phase = Literal["draft", "registration", "hacking", "judging", "finished"]
Sector = Literal["private", "academia", "civil_society", "government", "other"]

Name = Annotated[str, Line(max_length=200)]
"""A hackathon's, an award's name, a challenge's title."""
OptionalName = Annotated[str, Line(max_length=200, min_length=0)]
TeamName = Annotated[str, Line(max_length=100)]
Reference = Annotated[str, Verbatim(max_length=200)]
"""An id or a code the client was given (a challenge, a team, an invite code)."""


class ChallengeIn(InputModel):
    title: Name
    description: Annotated[str, Paragraphs(max_length=5000)] = ""


class CriterionIn(InputModel):
    key: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")
    name: OptionalName = ""
    weight: Weight
    min: ScaleValue = 1
    max: ScaleValue = 10

    @field_validator("max")
    @classmethod
    def _scale(cls, maximum: float, info: ValidationInfo) -> float:
        minimum = info.data.get("min")
        if minimum is not None and minimum >= maximum:
            raise PydanticCustomError("scale", "the scale's max must be greater than its min")
        return maximum


class RubricIn(InputModel):
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)
    normalization: Literal["none", "zscore"] = "none"

    @field_validator("criteria")
    @classmethod
    def _unique_keys(cls, criteria: list[CriterionIn]) -> list[CriterionIn]:
        keys = [c.key for c in criteria]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError("unique", "criterion keys must be unique")
        return criteria


class AwardIn(InputModel):
    name: Name
    rank: Rank
    kind: Literal["mentorship", "grant", "other"]
    amount: Amount | None = None


class NewHackathon(InputModel):
    name: Name
    description: Annotated[str, Paragraphs(max_length=10000)] = ""
    challenges: list[ChallengeIn] = Field(min_length=1, max_length=50)
    min_team_size: TeamSize
    max_team_size: TeamSize
    max_teams: TeamCount
    submission_deadline: Instant
    rubric: RubricIn
    judges_per_submission: JudgeCount
    awards: list[AwardIn] = Field(default_factory=list, max_length=100)

    @field_validator("challenges")
    @classmethod
    def _distinct_titles(cls, challenges: list[ChallengeIn]) -> list[ChallengeIn]:
        keys = [comparison_key(c.title) for c in challenges]
        if len(set(keys)) != len(keys):
            raise PydanticCustomError(
                "unique",
                "challenge titles must differ (compared ignoring case, width, invisible "
                "characters and look-alike letters)",
            )
        return challenges

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


class PhaseChange(InputModel):
    phase: Phase


class NewRegistration(InputModel):
    sector: Sector
    # Strict: only the JSON value true is consent ("yes", "true" or 1 are not); the schema
    # says so (const), so that clients and contract tests know it before asking.
    consent: StrictBool = Field(json_schema_extra={"const": True})

    @field_validator("consent")
    @classmethod
    def _consented(cls, consent: bool) -> bool:
        if consent is not True:
            raise PydanticCustomError("consent", "consent to the privacy policy is required")
        return consent


class RegistrationAnswer(BaseModel):
    participant_id: str


class NewTeam(InputModel):
    name: TeamName
    challenge_id: Annotated[str, Verbatim(max_length=100)]


class JoinTeam(InputModel):
    invite_code: Reference


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


class NewJudge(InputModel):
    email: Annotated[str, Verbatim(min_length=3, max_length=320)]
    conflicts: list[Reference] = Field(default_factory=list, max_length=1000)


class JudgeAnswer(BaseModel):
    judge_id: str


class JudgeConflicts(InputModel):
    """A judge's declared conflicts, replacing the earlier ones (team ids of the hackathon).
    Teams the judge is or was a member of conflict without being declared."""

    conflicts: list[Reference] = Field(max_length=1000)


class JudgeView(BaseModel):
    hackathon_id: str
    judge_id: str
    conflicts: list[str]


class JudgeListing(BaseModel):
    """A judge of a hackathon as its organizers see them: who, and the declared conflicts."""

    hackathon_id: str
    judge_id: str
    display_name: str | None = Field(description="null once the account is erased")
    email: str | None = Field(description="null once the account is erased")
    conflicts: list[str]


class MyRegistration(BaseModel):
    """One of the caller's registrations, with the consent they gave."""

    hackathon_id: str
    participant_id: str
    sector: str
    consent_policy_version: str = Field(description="the privacy-policy version consented to")
    consented_at: UtcDateTime
