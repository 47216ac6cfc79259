"""When a team may submit: the rules without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hackathon_shared.problems import ProblemError
from submissions.domain.rules import check_can_submit, may_read

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def attempt(**changes: object) -> None:
    facts: dict[str, object] = {
        "phase": "hacking",
        "deadline": NOW + timedelta(hours=1),
        "now": NOW,
        "team_status": "active",
        "members": 2,
        "min_team_size": 2,
    }
    facts.update(changes)
    check_can_submit(**facts)  # type: ignore[arg-type]


def refused(**changes: object) -> str:
    with pytest.raises(ProblemError) as caught:
        attempt(**changes)
    assert caught.value.status == 409
    return caught.value.kind


def test_a_complete_team_in_hacking_before_the_deadline_may_submit() -> None:
    attempt()


def test_each_rule_refuses_with_its_own_problem() -> None:
    for phase in ("draft", "registration", "judging", "finished"):
        assert refused(phase=phase) == "wrong-phase"
    assert refused(deadline=NOW) == "deadline-passed"  # the deadline itself is too late
    assert refused(deadline=NOW - timedelta(seconds=1)) == "deadline-passed"
    assert refused(members=1) == "team-too-small"
    assert refused(team_status="withdrawn") == "team-withdrawn"


def test_who_may_read() -> None:
    assert may_read(is_member=True, is_organizer=False, is_assigned_judge=False)
    assert may_read(is_member=False, is_organizer=True, is_assigned_judge=False)
    assert may_read(is_member=False, is_organizer=False, is_assigned_judge=True)
    assert not may_read(is_member=False, is_organizer=False, is_assigned_judge=False)
