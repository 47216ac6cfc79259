"""The status monitor of a ``202`` write: whether its events have reached the log.

A write whose events were not in the log within ``WRITE_ACK_TIMEOUT_SECONDS`` answers ``202``
with its usual body (docs/consistency.md): recorded, but the other services may decide without
it until its events are in the log. The answer says where to ask when that is, as RFC 9110
advises for a 202 and with the ``monitor`` link relation of RFC 5989::

    Link: </api/v1/deliveries/registration/41-42>; rel="monitor"

``GET`` on that path answers ``{"delivery_id": "41-42", "state": "pending" | "delivered"}``.
"delivered" means that every outbox row of the service from the first to the last the write
committed has been accepted by the broker: the write's rows are among them, and a row of
another request that was committed in between can only make the answer "pending" a little
longer. From then on, every other service's barrier (docs/consistency.md, §3) finds the write's
events, so a request sent after it sees the write everywhere.

The answer reads the service's own outbox alone, so it passes no barrier, and any replica
answers it (the outbox is the service's database, shared by its replicas)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import APIRouter
from sqlalchemy import case, func
from sqlmodel import col, select

from hackathon_shared.api.deliveries import PUBLIC_PREFIX, DeliveryView
from hackathon_shared.db import Database
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.problems import ProblemError

_DELIVERY_ID = re.compile(r"([1-9][0-9]{0,17})-([1-9][0-9]{0,17})")
MAX_SPAN = 1_000_000
"""The widest span of rows a delivery id may name; one request commits far fewer."""


def delivery_id(rows: Sequence[int]) -> str:
    """The id naming the span of outbox rows a request committed."""
    return f"{min(rows)}-{max(rows)}"


def monitor_path(service: str, rows: Sequence[int]) -> str:
    return f"{PUBLIC_PREFIX}/deliveries/{service}/{delivery_id(rows)}"


def monitor_link(service: str, rows: Sequence[int]) -> bytes:
    """The ``Link`` header's value that points a ``202`` answer at its status monitor."""
    return f'<{monitor_path(service, rows)}>; rel="monitor"'.encode("ascii")


def _span(text: str) -> tuple[int, int] | None:
    matched = _DELIVERY_ID.fullmatch(text)
    if matched is None:
        return None
    first, last = int(matched[1]), int(matched[2])
    if last < first or last - first > MAX_SPAN:
        return None
    return first, last


async def delivery_state(db: Database, text: str) -> DeliveryView:
    """The state of the delivery ``text`` names; ``404 delivery-not-found`` for an id this
    service never gave out (malformed, or naming no row of its outbox)."""
    span = _span(text)
    if span is None:
        raise _not_found(text)
    first, last = span
    unpublished = case((col(OutboxRecord.published_at).is_(None), 1), else_=0)
    statement = select(func.count(), func.coalesce(func.sum(unpublished), 0)).where(
        col(OutboxRecord.id).between(first, last)
    )
    async with db.reads() as connection:
        rows, pending = (await connection.execute(statement)).one()
    if not rows:
        raise _not_found(text)
    return DeliveryView(delivery_id=text, state="pending" if pending else "delivered")


def _not_found(text: str) -> ProblemError:
    return ProblemError(
        404, "delivery-not-found", f"this service gave out no delivery {text[:40]!r}"
    )


def delivery_router(service: str, db: Database) -> APIRouter:
    """``GET /deliveries/{service}/{delivery_id}``: the service's own facts, no barrier."""
    router = APIRouter()

    @router.get(f"/deliveries/{service}/{{delivery_id}}", response_model=DeliveryView)
    async def get_delivery(delivery_id: str) -> DeliveryView:
        return await delivery_state(db, delivery_id)

    return router
