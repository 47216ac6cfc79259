"""The leaderboard and the awards, recomputed by the audit from the events alone.

Written here again on purpose, from the rules in the design and docs/results.md (not by
calling the scoring service's code), so that a mistake in the service does not hide in its
own audit; a test checks that both agree.

- A judge's total for a submission is the weighted mean of its criterion values (recomputed
  from the values, not taken from the event's ``total``), exactly, on the numbers as they
  were written (each the shortest decimal that reads back as its float: 6.1, not the binary
  6.0999999999999996): an integer times a power of ten, so every total of a hackathon is a
  whole number of one unit (``_Units``), and the rest is integer arithmetic.
- A submission's raw mean is the mean of its judges' latest totals, exactly.
- ``zscore``: each judge's totals are standardised over that judge's own totals (population
  standard deviation; a judge whose totals are all equal contributes 0 for each), from exact
  deviations: z = sign(d)·sqrt(d²/variance), the ratio exact and rounded once.
- A submission's score is the mean of its judges' (normalised) latest totals: its raw mean
  with ``none``; the correctly rounded mean (``math.fsum``) of its z-scores with ``zscore``.
- Ties at full precision: equal exact scores with ``none``; z-score means within
  ``ZSCORE_TIE_TOLERANCE`` of the one above with ``zscore``. Ranking by score descending;
  tied entries share their score rank (1, 1, 3) and are placed by the earlier first
  submission, then the smaller submission id; each entry says what placed it. Withdrawn and
  unscored submissions are not ranked.
- The award offered for rank (place) *r* goes to the team placed *r*, or to nobody.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

TIE_BREAK = "earlier_first_submission_then_smaller_submission_id"
ZSCORE_TIE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class Competitor:
    submission_id: str
    team_id: str
    first_submitted_at: datetime
    withdrawn: bool = False


@dataclass(frozen=True)
class JudgeScore:
    """One judge's latest values for one submission."""

    judge_id: str
    submission_id: str
    values: Mapping[str, float]


@dataclass(frozen=True)
class Ranked:
    rank: int  # the place: one per entry, by which awards go
    submission_id: str
    team_id: str
    score: float  # at full precision; compare with the published (rounded) score
    judges: int
    raw_mean: float  # at full precision too
    score_rank: int  # shared by tied entries
    tied_with: int
    placed_by: str  # "score", "earlier_first_submission" or "smaller_submission_id"


@dataclass(frozen=True)
class Award:
    name: str
    kind: str
    amount: float | None
    rank: int
    team_id: str | None


class AnnouncedEntry(Protocol):
    """An entry as ``ResultsPublished`` announced it; the last four are None in events
    published before ties were stated."""

    @property
    def rank(self) -> int: ...
    @property
    def submission_id(self) -> str: ...
    @property
    def team_id(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def judges(self) -> int: ...
    @property
    def raw_mean(self) -> float | None: ...
    @property
    def score_rank(self) -> int | None: ...
    @property
    def tied_with(self) -> int | None: ...
    @property
    def placed_by(self) -> str | None: ...


def judge_total(weights: Mapping[str, float], values: Mapping[str, float]) -> float:
    """A judge's total as a float, to compare with an event's ``total`` (within a tolerance)."""
    return math.fsum(weights[k] * values[k] for k in weights) / math.fsum(weights.values())


def _as_written(number: float) -> tuple[int, int]:
    """The decimal a float was written as (the shortest that reads back as it), as an integer
    and a power of ten: (m, e) for m·10^e."""
    sign, digits, exponent = Decimal(repr(number)).as_tuple()
    assert isinstance(exponent, int)  # finite: the events' numbers are
    mantissa = int("".join(map(str, digits)))
    return (-mantissa if sign else mantissa), exponent


class _Units:
    """A hackathon's totals as whole numbers of one unit, exactly. With every weight w_k and
    value v written as integers times 10^lowest exponent (W_k, V_k), a total
    Σ w_k·v_k / Σ w_k is Σ W_k·V_k units of 10^(values' lowest exponent) / Σ W_k."""

    def __init__(self, weights: Mapping[str, float], values: Iterable[Mapping[str, float]]):
        self.written: dict[float, tuple[int, int]] = {}
        weight_of = {k: self._written(w) for k, w in weights.items()}
        low = min((e for _, e in weight_of.values()), default=0)
        self.weights = {k: m * 10 ** (e - low) for k, (m, e) in weight_of.items()}
        self.low = min((self._written(v)[1] for score in values for v in score.values()), default=0)
        scale = 10**self.low if self.low >= 0 else Fraction(1, 10**-self.low)
        self.unit = scale / sum(self.weights.values())

    def _written(self, number: float) -> tuple[int, int]:
        found = self.written.get(number)
        if found is None:
            found = self.written[number] = _as_written(number)
        return found

    def of(self, values: Mapping[str, float]) -> int:
        total = 0
        for key, weight in self.weights.items():
            mantissa, exponent = self._written(values[key])
            total += weight * mantissa * 10 ** (exponent - self.low)
        return total


def _zscores(units: Mapping[str, int]) -> dict[str, float]:
    """From one judge's totals (in units): with n totals t summing to S, n·t - S is n times a
    deviation d, and d²/variance = n·(n·t - S)² / Σ(n·t - S)², a ratio of integers (Python
    divides integers correctly rounded); the unit cancels."""
    count = len(units)
    whole = sum(units.values())
    scaled = {s: count * t - whole for s, t in units.items()}
    squares = sum(d * d for d in scaled.values())
    if squares == 0:
        return dict.fromkeys(units, 0.0)
    return {
        s: math.copysign(math.sqrt(count * d * d / squares), d) + 0.0 for s, d in scaled.items()
    }


def _placed_by(submission_id: str, tie: Sequence[str], field: Mapping[str, Competitor]) -> str:
    if len(tie) == 1:
        return "score"
    when = field[submission_id].first_submitted_at
    if sum(1 for other in tie if field[other].first_submitted_at == when) > 1:
        return "smaller_submission_id"
    return "earlier_first_submission"


def recompute_ranking(
    weights: Mapping[str, float],
    normalization: str,
    competitors: Iterable[Competitor],
    scores: Iterable[JudgeScore],
) -> list[Ranked]:
    field = {c.submission_id: c for c in competitors if not c.withdrawn}
    counted = [s for s in scores if s.submission_id in field]
    units = _Units(weights, (s.values for s in counted))
    by_judge: dict[str, dict[str, int]] = {}
    for score in counted:
        by_judge.setdefault(score.judge_id, {})[score.submission_id] = units.of(score.values)
    raw: dict[str, list[int]] = {}
    zs: dict[str, list[float]] = {}
    for judge in sorted(by_judge):
        for submission_id, total in by_judge[judge].items():
            raw.setdefault(submission_id, []).append(total)
        if normalization == "zscore":
            for submission_id, z in _zscores(by_judge[judge]).items():
                zs.setdefault(submission_id, []).append(z)
    # raw means in units (the unit is positive, so they order as the means do)
    raw_means = {s: Fraction(sum(t), len(t)) for s, t in raw.items()}
    means: Mapping[str, Fraction | float]
    if normalization == "zscore":
        means, tolerance = {s: math.fsum(z) / len(z) for s, z in zs.items()}, ZSCORE_TIE_TOLERANCE
    else:
        means, tolerance = raw_means, 0.0
    ties: list[list[str]] = []
    for s in sorted(means, key=lambda s: means[s], reverse=True):
        if ties and means[ties[-1][-1]] - means[s] <= tolerance:
            ties[-1].append(s)
        else:
            ties.append([s])
    ranking: list[Ranked] = []
    for tie in ties:
        score_rank = len(ranking) + 1
        for s in sorted(tie, key=lambda s: (field[s].first_submitted_at, s)):
            raw_mean = float(raw_means[s] * units.unit)
            ranking.append(
                Ranked(
                    len(ranking) + 1,
                    s,
                    field[s].team_id,
                    float(means[s]) if normalization == "zscore" else raw_mean,
                    len(raw[s]),
                    raw_mean,
                    score_rank,
                    len(tie) - 1,
                    _placed_by(s, tie, field),
                )
            )
    return ranking


def entry_differences(mine: Ranked, announced: AnnouncedEntry, score_tolerance: float) -> list[str]:
    """What the announced entry says that the recomputed one at the same place does not
    (empty when they agree). The raw mean and the tie are checked where the event states
    them: events published before ties were stated do not."""
    found = []
    for name in ("rank", "submission_id", "team_id", "judges"):
        if getattr(mine, name) != getattr(announced, name):
            found.append(f"{name} {getattr(announced, name)}, recomputed {getattr(mine, name)}")
    if abs(mine.score - announced.score) > score_tolerance:
        found.append(f"score {announced.score}, recomputed {mine.score:.4f}")
    if announced.raw_mean is not None and abs(mine.raw_mean - announced.raw_mean) > score_tolerance:
        found.append(f"raw mean {announced.raw_mean}, recomputed {mine.raw_mean:.4f}")
    for name in ("score_rank", "tied_with", "placed_by"):
        stated = getattr(announced, name)
        if stated is not None and stated != getattr(mine, name):
            found.append(f"{name} {stated}, recomputed {getattr(mine, name)}")
    return found


def method_differences(
    normalization: str, announced_normalization: str | None, announced_tie_break: str | None
) -> list[str]:
    """What the results say of their method that the hackathon and the rules do not (empty
    when they agree; older events state neither)."""
    found = []
    if announced_normalization is not None and announced_normalization != normalization:
        found.append(f"normalisation {announced_normalization}, the rubric's is {normalization}")
    if announced_tie_break is not None and announced_tie_break != TIE_BREAK:
        found.append(f"tie-break {announced_tie_break}, the rule is {TIE_BREAK}")
    return found


def recompute_awards(
    ranking: Sequence[Ranked], offered: Iterable[tuple[str, str, float | None, int]]
) -> list[Award]:
    """``offered``: (name, kind, amount, rank) as announced in ``HackathonCreated``."""
    team_at = {entry.rank: entry.team_id for entry in ranking}
    return [
        Award(name, kind, amount, rank, team_at.get(rank))
        for name, kind, amount, rank in sorted(offered, key=lambda a: a[3])
    ]
