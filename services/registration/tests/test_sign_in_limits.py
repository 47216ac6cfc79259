"""Sign-in limits that cannot lock the owner out: the rules without I/O, and the sign-in use
case against a real database (SQLite and PostgreSQL) under a guessing attack spread over many
client addresses."""

from __future__ import annotations

import pytest

from hackathon_shared.db import Database
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError
from hackathon_shared.topics import Topics
from registration.adapters.sign_in_limiter import SignInLimiter
from registration.app import MIGRATIONS
from registration.domain.sign_in import SignInPolicy
from registration.service.accounts import Accounts

SECRET = "a-test-secret-that-is-long-enough"
VICTIM = "victim@example.org"


def test_the_delay_per_email_starts_late_doubles_and_is_capped() -> None:
    policy = SignInPolicy(slowdown_after=3, first_delay_seconds=0.25, max_delay_seconds=2.0)
    assert [policy.delay(n) for n in range(9)] == [0, 0, 0, 0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert policy.delay(10**9) == 2.0  # no overflow, however long the attack


def test_many_clients_guessing_one_email_slow_it_down_but_never_lock_it() -> None:
    policy = SignInPolicy(max_failures=5, slowdown_after=10, max_delay_seconds=2.0)
    limiter = SignInLimiter(policy, clock=lambda: 0.0)
    delays = [limiter.attempt(VICTIM, f"10.0.{n // 4}.{n % 4}") for n in range(40)]
    assert delays[:10] == [0.0] * 10
    assert delays[10:14] == [0.25, 0.5, 1.0, 2.0]
    assert set(delays[14:]) == {2.0}
    # The owner, from an address that has not been failing: waits at most the cap, never a 429.
    assert limiter.attempt(VICTIM, "198.51.100.20") == 2.0
    limiter.succeeded(VICTIM, "198.51.100.20")
    # Another account is not slowed down by the attack on this one.
    assert limiter.attempt("neighbour@example.org", "10.0.0.0") == 0.0


def test_refused_attempts_do_not_make_the_owner_wait_longer() -> None:
    policy = SignInPolicy(max_failures=2, slowdown_after=2, first_delay_seconds=0.25)
    limiter = SignInLimiter(policy, clock=lambda: 0.0)
    for _ in range(2):
        limiter.attempt(VICTIM, "203.0.113.9")
    for _ in range(50):  # the attacker goes on, refused each time
        with pytest.raises(ProblemError):
            limiter.attempt(VICTIM, "203.0.113.9")
    assert limiter.attempt(VICTIM, "198.51.100.20") == 0.25


def test_the_tables_stay_bounded_under_a_flood_of_clients() -> None:
    now = [0.0]
    limiter = SignInLimiter(SignInPolicy(window_seconds=60), clock=lambda: now[0], max_tracked=50)
    for n in range(500):
        now[0] += 0.01  # all of them within the window: nothing expires
        limiter.attempt(f"person{n}@example.org", f"10.1.{n // 250}.{n % 250}")
        assert len(limiter._per_client._times) <= 50
        assert len(limiter._per_email._times) <= 50
    # The latest are the ones kept: a client failing now is still counted.
    with pytest.raises(ProblemError):
        for _ in range(5):
            limiter.attempt("person499@example.org", "10.1.1.249")


# --------------------------------------------------------------------------------------------
# The sign-in use case on a real database
# --------------------------------------------------------------------------------------------


async def test_the_owner_signs_in_while_an_attack_is_spread_over_many_addresses(
    database_url: str,
) -> None:
    await upgrade_to_head(database_url, MIGRATIONS)
    waits: list[float] = []

    async def recorded_sleep(seconds: float) -> None:
        waits.append(seconds)

    policy = SignInPolicy(max_failures=3, slowdown_after=4, max_delay_seconds=1.0)
    accounts = Accounts(
        Database(database_url),
        Outbox(Topics(), "registration"),
        SECRET,
        60,
        SignInLimiter(policy),
        sleep=recorded_sleep,
    )
    try:
        await accounts.create(VICTIM, "the victim's own password", "Victim")
        attackers = [f"203.0.113.{n}" for n in range(1, 4)]
        for attacker in attackers:
            for guess in range(3):
                with pytest.raises(ProblemError) as wrong:
                    await accounts.issue_token(VICTIM, f"guess {guess}", client=attacker)
                assert wrong.value.status == 401
            # Now this address is refused, even with the right password.
            with pytest.raises(ProblemError) as limited:
                await accounts.issue_token(VICTIM, "the victim's own password", client=attacker)
            assert limited.value.status == 429
            assert limited.value.kind == "too-many-sign-in-attempts"
            assert int((limited.value.headers or {})["Retry-After"]) > 0

        # Nine failures from three addresses: the later guesses waited, growing to the cap.
        assert waits == [0.25, 0.5, 1.0, 1.0, 1.0]
        issued = await accounts.issue_token(
            VICTIM, "the victim's own password", client="198.51.100.20"
        )
        assert issued.access_token
        assert waits[-1] == 1.0  # the owner waited the capped delay, and only that
    finally:
        await accounts.db.dispose()
