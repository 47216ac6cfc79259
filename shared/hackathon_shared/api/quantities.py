"""The numbers a client sends, bounded and strict (docs/input-rules.md).

Strict: a JSON number is a number, and nothing else is one: ``true`` is not 1 and ``"5"`` is
not 5 (an integer is accepted where a decimal number is expected). Finite: NaN and the
infinities, which Python's JSON reader accepts, are refused. Bounded: every value stays far
from where arithmetic on it overflows (a rubric weight of 1e308 made every weighted total
infinite), with room for any real hackathon."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

MAX_WEIGHT = 1_000
"""A criterion's weight, at most: it only matters relative to the other weights."""
SCALE_LIMIT = 1_000_000
"""A rubric scale's ends, and so every score, lie within ±this."""
MAX_AMOUNT = 1_000_000_000_000
"""An award's amount, at most (below 2**53, so it stays exact as a JSON number)."""
MAX_TEAM_SIZE = 100
MAX_TEAMS = 10_000
MAX_JUDGES_PER_SUBMISSION = 100
MAX_RANK = MAX_TEAMS

Weight = Annotated[float, Strict(), Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False)]
ScaleValue = Annotated[float, Strict(), Field(ge=-SCALE_LIMIT, le=SCALE_LIMIT, allow_inf_nan=False)]
"""An end of a criterion's scale, or a judge's value for it."""
Amount = Annotated[float, Strict(), Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
TeamSize = Annotated[int, Strict(), Field(ge=1, le=MAX_TEAM_SIZE)]
TeamCount = Annotated[int, Strict(), Field(ge=1, le=MAX_TEAMS)]
JudgeCount = Annotated[int, Strict(), Field(ge=1, le=MAX_JUDGES_PER_SUBMISSION)]
Rank = Annotated[int, Strict(), Field(ge=1, le=MAX_RANK)]
