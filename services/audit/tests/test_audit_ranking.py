"""The audit's own recomputation of the leaderboard and awards agrees with the scoring
service's (two independent implementations of the same rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.ranking import Competitor, JudgeScore, recompute_awards, recompute_ranking
from scoring.domain.leaderboard import (
    Criterion,
    Entrant,
    Score,
    awards_granted,
    leaderboard,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)

criteria_st = st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=3).map(
    lambda weights: [Criterion(f"c{i}", float(w)) for i, w in enumerate(weights)]
)


@st.composite
def contests(draw: st.DrawFn) -> tuple[list[Criterion], list[Entrant], list[Score], str]:
    criteria = draw(criteria_st)
    count = draw(st.integers(min_value=0, max_value=6))
    entrants = [
        Entrant(
            f"sub{i}",
            f"team{i}",
            T0 + timedelta(minutes=draw(st.integers(0, 3))),  # ties in time happen
            withdrawn=draw(st.booleans()) and draw(st.booleans()),
        )
        for i in range(count)
    ]
    judges = [f"judge{j}" for j in range(draw(st.integers(min_value=1, max_value=4)))]
    scores = []
    for entrant in entrants:
        for judge in judges:
            if draw(st.booleans()):
                values = {c.key: draw(st.integers(1, 10)) / 2 + 0.5 for c in criteria}
                scores.append(Score(judge, entrant.submission_id, values))
    return criteria, entrants, scores, draw(st.sampled_from(["none", "zscore"]))


@settings(max_examples=200, deadline=None)
@given(contests())
def test_the_audit_ranks_as_the_scoring_service_does(
    contest: tuple[list[Criterion], list[Entrant], list[Score], str],
) -> None:
    criteria, entrants, scores, normalization = contest
    theirs = leaderboard(criteria, normalization, entrants, scores)
    mine = recompute_ranking(
        {c.key: c.weight for c in criteria},
        normalization,
        [
            Competitor(e.submission_id, e.team_id, e.first_submitted_at, e.withdrawn)
            for e in entrants
        ],
        [JudgeScore(s.judge_id, s.submission_id, s.values) for s in scores],
    )
    assert [(e.rank, e.submission_id, e.team_id, e.judges) for e in theirs] == [
        (m.rank, m.submission_id, m.team_id, m.judges) for m in mine
    ]
    for entry, ranked in zip(theirs, mine, strict=True):
        assert abs(entry.score - ranked.score) <= 1e-4
    offered = [("First", 1), ("Second", 2), ("Tenth", 10)]
    granted = awards_granted(theirs, offered)
    recomputed = recompute_awards(mine, [(name, "grant", None, rank) for name, rank in offered])
    assert granted == [(a.name, a.rank, a.team_id) for a in recomputed]


def test_ties_go_to_the_earlier_submission_then_the_smaller_id() -> None:
    weights = {"impact": 1.0}
    competitors = [
        Competitor("sub_b", "t1", T0),
        Competitor("sub_a", "t2", T0),
        Competitor("sub_0", "t3", T0 + timedelta(seconds=1)),
    ]
    scores = [JudgeScore("j", s.submission_id, {"impact": 5.0}) for s in competitors]
    ranking = recompute_ranking(weights, "none", competitors, scores)
    assert [r.submission_id for r in ranking] == ["sub_a", "sub_b", "sub_0"]


def test_a_judge_whose_totals_do_not_vary_contributes_zero_under_zscore() -> None:
    competitors = [Competitor("s1", "t1", T0), Competitor("s2", "t2", T0)]
    scores = [
        JudgeScore("flat", "s1", {"k": 7.0}),
        JudgeScore("flat", "s2", {"k": 7.0}),
        JudgeScore("keen", "s1", {"k": 2.0}),
        JudgeScore("keen", "s2", {"k": 9.0}),
    ]
    ranking = recompute_ranking({"k": 1.0}, "zscore", competitors, scores)
    assert [(r.submission_id, round(r.score, 4)) for r in ranking] == [("s2", 0.5), ("s1", -0.5)]
