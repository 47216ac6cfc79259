"""How failed sign-ins are answered, so that guessing is slow and nobody can lock anyone out.

Two counts, both over the last ``window_seconds`` (OWASP Authentication Cheat Sheet, "Protect
against automated attacks": a lock-out threshold, an observation window, and lock-out that an
attacker cannot turn against the account's owner):

- **Failures per (e-mail, client address).** After ``max_failures`` of them, that client's next
  attempts for that e-mail are refused (``429 too-many-sign-in-attempts`` with
  ``Retry-After``) until its oldest failure leaves the window. Only the client that failed is
  held back: the owner, signing in from anywhere else, is not.
- **Failures per e-mail, from every client.** They never refuse; past ``slowdown_after`` each
  attempt for that e-mail waits before the password is checked, ``first_delay_seconds`` at
  first and twice as long with each further failure, up to ``max_delay_seconds``. That is the
  cost a guesser spread over many addresses pays, and the most the owner ever waits.

A successful sign-in clears its client's count for the e-mail. See
docs/sign-in-and-proxies.md."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hackathon_shared.problems import ProblemError


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 5
    window_seconds: float = 900.0
    slowdown_after: int = 10
    max_delay_seconds: float = 2.0
    first_delay_seconds: float = 0.25

    def refusal(self, client_failures: int, oldest_age: float) -> ProblemError | None:
        """The answer to a client with ``client_failures`` recent failures for an e-mail, the
        oldest ``oldest_age`` seconds ago: a 429 once it reached the limit, else None."""
        if client_failures < self.max_failures:
            return None
        retry_after = max(1, math.ceil(self.window_seconds - oldest_age))
        return ProblemError(
            429,
            "too-many-sign-in-attempts",
            "too many failed sign-ins from this client for this account; try again later",
            retry_after=retry_after,
        )

    def delay(self, email_failures: int) -> float:
        """Seconds an attempt waits when the e-mail has ``email_failures`` recent failures."""
        beyond = email_failures - self.slowdown_after
        if beyond < 0:
            return 0.0
        # Capped before the power, so that a huge count cannot overflow.
        doublings = min(beyond, 64)
        return min(self.max_delay_seconds, self.first_delay_seconds * 2.0**doublings)
