"""Public API v1 models of the leaderboard and the published results, with what makes ties
visible: each entry's score rank (tied entries share it), how many it is tied with, what
decided its place, its raw mean beside its score, and the normalisation method and the
tie-break rule of the whole ranking (docs/results.md).

Every field API.md lists keeps its meaning: ``rank`` is still the place, one per entry, by
which awards are granted. The fields added here are additions; on results published before
they existed, the per-entry ones are null (they were not recorded)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Normalization = Literal["none", "zscore"]
TieBreak = Literal["earlier_first_submission_then_smaller_submission_id"]
PlacedBy = Literal["score", "earlier_first_submission", "smaller_submission_id"]

_TIE_BREAK = (
    "how places are given among tied entries (equal scores at full precision): the earlier "
    "first submission, then the smaller submission id; awards go by place"
)


class LeaderboardEntry(BaseModel):
    rank: int = Field(
        description="the place, 1, 2, 3, ...: one per entry, tied entries ordered by the "
        "tie-break; awards go by it"
    )
    submission_id: str
    team_id: str
    team_name: str
    title: str
    score: float = Field(
        description="the mean of the judges' totals after the normalisation, rounded to 4 "
        "decimals (ties are decided at full precision)"
    )
    judges: int
    raw_mean: float | None = Field(
        default=None,
        description="the mean of the judges' weighted totals before normalisation, rounded "
        "to 4 decimals (null on results published before it was recorded)",
    )
    score_rank: int | None = Field(
        default=None,
        description="the rank by score alone: tied entries share it (1, 1, 3)",
    )
    tied_with: int | None = Field(
        default=None, description="how many other entries have exactly this score"
    )
    placed_by: PlacedBy | None = Field(
        default=None,
        description="what decided the place: the score alone (tied with nobody), or, among "
        "tied entries, the earlier first submission, or the smaller submission id (first "
        "submitted at the same instant as another tied entry)",
    )


class Leaderboard(BaseModel):
    hackathon_id: str
    published: bool
    normalization: Normalization = Field(
        description="how the judges' totals were normalised before averaging"
    )
    tie_break: TieBreak = Field(description=_TIE_BREAK)
    entries: list[LeaderboardEntry]


class GrantedAward(BaseModel):
    name: str
    kind: str
    amount: float | None
    rank: int
    team_id: str | None


class Results(BaseModel):
    hackathon_id: str
    normalization: Normalization = Field(
        description="how the judges' totals were normalised before averaging"
    )
    tie_break: TieBreak = Field(description=_TIE_BREAK)
    entries: list[LeaderboardEntry]
    awards: list[GrantedAward]
