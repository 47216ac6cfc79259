"""A judge's conflicts: declared, and every team they are or were in."""

from __future__ import annotations

from scoring.domain.assignment import Judge, SubmissionToJudge, assign
from scoring.domain.conflicts import Conflicts


def test_membership_conflicts_without_a_declaration_and_says_so() -> None:
    conflicts = Conflicts.of(declared=["tm_b"], member_of=["tm_a"])
    assert conflicts.teams == {"tm_a", "tm_b"}
    assert conflicts.reason("tm_a") == "you are or were a member of this team"
    assert conflicts.reason("tm_b") == "you declared a conflict with this team"
    assert conflicts.reason("tm_c") is None


def test_a_team_both_declared_and_joined_is_named_for_the_membership() -> None:
    assert Conflicts.of(["tm_a"], ["tm_a"]).reason("tm_a") == (
        "you are or were a member of this team"
    )


def test_assignment_never_gives_a_member_their_own_team() -> None:
    # The captain of A is the only judge besides the mentor: A gets the mentor even though
    # the captain has the lighter load, and B, which the mentor declared, gets the captain.
    captain = Judge("acc_cap", Conflicts.of([], ["tm_a"]).teams)
    mentor = Judge("acc_mentor", Conflicts.of(["tm_b"], []).teams)
    result = assign(
        [SubmissionToJudge("sub_a", "tm_a"), SubmissionToJudge("sub_b", "tm_b")],
        [captain, mentor],
        judges_per_submission=1,
    )
    assert result.judges_of == {"sub_a": ["acc_mentor"], "sub_b": ["acc_cap"]}
    assert result.shortfalls == []
