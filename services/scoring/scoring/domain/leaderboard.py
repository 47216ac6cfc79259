"""The leaderboard: a pure function of the rubric and the judges' latest scores.

- A judge's total for a submission is the weighted mean of its criterion values.
- A submission's raw mean is the mean of its judges' totals, before any normalisation.
- With ``zscore`` normalisation each judge's totals are standardised over that judge's own
  totals (population standard deviation; a judge whose totals do not vary contributes 0).
- A submission's score is the mean of its judges' (normalised) totals: its raw mean with
  ``none``.
- Totals, raw means, and each judge's deviations and variance are computed exactly, on the
  numbers as they were written: each criterion value and weight is the shortest decimal that
  reads back as the same float (what the JSON said: 6.1, not the binary 6.0999999999999996),
  and ``Fraction`` keeps every step exact. So the mean of 6.1 and 6.3 is 6.2, tied with a
  6.2; equal totals give a deviation of exactly 0, so floating-point error can neither turn
  a judge who gave everyone the same total into a spread, nor split or make a tie. With
  ``none`` the score is exact; with ``zscore`` each z-score is the correctly rounded root of
  an exact ratio (equal z-scores are the same float) and the score their correctly rounded
  mean (``math.fsum``).
- The order, the ties and the tie-break are :mod:`scoring.domain.placing`'s: ties at full
  precision (exact with ``none``, within ``ZSCORE_TIE_TOLERANCE`` with ``zscore``).
- Scores and raw means are rounded to 4 decimals in the answer.
- Unscored and withdrawn submissions are left out.
The audit recomputes the same from the log, so every rule here is also in the docs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from scoring.domain.placing import Contender, PlacedBy, place

SCORE_DECIMALS = 4
ZSCORE_TIE_TOLERANCE = 1e-12
"""Two z-score means closer than this are the same score: z-scores are differences measured
in standard deviations (bounded by the square root of the number of scores), so this is far
under any difference a jury can make and far above the rounding of their mean (about 1e-16)."""


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
    rank: int  # the place, one per entry; among tied entries the tie-break's
    submission_id: str
    team_id: str
    score: float
    judges: int
    raw_mean: float
    score_rank: int  # tied entries share it: 1, 1, 3
    tied_with: int
    placed_by: PlacedBy


def _shown(value: Fraction | float) -> float:
    return round(float(value), SCORE_DECIMALS) + 0.0  # + 0.0: never -0.0


def as_written(number: float) -> Fraction:
    """The decimal a float was written as: the shortest one that reads back as it."""
    return Fraction(repr(number))


class _Weights:
    """The rubric's weights as exact fractions, converted once for a whole leaderboard, and
    the criterion values met so far (juries use few distinct values)."""

    def __init__(self, criteria: Sequence[Criterion]) -> None:
        self.weights = [(c.key, as_written(c.weight)) for c in criteria]
        self.sum = sum((w for _, w in self.weights), Fraction(0))
        self.values: dict[float, Fraction] = {}

    def exact(self, value: float) -> Fraction:
        found = self.values.get(value)
        if found is None:
            found = self.values[value] = as_written(value)
        return found

    def total(self, values: Mapping[str, float]) -> Fraction:
        weighted = sum((w * self.exact(values[key]) for key, w in self.weights), Fraction(0))
        return weighted / self.sum


def exact_weighted_total(criteria: Sequence[Criterion], values: Mapping[str, float]) -> Fraction:
    """The weighted mean of the criterion values as written, exactly (so it never overflows
    either, whatever the weights)."""
    return _Weights(criteria).total(values)


def weighted_total(criteria: Sequence[Criterion], values: Mapping[str, float]) -> float:
    """A judge's total: the exact weighted mean, correctly rounded to a float."""
    return float(exact_weighted_total(criteria, values))


def standardised(totals: Mapping[str, Fraction]) -> dict[str, float]:
    """One judge's totals as z-scores over that judge's own totals (population standard
    deviation); all 0 when they do not vary."""
    mean = sum(totals.values(), Fraction(0)) / len(totals)
    deviations = {key: total - mean for key, total in totals.items()}
    variance = sum((d * d for d in deviations.values()), Fraction(0)) / len(totals)
    if variance == 0:
        return dict.fromkeys(totals, 0.0)
    # |d| / sqrt(variance) as sqrt(d² / variance): an exact ratio rounded once, so that equal
    # deviations over equal spreads are the same float whichever judge gave them.
    return {
        key: math.copysign(math.sqrt(d * d / variance), d) + 0.0 for key, d in deviations.items()
    }


def leaderboard(
    criteria: Sequence[Criterion],
    normalization: str,
    entrants: Iterable[Entrant],
    scores: Iterable[Score],
) -> list[Entry]:
    competing = {e.submission_id: e for e in entrants if not e.withdrawn}
    weights = _Weights(criteria)
    totals_by_judge: dict[str, dict[str, Fraction]] = {}
    for score in scores:
        if score.submission_id in competing:
            totals_by_judge.setdefault(score.judge_id, {})[score.submission_id] = weights.total(
                score.values
            )
    raw: dict[str, list[Fraction]] = {}
    normalised: dict[str, list[float]] = {}
    for judge_id in sorted(totals_by_judge):
        totals = totals_by_judge[judge_id]
        for submission_id, total in totals.items():
            raw.setdefault(submission_id, []).append(total)
        if normalization == "zscore":
            for submission_id, z in standardised(totals).items():
                normalised.setdefault(submission_id, []).append(z)
    raw_means = {s: sum(t, Fraction(0)) / len(t) for s, t in raw.items()}
    score_of: dict[str, Fraction | float]
    if normalization == "zscore":
        score_of = {s: math.fsum(z) / len(z) for s, z in normalised.items()}
        tolerance = ZSCORE_TIE_TOLERANCE
    else:
        score_of = dict(raw_means)
        tolerance = 0.0
    placements = place(
        [
            Contender(s, competing[s].first_submitted_at, score)
            for s, score in sorted(score_of.items())
        ],
        tolerance,
    )
    return [
        Entry(
            rank=p.place,
            submission_id=p.contender.submission_id,
            team_id=competing[p.contender.submission_id].team_id,
            score=_shown(p.contender.score),
            judges=len(raw[p.contender.submission_id]),
            raw_mean=_shown(raw_means[p.contender.submission_id]),
            score_rank=p.score_rank,
            tied_with=p.tied_with,
            placed_by=p.placed_by,
        )
        for p in placements
    ]


def awards_granted(
    entries: Sequence[Entry], awards: Iterable[tuple[str, int]]
) -> list[tuple[str, int, str | None]]:
    """(award name, rank, team id or None when no entry reached that rank). Awards go by
    place, so among tied entries the tie-break decides who gets one."""
    team_at = {entry.rank: entry.team_id for entry in entries}
    return [(name, rank, team_at.get(rank)) for name, rank in sorted(awards, key=lambda a: a[1])]
