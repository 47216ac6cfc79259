"""Recent failed sign-ins, per (e-mail, client address) and per e-mail, in this process's memory;
what they lead to is decided by :class:`registration.domain.sign_in.SignInPolicy`.

Counted per registration replica (several replicas each keep their own counts). The memory is
bounded: expired entries are swept as the tables grow, and at ``max_tracked`` keys the ones
tracked longest are let go, so neither table ever holds more."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from registration.domain.sign_in import SignInPolicy

Key = TypeVar("Key", bound=Hashable)


class _RecentFailures(Generic[Key]):
    """Failure times per key within the window, oldest first."""

    SWEEP_AT = 10_000  # keys before expired entries are first swept out (then twice as many)

    def __init__(self, window: float, max_tracked: int) -> None:
        self.window = window
        self.max_tracked = max_tracked
        self._times: dict[Key, deque[float]] = {}
        self._sweep_at = min(self.SWEEP_AT, max_tracked)

    def recent(self, key: Key, now: float) -> deque[float]:
        times = self._times.get(key)
        if times is None:
            return deque()
        horizon = now - self.window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._times[key]
        return times

    def add(self, key: Key, now: float) -> None:
        if key not in self._times and len(self._times) >= self._sweep_at:
            for stale in list(self._times):
                self.recent(stale, now)
            while len(self._times) >= self.max_tracked:
                del self._times[next(iter(self._times))]
            self._sweep_at = min(self.max_tracked, max(self.SWEEP_AT, 2 * len(self._times)))
        self._times.setdefault(key, deque()).append(now)

    def forget(self, key: Key) -> None:
        self._times.pop(key, None)

    def forget_one(self, key: Key) -> None:
        times = self._times.get(key)
        if times:
            times.pop()
            if not times:
                del self._times[key]


class SignInLimiter:
    def __init__(
        self,
        policy: SignInPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = 100_000,
    ) -> None:
        self.policy = policy or SignInPolicy()
        self.clock = clock
        window = self.policy.window_seconds
        self._per_client: _RecentFailures[tuple[str, str]] = _RecentFailures(window, max_tracked)
        self._per_email: _RecentFailures[str] = _RecentFailures(window, max_tracked)

    def attempt(self, email: str, client: str) -> float:
        """Refuse (429) a client that failed too often for this e-mail; otherwise count this
        attempt as a failure, for the client and for the e-mail, until :meth:`succeeded` says
        otherwise (so guesses sent in parallel are all counted before any is checked), and
        return how long it must wait before its password is checked."""
        now = self.clock()
        mine = self._per_client.recent((email, client), now)
        refusal = self.policy.refusal(len(mine), now - mine[0] if mine else 0.0)
        if refusal is not None:
            raise refusal
        delay = self.policy.delay(len(self._per_email.recent(email, now)))
        self._per_client.add((email, client), now)
        self._per_email.add(email, now)
        return delay

    def succeeded(self, email: str, client: str) -> None:
        """The right password: the client's failures for this e-mail are forgiven, and this
        attempt no longer counts against the e-mail."""
        self._per_client.forget((email, client))
        self._per_email.forget_one(email)
