"""Public API v1 models for judging: assignments, scores, leaderboard and results."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from hackathon_shared.api.inputs import InputModel
from hackathon_shared.api.quantities import ScaleValue
from hackathon_shared.api.results import (  # the leaderboard and results (docs/results.md)
    GrantedAward,
    Leaderboard,
    LeaderboardEntry,
    Results,
)
from hackathon_shared.text import Paragraphs, Verbatim

__all__ = [
    "AssignedSubmission",
    "AssignmentAnswer",
    "AssignmentShortfall",
    "GrantedAward",
    "Leaderboard",
    "LeaderboardEntry",
    "MyAssignment",
    "Results",
    "ScoreAnswer",
    "ScoresIn",
]


class AssignedSubmission(BaseModel):
    submission_id: str
    judge_ids: list[str]


class AssignmentShortfall(BaseModel):
    submission_id: str
    assigned: int
    needed: int
    reason: str


class AssignmentAnswer(BaseModel):
    assignments: list[AssignedSubmission]
    shortfalls: list[AssignmentShortfall] = Field(
        default_factory=list,
        description="submissions that could not get all their judges, and why",
    )


class MyAssignment(BaseModel):
    submission_id: str
    team_id: str
    title: str
    hackathon_id: str
    scored: bool


class ScoresIn(InputModel):
    scores: dict[Annotated[str, Verbatim(max_length=50)], ScaleValue] = Field(max_length=50)
    """Each criterion's value: a JSON number (not a string, not a boolean), finite."""
    comment: Annotated[str, Paragraphs(max_length=5000)] | None = None


class ScoreAnswer(BaseModel):
    submission_id: str
    judge_id: str
    scores: dict[str, float]
    total: float
    revision: int
