"""Placing scored submissions: the order, who is tied, and the tie-break (DESIGN.md: ranking
by score, descending; ties go to the earlier first submission, then the smaller submission id).

- Two entries are **tied** when their scores are equal at full precision, never after
  rounding to the 4 decimals shown. The caller gives each score as a value that can be
  compared exactly (the leaderboard gives an exact fraction for ``none``) and the tolerance
  below which two scores are the same number (0 for exact values; for ``zscore`` a bound far
  under any difference a jury can make and far above floating-point noise). Ties chain in
  score order: each entry within the tolerance of the one just above it is in that one's tie.
- Tied entries share their **score rank**, the competition ranking "1, 1, 3": one more than
  the number of entries with a higher score.
- The **place** (the entry's ``rank``: 1, 2, 3, ..., one per entry) orders the tied entries by
  the tie-break; awards go by place, so the tie-break decides them.
- Each entry says what decided its place (``placed_by``): ``score`` when it is tied with
  nobody; ``earlier_first_submission`` when it is tied and no entry of its tie was first
  submitted at the same instant; ``smaller_submission_id`` when another entry of its tie was
  first submitted at the same instant, so that only the submission ids tell them apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Literal

TieBreak = Literal["earlier_first_submission_then_smaller_submission_id"]
TIE_BREAK: TieBreak = "earlier_first_submission_then_smaller_submission_id"
"""The one tie-break rule, named as results and ``ResultsPublished`` state it."""

PlacedBy = Literal["score", "earlier_first_submission", "smaller_submission_id"]


@dataclass(frozen=True)
class Contender:
    """A scored submission to place. ``score`` at full precision: an exact fraction, or a
    float compared with a tolerance."""

    submission_id: str
    first_submitted_at: datetime
    score: Fraction | float


@dataclass(frozen=True)
class Placement:
    contender: Contender
    place: int
    score_rank: int
    tied_with: int  # how many other entries share this entry's score
    placed_by: PlacedBy


def _ties(contenders: Sequence[Contender], tolerance: float) -> list[list[Contender]]:
    """The contenders by score, descending, cut into groups of equal scores."""
    by_score = sorted(contenders, key=lambda c: c.score, reverse=True)
    groups: list[list[Contender]] = []
    for contender in by_score:
        if groups and groups[-1][-1].score - contender.score <= tolerance:
            groups[-1].append(contender)
        else:
            groups.append([contender])
    return groups


def _placed_by(contender: Contender, tie: Sequence[Contender]) -> PlacedBy:
    if len(tie) == 1:
        return "score"
    same_instant = [c for c in tie if c.first_submitted_at == contender.first_submitted_at]
    return "smaller_submission_id" if len(same_instant) > 1 else "earlier_first_submission"


def place(contenders: Sequence[Contender], tolerance: float = 0.0) -> list[Placement]:
    """Every contender with its place, its score rank and what decided its place, best
    first. ``tolerance``: the largest difference between two scores that are the same."""
    placements: list[Placement] = []
    for tie in _ties(contenders, tolerance):
        score_rank = len(placements) + 1
        for contender in sorted(tie, key=lambda c: (c.first_submitted_at, c.submission_id)):
            placements.append(
                Placement(
                    contender,
                    place=len(placements) + 1,
                    score_rank=score_rank,
                    tied_with=len(tie) - 1,
                    placed_by=_placed_by(contender, tie),
                )
            )
    return placements
