"""The leaderboard and the awards, recomputed by the audit from the events alone.

Written here again on purpose, from the rules in the design (not by calling the scoring
service's code), so that a mistake in the service does not hide in its own audit; a test
checks that both agree.

- A judge's total for a submission is the weighted mean of its criterion values (recomputed
  from the values, not taken from the event's ``total``).
- ``zscore``: each judge's totals are standardised over that judge's own totals (population
  standard deviation; a judge whose totals are all equal contributes 0 for each).
- A submission's score is the mean of its judges' (normalised) latest totals.
- Ranking by score descending (compared at 9 decimals), ties to the earlier first submission,
  then the smaller submission id. Withdrawn and unscored submissions are not ranked.
- The award offered for rank *r* goes to the team ranked *r*, or to nobody.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

TIE_DECIMALS = 9


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
    rank: int
    submission_id: str
    team_id: str
    score: float  # at full precision; compare with the published (rounded) score
    judges: int


@dataclass(frozen=True)
class Award:
    name: str
    kind: str
    amount: float | None
    rank: int
    team_id: str | None


def judge_total(weights: Mapping[str, float], values: Mapping[str, float]) -> float:
    return math.fsum(weights[k] * values[k] for k in weights) / math.fsum(weights.values())


def _zscores(totals: Mapping[str, float]) -> dict[str, float]:
    count = len(totals)
    mean = math.fsum(totals.values()) / count
    spread = math.sqrt(math.fsum((t - mean) ** 2 for t in totals.values()) / count)
    if spread == 0:
        return dict.fromkeys(totals, 0.0)
    return {s: (t - mean) / spread for s, t in totals.items()}


def recompute_ranking(
    weights: Mapping[str, float],
    normalization: str,
    competitors: Iterable[Competitor],
    scores: Iterable[JudgeScore],
) -> list[Ranked]:
    field = {c.submission_id: c for c in competitors if not c.withdrawn}
    by_judge: dict[str, dict[str, float]] = {}
    for score in scores:
        if score.submission_id in field:
            by_judge.setdefault(score.judge_id, {})[score.submission_id] = judge_total(
                weights, score.values
            )
    if normalization == "zscore":
        by_judge = {judge: _zscores(totals) for judge, totals in by_judge.items()}
    collected: dict[str, list[float]] = {}
    for judge in sorted(by_judge):
        for submission_id, total in by_judge[judge].items():
            collected.setdefault(submission_id, []).append(total)
    means = {s: math.fsum(t) / len(t) for s, t in collected.items()}
    order = sorted(
        means,
        key=lambda s: (-round(means[s], TIE_DECIMALS), field[s].first_submitted_at, s),
    )
    return [
        Ranked(rank, s, field[s].team_id, means[s], len(collected[s]))
        for rank, s in enumerate(order, start=1)
    ]


def recompute_awards(
    ranking: Sequence[Ranked], offered: Iterable[tuple[str, str, float | None, int]]
) -> list[Award]:
    """``offered``: (name, kind, amount, rank) as announced in ``HackathonCreated``."""
    team_at = {entry.rank: entry.team_id for entry in ranking}
    return [
        Award(name, kind, amount, rank, team_at.get(rank))
        for name, kind, amount, rank in sorted(offered, key=lambda a: a[3])
    ]
