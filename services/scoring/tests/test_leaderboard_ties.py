"""Ties on the leaderboard: equal scores at full precision are shown as tied (a shared score
rank, how many share it, what placed each), the tie-break places them and so decides the
awards, near-ties are not ties, and z-scores of equal totals are exactly 0."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from scoring.domain.leaderboard import (
    Criterion,
    Entrant,
    Entry,
    Score,
    awards_granted,
    leaderboard,
    standardised,
    weighted_total,
)
from scoring.domain.placing import Contender, place

ONE = [Criterion("k", 1.0)]
T0 = datetime(2030, 3, 1, 9, 0, tzinfo=UTC)


def entrant(name: str, minutes: int) -> Entrant:
    return Entrant(f"sub_{name}", f"team_{name}", T0 + timedelta(minutes=minutes))


def scored(judge: str, who: Entrant, value: float) -> Score:
    return Score(judge, who.submission_id, {"k": value})


def summary(board: list[Entry]) -> list[tuple[str, int, int, int, str]]:
    return [(e.team_id, e.rank, e.score_rank, e.tied_with, e.placed_by) for e in board]


def test_equal_scores_share_a_score_rank_and_the_tie_break_places_them() -> None:
    late, early, middle = entrant("late", 30), entrant("early", 0), entrant("mid", 10)
    last = entrant("last", 5)
    scores = [scored("j", e, 7.0) for e in (late, early, middle)] + [scored("j", last, 4.0)]
    board = leaderboard(ONE, "none", [late, early, middle, last], scores)
    assert summary(board) == [
        ("team_early", 1, 1, 2, "earlier_first_submission"),
        ("team_mid", 2, 1, 2, "earlier_first_submission"),
        ("team_late", 3, 1, 2, "earlier_first_submission"),
        ("team_last", 4, 4, 0, "score"),  # competition ranking: 1, 1, 1, 4
    ]
    # The award for first place goes to the earliest first submission of the tie.
    granted = awards_granted(board, [("Grant", 1), ("Mentorship", 2)])
    assert granted == [("Grant", 1, "team_early"), ("Mentorship", 2, "team_mid")]


def test_one_two_two_four_when_the_tie_is_in_the_middle() -> None:
    a, b, c, d = (entrant(n, m) for n, m in (("a", 3), ("b", 2), ("c", 1), ("d", 0)))
    values = {a: 9.0, b: 6.5, c: 6.5, d: 2.0}
    board = leaderboard(ONE, "none", list(values), [scored("j", e, v) for e, v in values.items()])
    assert [(e.team_id, e.rank, e.score_rank) for e in board] == [
        ("team_a", 1, 1),
        ("team_c", 2, 2),
        ("team_b", 3, 2),
        ("team_d", 4, 4),
    ]
    assert [e.tied_with for e in board] == [0, 1, 1, 0]


def test_a_tie_at_the_same_instant_is_placed_by_the_submission_id() -> None:
    twins = [Entrant("sub_b", "team_b", T0), Entrant("sub_a", "team_a", T0)]
    earlier = Entrant("sub_z", "team_z", T0 - timedelta(seconds=1))
    board = leaderboard(
        ONE, "none", [*twins, earlier], [scored("j", e, 5.0) for e in (*twins, earlier)]
    )
    assert summary(board) == [
        ("team_z", 1, 1, 2, "earlier_first_submission"),
        ("team_a", 2, 1, 2, "smaller_submission_id"),
        ("team_b", 3, 1, 2, "smaller_submission_id"),
    ]


def test_scores_equal_once_rounded_are_not_a_tie() -> None:
    # Both show as 7.0 at 4 decimals; the full scores differ, and the higher one is first
    # although it was submitted later.
    first, later = entrant("first", 0), entrant("later", 60)
    board = leaderboard(
        ONE, "none", [first, later], [scored("j", first, 7.00001), scored("j", later, 7.00002)]
    )
    assert [(e.team_id, e.score) for e in board] == [("team_later", 7.0), ("team_first", 7.0)]
    assert summary(board) == [
        ("team_later", 1, 1, 0, "score"),
        ("team_first", 2, 2, 0, "score"),
    ]


def test_means_equal_as_written_are_a_tie_whatever_the_binary_rounding() -> None:
    # (6.1 + 6.3) / 2 is 6.2, but not in binary floating point: 6.1 + 6.3 there is
    # 12.399999999999999.
    assert (6.1 + 6.3) / 2 != 6.2
    pair, single = entrant("pair", 5), entrant("single", 0)
    scores = [scored("j1", pair, 6.1), scored("j2", pair, 6.3), scored("j3", single, 6.2)]
    board = leaderboard(ONE, "none", [pair, single], scores)
    assert summary(board) == [
        ("team_single", 1, 1, 1, "earlier_first_submission"),
        ("team_pair", 2, 1, 1, "earlier_first_submission"),
    ]
    assert [(e.score, e.raw_mean, e.judges) for e in board] == [(6.2, 6.2, 1), (6.2, 6.2, 2)]


def test_weighted_totals_are_the_weighted_means_of_the_values_as_written() -> None:
    criteria = [Criterion("a", 0.1), Criterion("b", 0.2)]
    assert weighted_total(criteria, {"a": 3.0, "b": 3.0}) == 3.0
    # Weights so large that their float sum overflows still give a finite mean.
    huge = [Criterion("a", 1e308), Criterion("b", 1e308)]
    assert weighted_total(huge, {"a": 4.0, "b": 6.0}) == 5.0


def test_a_judge_whose_totals_are_equal_standardises_them_to_exactly_zero() -> None:
    # Plain floating point gives these a tiny spread (the mean of seven 0.1s is not 0.1
    # there), which standardising would blow up to ±1.
    for value, count in ((0.1, 3), (0.1, 7), (2.2, 7), (6.35, 3), (6.35, 7), (5.55, 7)):
        totals = {f"s{i}": weighted_total(ONE, {"k": value}) for i in range(count)}
        exact = {key: Fraction(repr(total)) for key, total in totals.items()}
        assert set(standardised(exact).values()) == {0.0}, (value, count)


def test_zscore_ties_equal_totals_and_keeps_near_equal_ones_apart() -> None:
    a, b, c, d = (entrant(n, m) for n, m in (("a", 0), ("b", 1), ("c", 2), ("d", 3)))
    # One judge gives everyone 6.35: all contribute 0, a tie of all four.
    flat = [scored("flat", e, 6.35) for e in (a, b, c, d)]
    board = leaderboard(ONE, "zscore", [a, b, c, d], flat)
    assert [(e.score, e.score_rank, e.tied_with) for e in board] == [(0.0, 1, 3)] * 4
    assert [e.team_id for e in board] == ["team_a", "team_b", "team_c", "team_d"]
    assert [e.raw_mean for e in board] == [6.35] * 4

    # Two judges who spread their totals alike: the same deviation over the same spread is
    # the same z-score whichever judge gave it, so b (top of j1) and c (top of j2) tie.
    def two_judges(c_value: float) -> dict[str, Entry]:
        scores = [
            scored("j1", a, 4.0),
            scored("j1", b, 8.0),
            scored("j1", d, 6.0),
            scored("j2", a, 0.5),
            scored("j2", c, c_value),
            scored("j2", d, 1.0),
        ]
        return {e.team_id: e for e in leaderboard(ONE, "zscore", [a, b, c, d], scores)}

    tied = two_judges(1.5)
    assert [
        (tied[t].rank, tied[t].score_rank, tied[t].tied_with) for t in ("team_b", "team_c")
    ] == [
        (1, 1, 1),
        (2, 1, 1),
    ]
    assert tied["team_b"].placed_by == tied["team_c"].placed_by == "earlier_first_submission"
    assert (tied["team_b"].raw_mean, tied["team_c"].raw_mean) == (8.0, 1.5)
    # A top total a hundred-thousandth higher is a z-score a few millionths higher: c is
    # ahead alone, though both show 1.2247.
    apart = two_judges(1.50001)
    assert [
        (apart[t].rank, apart[t].score_rank, apart[t].tied_with) for t in ("team_c", "team_b")
    ] == [
        (1, 1, 0),
        (2, 2, 0),
    ]
    assert apart["team_c"].placed_by == apart["team_b"].placed_by == "score"
    assert apart["team_c"].score == apart["team_b"].score == 1.2247


def test_placing_chains_scores_within_the_tolerance() -> None:
    contenders = [
        Contender("s1", T0, 0.5),
        Contender("s2", T0 + timedelta(seconds=1), 0.5 + 4e-13),
        Contender("s3", T0 + timedelta(seconds=2), 0.5 - 1e-6),
    ]
    placed = place(contenders, tolerance=1e-12)
    assert [(p.contender.submission_id, p.score_rank, p.tied_with) for p in placed] == [
        ("s1", 1, 1),
        ("s2", 1, 1),
        ("s3", 3, 0),
    ]
    exact = place(contenders)  # no tolerance: 4e-13 apart is apart
    assert [p.contender.submission_id for p in exact] == ["s2", "s1", "s3"]
    assert [p.score_rank for p in exact] == [1, 2, 3]
