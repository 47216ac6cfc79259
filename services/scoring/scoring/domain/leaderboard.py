"""The leaderboard: a pure function of the rubric and the judges' latest scores.

- A judge's total for a submission is the weighted mean of its criterion values.
- With ``zscore`` normalisation each judge's totals are standardised over that judge's own
  totals (population standard deviation; a judge whose totals do not vary contributes 0).
- A submission's score is the mean of its judges' (normalised) totals.
- The ranking uses the score at full precision (compared to 9 decimals, so floating-point
  noise cannot decide a tie), descending; ties go to the earlier first submission, then the
  smaller id. Scores are rounded to 4 decimals in the answer.
- Unscored and withdrawn submissions are left out.
The audit recomputes the same from the log, so every rule here is also in the docs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

SCORE_DECIMALS = 4
RANKING_DECIMALS = 9


@dataclass(frozen=True)
class Criterion:
    key: str
    weight: float


@dataclass(frozen=True)
class Score:
    """A judge's latest scores for a submission."""

    judge_id: str
    submission_id: str
    values: Mapping[str, float]


@dataclass(frozen=True)
class Entrant:
    submission_id: str
    team_id: str
    first_submitted_at: datetime
    withdrawn: bool = False


@dataclass(frozen=True)
class Entry:
    rank: int
    submission_id: str
    team_id: str
    score: float
    judges: int


def weighted_total(criteria: Sequence[Criterion], values: Mapping[str, float]) -> float:
    weights = sum(c.weight for c in criteria)
    return sum(c.weight * values[c.key] for c in criteria) / weights


def _standardised(totals: dict[str, float]) -> dict[str, float]:
    mean = sum(totals.values()) / len(totals)
    deviation = math.sqrt(sum((t - mean) ** 2 for t in totals.values()) / len(totals))
    if deviation == 0:
        return {key: 0.0 for key in totals}
    return {key: (t - mean) / deviation for key, t in totals.items()}


def leaderboard(
    criteria: Sequence[Criterion],
    normalization: str,
    entrants: Iterable[Entrant],
    scores: Iterable[Score],
) -> list[Entry]:
    competing = {e.submission_id: e for e in entrants if not e.withdrawn}
    totals_by_judge: dict[str, dict[str, float]] = {}
    for score in scores:
        if score.submission_id in competing:
            totals_by_judge.setdefault(score.judge_id, {})[score.submission_id] = weighted_total(
                criteria, score.values
            )
    if normalization == "zscore":
        totals_by_judge = {j: _standardised(t) for j, t in totals_by_judge.items()}
    per_submission: dict[str, list[float]] = {}
    for judge_id in sorted(totals_by_judge):
        for submission_id, total in totals_by_judge[judge_id].items():
            per_submission.setdefault(submission_id, []).append(total)
    rows: list[tuple[Entrant, float, int]] = []
    for submission_id, totals in per_submission.items():
        rows.append((competing[submission_id], math.fsum(totals) / len(totals), len(totals)))
    rows.sort(
        key=lambda r: (-round(r[1], RANKING_DECIMALS), r[0].first_submitted_at, r[0].submission_id)
    )
    return [
        Entry(
            rank,
            entrant.submission_id,
            entrant.team_id,
            round(mean, SCORE_DECIMALS) + 0.0,  # + 0.0: never -0.0
            judges,
        )
        for rank, (entrant, mean, judges) in enumerate(rows, start=1)
    ]


def awards_granted(
    entries: Sequence[Entry], awards: Iterable[tuple[str, int]]
) -> list[tuple[str, int, str | None]]:
    """(award name, rank, team id or None when no entry reached that rank)."""
    team_at = {entry.rank: entry.team_id for entry in entries}
    return [(name, rank, team_at.get(rank)) for name, rank in sorted(awards, key=lambda a: a[1])]
