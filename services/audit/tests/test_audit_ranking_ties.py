"""The audit's recomputation of ties and raw means agrees with the scoring service's (two
independent implementations: fractions there, whole numbers of one unit here), and the
comparison with what `ResultsPublished` announced names what differs."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.ranking import (
    TIE_BREAK,
    Competitor,
    JudgeScore,
    entry_differences,
    method_differences,
    recompute_ranking,
)
from scoring.domain.leaderboard import Criterion, Entrant, Score, leaderboard
from scoring.domain.placing import TIE_BREAK as SCORING_TIE_BREAK

T0 = datetime(2030, 1, 1, tzinfo=UTC)
# Few distinct values, some of them decimals that binary floating point cannot hold: ties
# and sums like 6.1 + 6.3 = 2 * 6.2 come up often.
VALUES = [1.0, 2.5, 6.1, 6.2, 6.3, 7.0, 7.00001, 9.9]


@st.composite
def contests(draw: st.DrawFn) -> tuple[list[Criterion], list[Entrant], list[Score], str]:
    weights = draw(st.lists(st.sampled_from([1.0, 2.0, 0.1, 0.3]), min_size=1, max_size=3))
    criteria = [Criterion(f"c{i}", w) for i, w in enumerate(weights)]
    entrants = [
        Entrant(
            f"sub{i}",
            f"team{i}",
            T0 + timedelta(minutes=draw(st.integers(0, 2))),  # same instants happen
            withdrawn=draw(st.booleans()) and draw(st.booleans()),
        )
        for i in range(draw(st.integers(min_value=0, max_value=7)))
    ]
    judges = [f"judge{j}" for j in range(draw(st.integers(min_value=1, max_value=3)))]
    scores = [
        Score(
            judge, entrant.submission_id, {c.key: draw(st.sampled_from(VALUES)) for c in criteria}
        )
        for entrant in entrants
        for judge in judges
        if draw(st.booleans())
    ]
    return criteria, entrants, scores, draw(st.sampled_from(["none", "zscore"]))


@settings(max_examples=300, deadline=None)
@given(contests())
def test_the_audit_finds_the_same_ties_and_raw_means_as_the_scoring_service(
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
    assert [(e.rank, e.submission_id, e.score_rank, e.tied_with, e.placed_by) for e in theirs] == [
        (m.rank, m.submission_id, m.score_rank, m.tied_with, m.placed_by) for m in mine
    ]
    for entry, ranked in zip(theirs, mine, strict=True):
        assert entry_differences(ranked, entry, 1e-4) == []


def test_both_state_the_same_tie_break_rule() -> None:
    assert TIE_BREAK == SCORING_TIE_BREAK


def test_a_six_point_two_from_one_judge_ties_six_point_one_and_six_point_three() -> None:
    competitors = [Competitor("pair", "t1", T0), Competitor("single", "t2", T0)]
    scores = [
        JudgeScore("j1", "pair", {"k": 6.1}),
        JudgeScore("j2", "pair", {"k": 6.3}),
        JudgeScore("j3", "single", {"k": 6.2}),
    ]
    ranking = recompute_ranking({"k": 1.0}, "none", competitors, scores)
    assert [(r.submission_id, r.rank, r.score_rank, r.tied_with, r.placed_by) for r in ranking] == [
        ("pair", 1, 1, 1, "smaller_submission_id"),
        ("single", 2, 1, 1, "smaller_submission_id"),
    ]
    assert [r.raw_mean for r in ranking] == [6.2, 6.2]


def test_equal_totals_of_one_judge_standardise_to_zero_in_the_audit_too() -> None:
    competitors = [Competitor(f"s{i}", f"t{i}", T0 + timedelta(seconds=i)) for i in range(7)]
    scores = [JudgeScore("flat", c.submission_id, {"k": 0.1}) for c in competitors]
    ranking = recompute_ranking({"k": 1.0}, "zscore", competitors, scores)
    assert {r.score for r in ranking} == {0.0}
    assert [r.score_rank for r in ranking] == [1] * 7
    assert [r.submission_id for r in ranking] == [c.submission_id for c in competitors]


@dataclass(frozen=True)
class Announced:
    rank: int
    submission_id: str
    team_id: str
    score: float
    judges: int
    raw_mean: float | None
    score_rank: int | None
    tied_with: int | None
    placed_by: str | None


def test_the_comparison_names_a_hidden_tie_and_a_wrong_raw_mean() -> None:
    competitors = [Competitor("s1", "t1", T0), Competitor("s2", "t2", T0 + timedelta(hours=1))]
    scores = [JudgeScore("j", "s1", {"k": 5.0}), JudgeScore("j", "s2", {"k": 5.0})]
    first, second = recompute_ranking({"k": 1.0}, "none", competitors, scores)
    honest = Announced(1, "s1", "t1", 5.0, 1, 5.0, 1, 1, "earlier_first_submission")
    assert entry_differences(first, honest, 1e-4) == []
    hidden = replace(honest, rank=2, submission_id="s2", team_id="t2", score_rank=2, tied_with=0)
    assert entry_differences(second, hidden, 1e-4) == [
        "score_rank 2, recomputed 1",
        "tied_with 0, recomputed 1",
    ]
    assert entry_differences(first, replace(honest, raw_mean=5.5), 1e-4) == [
        "raw mean 5.5, recomputed 5.0000"
    ]
    assert entry_differences(first, replace(honest, placed_by="score"), 1e-4) == [
        "placed_by score, recomputed earlier_first_submission"
    ]
    # An event published before ties were stated says nothing of them: nothing to compare.
    older = replace(honest, raw_mean=None, score_rank=None, tied_with=None, placed_by=None)
    assert entry_differences(first, older, 1e-4) == []


def test_the_comparison_names_a_wrong_method_or_rule() -> None:
    assert method_differences("zscore", "zscore", TIE_BREAK) == []
    assert method_differences("zscore", None, None) == []  # an older event
    assert method_differences("zscore", "none", "coin_toss") == [
        "normalisation none, the rubric's is zscore",
        f"tie-break coin_toss, the rule is {TIE_BREAK}",
    ]
