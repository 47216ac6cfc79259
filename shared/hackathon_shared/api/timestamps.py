"""Timestamps in the public API are ISO 8601 with a time zone. SQLite hands datetimes back
without one; every stored time is UTC, so a naive value is read as UTC.

A time a client sends lies in the years 2000 to 2100 once converted to UTC
(:data:`EARLIEST`, :data:`LATEST`): far enough for any hackathon, and far from the ends of
what a datetime holds (``9999-12-31T23:59:59-14:00`` is past year 9999 in UTC and cannot
even be converted). The same bounds hold for the times inside list cursors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""The first instant a client may name."""
LATEST = datetime(2101, 1, 1, tzinfo=UTC)
"""The first instant past the range: 2100-12-31T23:59:59.999999Z is the last one allowed."""


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]


def within_range(value: datetime) -> bool:
    """Whether ``value`` (naive read as UTC) lies in the years 2000 to 2100 in UTC; False
    also when it cannot be converted to UTC at all."""
    try:
        instant = as_utc(value)
    except (OverflowError, ValueError):
        return False
    return EARLIEST <= instant < LATEST


def _in_range(value: datetime) -> datetime:
    if not within_range(value):
        raise PydanticCustomError(
            "date_range", "must lie in the years 2000 to 2100 once converted to UTC"
        )
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""A time a client sends: with a time zone (kept as given), in the years 2000 to 2100 UTC."""
