"""Public API v1 models for judging: assignments, scores, leaderboard and results."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


class ScoresIn(BaseModel):
    scores: dict[str, float] = Field(max_length=50)
    comment: str | None = Field(default=None, max_length=5000)


class ScoreAnswer(BaseModel):
    submission_id: str
    judge_id: str
    scores: dict[str, float]
    total: float
    revision: int


class LeaderboardEntry(BaseModel):
    rank: int
    submission_id: str
    team_id: str
    team_name: str
    title: str
    score: float
    judges: int


class Leaderboard(BaseModel):
    hackathon_id: str
    published: bool
    entries: list[LeaderboardEntry]


class GrantedAward(BaseModel):
    name: str
    kind: str
    amount: float | None
    rank: int
    team_id: str | None


class Results(BaseModel):
    hackathon_id: str
    entries: list[LeaderboardEntry]
    awards: list[GrantedAward]
