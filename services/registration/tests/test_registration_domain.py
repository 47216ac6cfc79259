"""Registration rules that need no I/O."""

from __future__ import annotations

import pytest

from hackathon_shared.events.catalogue import PHASES
from hackathon_shared.problems import ProblemError
from registration.adapters.sign_in_limiter import SignInLimiter
from registration.domain.hackathons import check_organizer_move
from registration.domain.sign_in import SignInPolicy
from registration.domain.teams import (
    check_room,
    check_team_slots,
    invite_code_matches,
    name_key,
    new_invite_code,
    next_captain,
)


def test_organizer_moves_one_phase_forward_only() -> None:
    allowed = {("draft", "registration"), ("registration", "hacking"), ("hacking", "judging")}
    for current, requested in allowed:
        check_organizer_move(current, requested)
    for current in PHASES:
        for requested in PHASES:
            if (current, requested) in allowed:
                continue
            with pytest.raises(ProblemError) as refused:
                check_organizer_move(current, requested)
            assert (refused.value.status, refused.value.kind) == (409, "phase-transition")


def test_finishing_is_left_to_published_results() -> None:
    with pytest.raises(ProblemError) as refused:
        check_organizer_move("judging", "finished")
    assert "results" in refused.value.detail


def test_team_names_compare_trimmed_and_case_insensitively() -> None:
    assert name_key("  Civic   Hackers ") == name_key("civic hackers") == "civic hackers"
    assert name_key("STRASSE") == name_key("straße")
    assert name_key("Team A") != name_key("Team B")


def test_invite_codes_are_long_random_and_compared_exactly() -> None:
    codes = {new_invite_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) >= 22 for code in codes)
    code = next(iter(codes))
    assert invite_code_matches(code, code)
    assert not invite_code_matches(code, code.upper() if code != code.upper() else code + "x")


def test_captaincy_goes_to_the_earliest_remaining_member() -> None:
    assert next_captain(["a", "b", "c"], "a") == "b"
    assert next_captain(["a", "b", "c"], "b") == "a"
    assert next_captain(["a"], "a") is None


def test_capacity_limits() -> None:
    check_room(2, 3)
    with pytest.raises(ProblemError, match="3 members"):
        check_room(3, 3)
    check_team_slots(0, 1)
    with pytest.raises(ProblemError) as full:
        check_team_slots(1, 1)
    assert full.value.kind == "hackathon-full"


def test_a_client_that_keeps_failing_is_refused_until_the_window_passes() -> None:
    now = [1000.0]
    policy = SignInPolicy(max_failures=3, window_seconds=60)
    limiter = SignInLimiter(policy, clock=lambda: now[0])
    for _ in range(3):
        limiter.attempt("a@x.org", "203.0.113.7")
    with pytest.raises(ProblemError) as blocked:
        limiter.attempt("a@x.org", "203.0.113.7")
    assert blocked.value.status == 429
    assert blocked.value.headers == {"Retry-After": "60"}
    limiter.attempt("a@x.org", "198.51.100.2")  # the account's owner, elsewhere
    limiter.attempt("b@x.org", "203.0.113.7")  # another account, from the same client
    now[0] += 61
    limiter.attempt("a@x.org", "203.0.113.7")


def test_a_success_clears_its_clients_failures() -> None:
    limiter = SignInLimiter(SignInPolicy(max_failures=2), clock=lambda: 0.0)
    limiter.attempt("a@x.org", "203.0.113.7")
    limiter.succeeded("a@x.org", "203.0.113.7")
    limiter.attempt("a@x.org", "203.0.113.7")
    limiter.attempt("a@x.org", "203.0.113.7")  # one failure only before this attempt
