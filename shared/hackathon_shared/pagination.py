"""Keyset pagination shared by every list endpoint: ``limit`` (default 50, at most 200) and an
opaque ``cursor``; answers are ``{"items": [...], "next_cursor": null | "..."}``.

The page's types and the cursor's encoding, which the gateway's route table uses too; the
query that reads a page is ``hackathon_shared.keyset``, which only the services (they have a
database) import.

A cursor is the position of the last item of a page: ``[time, id]``, the time in ISO 8601.
One that does not decode to that, or whose time lies outside the years 2000 to 2100 UTC (as
every time a client sends: ``hackathon_shared.api.timestamps``), is the 422 ``validation``
on ``cursor``, never a query the database cannot run."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from hackathon_shared.api.timestamps import within_range
from hackathon_shared.problems import ProblemError, invalid_field

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
Cursor = Annotated[str | None, Query(max_length=500, description="opaque, from next_cursor")]


def encode_cursor(position: list[Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as error:
        raise invalid_cursor() from error
    if not (isinstance(value, list) and len(value) == 2 and _a_time_in_range(value[0])):
        raise invalid_cursor()
    return value


def _a_time_in_range(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return False
    return within_range(when)


def invalid_cursor() -> ProblemError:
    return invalid_field("cursor", "not a cursor this list gave out")
