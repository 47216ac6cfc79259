"""The query behind every list endpoint: one keyset page of a table ordered by (time, id),
after the position a cursor names (``hackathon_shared.pagination`` has the page's types)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.pagination import decode_cursor, encode_cursor, invalid_cursor


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
