"""Keyset pagination shared by every list endpoint: ``limit`` (default 50, at most 200) and an
opaque ``cursor``; answers are ``{"items": [...], "next_cursor": null | "..."}``."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import and_, or_
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.problems import ProblemError

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
    if not isinstance(value, list):
        raise invalid_cursor()
    return value


def invalid_cursor() -> ProblemError:
    return ProblemError(
        422,
        "validation",
        "invalid fields: cursor",
        extra={"errors": [{"field": "cursor", "message": "not a cursor this list gave out"}]},
    )


async def keyset_page(
    session: AsyncSession,
    query: Any,
    time_column: Any,
    id_column: Any,
    limit: int,
    cursor: str | None,
    *,
    newest_first: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of ``query`` ordered by (time, id), after the position in ``cursor``.
    Returns the rows and the cursor of the next page (None on the last page)."""
    position = decode_cursor(cursor)
    if position is not None:
        try:
            after_time, after_id = datetime.fromisoformat(position[0]), str(position[1])
        except (ValueError, IndexError, TypeError) as error:
            raise invalid_cursor() from error
        if after_time.tzinfo is None:
            after_time = after_time.replace(tzinfo=UTC)
        beyond = (lambda c, v: c < v) if newest_first else (lambda c, v: c > v)
        query = query.where(
            or_(
                beyond(time_column, after_time),
                and_(time_column == after_time, beyond(id_column, after_id)),
            )
        )
    order = (time_column.desc(), id_column.desc()) if newest_first else (time_column, id_column)
    rows = list((await session.exec(query.order_by(*order).limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    last_time = getattr(last, time_column.key)
    if last_time.tzinfo is None:
        last_time = last_time.replace(tzinfo=UTC)
    return rows, encode_cursor([last_time.isoformat(), getattr(last, id_column.key)])
