"""Property-based tests of judge assignment: coverage, conflicts, balance, determinism and
incremental runs."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.domain.assignment import Judge, SubmissionToJudge, assign

team_ids = st.sampled_from([f"team{i}" for i in range(8)])


@st.composite
def scenarios(
    draw: st.DrawFn, conflicts: bool = True
) -> tuple[list[SubmissionToJudge], list[Judge], int]:
    count = draw(st.integers(min_value=0, max_value=15))
    submissions = [SubmissionToJudge(f"sub{i:02d}", draw(team_ids)) for i in range(count)]
    judges = [
        Judge(
            f"judge{j}",
            frozenset(draw(st.sets(team_ids, max_size=3))) if conflicts else frozenset(),
        )
        for j in range(draw(st.integers(min_value=0, max_value=7)))
    ]
    return submissions, judges, draw(st.integers(min_value=1, max_value=4))


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_every_submission_gets_distinct_unconflicted_judges_or_a_shortfall(
    scenario: tuple[list[SubmissionToJudge], list[Judge], int],
) -> None:
    submissions, judges, per_submission = scenario
    result = assign(submissions, judges, per_submission)
    conflicts = {j.judge_id: j.conflicts for j in judges}
    short = {s.submission_id: s for s in result.shortfalls}
    for submission in submissions:
        chosen = result.judges_of[submission.submission_id]
        assert len(chosen) == len(set(chosen))
        assert all(submission.team_id not in conflicts[j] for j in chosen)
        eligible = [j for j in judges if submission.team_id not in j.conflicts]
        assert len(chosen) == min(per_submission, len(eligible))
        assert (submission.submission_id in short) == (len(eligible) < per_submission)
        if submission.submission_id in short:
            assert short[submission.submission_id].eligible == len(eligible)


@settings(max_examples=200, deadline=None)
@given(scenarios(conflicts=False))
def test_without_conflicts_loads_differ_by_at_most_one(
    scenario: tuple[list[SubmissionToJudge], list[Judge], int],
) -> None:
    submissions, judges, per_submission = scenario
    loads = assign(submissions, judges, per_submission).loads()
    every = [loads.get(j.judge_id, 0) for j in judges]
    if every:
        assert max(every) - min(every) <= 1


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_with_conflicts_no_single_move_could_narrow_the_loads(
    scenario: tuple[list[SubmissionToJudge], list[Judge], int],
) -> None:
    submissions, judges, per_submission = scenario
    result = assign(submissions, judges, per_submission)
    loads = {j.judge_id: 0 for j in judges} | result.loads()
    teams = {s.submission_id: s.team_id for s in submissions}
    for submission_id, judge_id in result.added:
        for other in judges:
            if teams[submission_id] in other.conflicts:
                continue
            if other.judge_id in result.judges_of[submission_id]:
                continue
            assert loads[other.judge_id] > loads[judge_id] - 2, (submission_id, judge_id, other)


def test_a_conflict_does_not_pile_everything_on_one_judge() -> None:
    # B may not judge team t2; the balanced answer is s1 -> B, s2 -> A.
    result = assign(
        [SubmissionToJudge("s1", "t1"), SubmissionToJudge("s2", "t2")],
        [Judge("A"), Judge("B", frozenset({"t2"}))],
        1,
    )
    assert result.judges_of == {"s1": ["B"], "s2": ["A"]}


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_same_inputs_in_any_order_give_the_same_assignment(
    scenario: tuple[list[SubmissionToJudge], list[Judge], int], shuffler: random.Random
) -> None:
    submissions, judges, per_submission = scenario
    first = assign(submissions, judges, per_submission)
    shuffled_submissions, shuffled_judges = list(submissions), list(judges)
    shuffler.shuffle(shuffled_submissions)
    shuffler.shuffle(shuffled_judges)
    again = assign(shuffled_submissions, shuffled_judges, per_submission)
    assert again.judges_of == first.judges_of
    assert again.added == first.added


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.integers(min_value=0, max_value=15))
def test_running_again_keeps_what_was_assigned_and_only_adds_what_is_new(
    scenario: tuple[list[SubmissionToJudge], list[Judge], int], split: int
) -> None:
    submissions, judges, per_submission = scenario
    earlier, later = submissions[:split], submissions[split:]
    first = assign(earlier, judges, per_submission)
    second = assign(submissions, judges, per_submission, existing=first.judges_of)
    for submission in earlier:
        assert (
            second.judges_of[submission.submission_id] == first.judges_of[submission.submission_id]
        )
    assert {s for s, _ in second.added} <= {s.submission_id for s in later}
    unchanged = assign(submissions, judges, per_submission, existing=second.judges_of)
    assert unchanged.added == []
    assert unchanged.judges_of == second.judges_of
