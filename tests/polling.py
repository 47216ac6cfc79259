"""Deadline-bound polling: the one way tests wait for something to become true."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

__all__ = ["wait_until"]

T = TypeVar("T")


@overload
async def wait_until(
    predicate: Callable[[], Awaitable[T]],
    timeout: float = ...,
    interval: float = ...,
    message: str | Callable[[], str] = ...,
) -> T: ...


@overload
async def wait_until(
    predicate: Callable[[], T],
    timeout: float = ...,
    interval: float = ...,
    message: str | Callable[[], str] = ...,
) -> T: ...


async def wait_until(
    predicate: Callable[[], Any],
    timeout: float = 15.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition was not met",
) -> Any:
    """Call ``predicate`` (sync or async) until it returns something truthy, and return that.

    Each call (and each await of an async predicate) is bounded by the time left. Exceptions
    raised by the predicate propagate. When ``timeout`` seconds pass first, raises
    `AssertionError` with ``message`` (a string, or a callable evaluated at that moment so it
    can describe the state then) and the last value seen.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, got {timeout}")
    deadline = time.monotonic() + timeout
    last: object = None
    attempts = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            attempts += 1
            outcome = predicate()
            if inspect.isawaitable(outcome):
                budget = asyncio.timeout(remaining)
                try:
                    async with budget:
                        value = await outcome
                except TimeoutError:
                    if not budget.expired():
                        raise  # the predicate's own TimeoutError, not our deadline
                    last = "<predicate still running at the deadline>"
                    remaining = 0
                else:
                    if value:
                        return value
                    last = value
                    remaining = deadline - time.monotonic()
            else:
                if outcome:
                    return outcome
                last = outcome
                remaining = deadline - time.monotonic()
        if remaining <= 0:
            text = message() if callable(message) else message
            raise AssertionError(
                f"{text} (waited {timeout:.2f}s, {attempts} checks, last value: {last!r})"
            )
        await asyncio.sleep(min(interval, remaining))
