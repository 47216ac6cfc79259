"""A one-line progress display on stderr for long logs (no dependency: a counter, a rate and,
when the total is known, a percentage; redrawn at most ten times a second)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``Progress("reading", total=1000, enabled=True)``; ``advance()`` per item, ``close()``
    at the end. Disabled, it does nothing, so callers never need to check."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        enabled: bool = False,
        stream: TextIO | None = None,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self.count = 0
        self._started = time.monotonic()
        self._drawn = 0.0

    def advance(self, step: int = 1) -> None:
        self.count += step
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn >= self.interval:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self._started, 1e-6)
        text = f"{self.label}: {self.count:,}"
        if self.total:
            # The total can be an estimate (the embedded broker's end offsets), so cap at 100.
            share = min(100.0, 100.0 * self.count / self.total)
            text += f" / ~{self.total:,} ({share:5.1f}%)"
        text += f"  {self.count / elapsed:,.0f}/s"
        self.stream.write("\r" + text + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()


def progress_wanted(option: bool | None) -> bool:
    """``--progress``/``--no-progress`` when given; otherwise only when stderr is a terminal."""
    if option is not None:
        return option
    return bool(getattr(sys.stderr, "isatty", lambda: False)())
