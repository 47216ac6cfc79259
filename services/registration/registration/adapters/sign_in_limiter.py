"""Rate limit for failed sign-ins, per e-mail address (in this process's memory)."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from hackathon_shared.problems import ProblemError


class SignInLimiter:
    PRUNE_AT = 10_000  # addresses tracked before old entries are swept out

    def __init__(
        self,
        max_failures: int = 5,
        window_seconds: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        horizon = self.clock() - self.window
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return deque()
        return failures

    def check(self, key: str) -> None:
        """Refuse (429) while the key has had too many recent failures."""
        failures = self._recent(key)
        if len(failures) >= self.max_failures:
            retry_after = max(1, math.ceil(failures[0] + self.window - self.clock()))
            raise ProblemError(
                429,
                "too-many-sign-in-attempts",
                "too many failed sign-ins for this account; try again later",
                headers={"Retry-After": str(retry_after)},
            )

    def attempt(self, key: str) -> None:
        """Check, then count this attempt as a failure until :meth:`succeeded` says otherwise:
        so guesses sent in parallel are all counted before any of them is checked."""
        self.check(key)
        self.failed(key)

    def failed(self, key: str) -> None:
        if len(self._failures) >= self.PRUNE_AT:
            for stale in list(self._failures):
                self._recent(stale)
        self._failures.setdefault(key, deque()).append(self.clock())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
