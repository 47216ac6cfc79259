"""The leaderboard against a straightforward computation written here, and the properties
a jury relies on."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.domain.leaderboard import Criterion, Entrant, Score, awards_granted, leaderboard

CRITERIA = [Criterion("impact", 3.0), Criterion("feasibility", 2.0), Criterion("novelty", 1.0)]
START = datetime(2026, 11, 1, tzinfo=UTC)
values = st.integers(min_value=1, max_value=10)


@st.composite
def juries(draw: st.DrawFn) -> tuple[list[Entrant], list[Score]]:
    entrants = [
        Entrant(
            f"sub{i:02d}",
            f"team{i:02d}",
            START + timedelta(minutes=draw(st.integers(min_value=0, max_value=5))),
            withdrawn=draw(st.booleans()) and draw(st.booleans()),
        )
        for i in range(draw(st.integers(min_value=0, max_value=8)))
    ]
    scores = []
    for judge in range(draw(st.integers(min_value=0, max_value=4))):
        for entrant in entrants:
            if draw(st.booleans()):
                scores.append(
                    Score(
                        f"judge{judge}",
                        entrant.submission_id,
                        {c.key: float(draw(values)) for c in CRITERIA},
                    )
                )
    return entrants, scores


def reference(
    entrants: list[Entrant], scores: list[Score], zscore: bool
) -> list[tuple[str, float]]:
    """The rules read plainly from DESIGN.md, computed the long way round."""
    active = {e.submission_id: e for e in entrants if not e.withdrawn}
    weight_sum = sum(c.weight for c in CRITERIA)
    totals: dict[tuple[str, str], float] = {}
    for s in scores:
        if s.submission_id in active:
            totals[(s.judge_id, s.submission_id)] = (
                sum(c.weight * s.values[c.key] for c in CRITERIA) / weight_sum
            )
    if zscore:
        for judge in {j for j, _ in totals}:
            mine = {k: v for k, v in totals.items() if k[0] == judge}
            mean = statistics.fmean(mine.values())
            spread = statistics.pstdev(mine.values())
            for key, value in mine.items():
                totals[key] = 0.0 if spread == 0 else (value - mean) / spread
    board = []
    for submission_id, entrant in active.items():
        judged = [v for (_, s), v in totals.items() if s == submission_id]
        if judged:
            board.append((entrant, statistics.fmean(judged)))
    board.sort(key=lambda row: (-round(row[1], 9), row[0].first_submitted_at, row[0].submission_id))
    return [(entrant.submission_id, round(score, 4)) for entrant, score in board]


@settings(max_examples=300, deadline=None)
@given(juries(), st.booleans())
def test_leaderboard_matches_the_plain_computation(
    jury: tuple[list[Entrant], list[Score]], zscore: bool
) -> None:
    entrants, scores = jury
    board = leaderboard(CRITERIA, "zscore" if zscore else "none", entrants, scores)
    expected = reference(entrants, scores, zscore)
    assert [e.submission_id for e in board] == [s for s, _ in expected]
    for entry, (_, score) in zip(board, expected, strict=True):
        assert abs(entry.score - score) <= 1e-4
    assert [e.rank for e in board] == list(range(1, len(board) + 1))


@settings(max_examples=200, deadline=None)
@given(juries(), st.integers(min_value=1, max_value=5))
def test_zscore_removes_a_lenient_judges_bias(
    jury: tuple[list[Entrant], list[Score]], leniency: int
) -> None:
    entrants, scores = jury
    lenient = [
        Score(s.judge_id, s.submission_id, {k: v + leniency for k, v in s.values.items()})
        if s.judge_id == "judge0"
        else s
        for s in scores
    ]
    plain = {e.submission_id: e.score for e in leaderboard(CRITERIA, "zscore", entrants, scores)}
    biased = {e.submission_id: e.score for e in leaderboard(CRITERIA, "zscore", entrants, lenient)}
    assert plain.keys() == biased.keys()
    for submission_id, score in plain.items():
        assert abs(biased[submission_id] - score) <= 2e-4


def test_ties_go_to_the_earlier_first_submission_then_the_smaller_id() -> None:
    entrants = [
        Entrant("sub_b", "t1", START + timedelta(minutes=1)),
        Entrant("sub_c", "t2", START),
        Entrant("sub_a", "t3", START + timedelta(minutes=1)),
        Entrant("sub_unscored", "t4", START),
    ]
    same = {"impact": 7.0, "feasibility": 7.0, "novelty": 7.0}
    scores = [Score("j", s, same) for s in ("sub_a", "sub_b", "sub_c")]
    board = leaderboard(CRITERIA, "none", entrants, scores)
    assert [e.submission_id for e in board] == ["sub_c", "sub_a", "sub_b"]
    assert [(e.rank, e.score, e.judges) for e in board] == [(1, 7.0, 1), (2, 7.0, 1), (3, 7.0, 1)]


def test_a_judges_total_is_the_weighted_mean_and_awards_follow_the_ranks() -> None:
    entrants = [Entrant("s1", "t1", START), Entrant("s2", "t2", START)]
    scores = [
        Score("j1", "s1", {"impact": 10.0, "feasibility": 4.0, "novelty": 1.0}),  # 39/6 = 6.5
        Score("j2", "s1", {"impact": 6.0, "feasibility": 6.0, "novelty": 6.0}),  # 6
        Score("j1", "s2", {"impact": 2.0, "feasibility": 2.0, "novelty": 2.0}),  # 2
    ]
    board = leaderboard(CRITERIA, "none", entrants, scores)
    assert [(e.submission_id, e.score, e.judges) for e in board] == [
        ("s1", 6.25, 2),
        ("s2", 2.0, 1),
    ]
    granted = awards_granted(board, [("Grant", 2), ("Mentorship", 1), ("Honourable", 3)])
    assert granted == [("Mentorship", 1, "t1"), ("Grant", 2, "t2"), ("Honourable", 3, None)]
