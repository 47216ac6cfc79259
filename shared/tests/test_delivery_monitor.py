"""A 202 write's status monitor (hackathon_shared.delivery_monitor) on a real SQLite outbox:
what it answers for each state of the rows a delivery id spans, and for ids it never gave."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import SQLModel, col

from hackathon_shared.db import Database
from hackathon_shared.delivery_monitor import delivery_router, monitor_link
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.problems import PROBLEM_BASE, install_problem_handlers


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    async with database.engine.begin() as connection:
        await connection.run_sync(
            lambda sync: SQLModel.metadata.create_all(sync, tables=[OutboxRecord.__table__])
        )
    yield database
    await database.dispose()


async def add_rows(db: Database, count: int) -> list[int]:
    rows = [
        OutboxRecord(topic="t", message_key=f"k{n}", value="{}", created_at=datetime.now(UTC))
        for n in range(count)
    ]
    async with db.transaction() as session:
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows if row.id is not None]


async def mark_published(db: Database, ids: list[int]) -> None:
    async with db.transaction() as session:
        await session.exec(
            update(OutboxRecord)
            .where(col(OutboxRecord.id).in_(ids))
            .values(published_at=datetime.now(UTC))
        )


async def ask(db: Database, delivery: str) -> httpx.Response:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(delivery_router("registration", db))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(f"/deliveries/registration/{delivery}")


def monitored(ids: list[int]) -> str:
    """The delivery id of the monitor link a 202 carrying these rows points at."""
    link = monitor_link("registration", ids).decode()
    assert link.endswith('>; rel="monitor"'), link
    path = link.removeprefix("<").split(">")[0]
    assert path.startswith("/api/v1/deliveries/registration/"), path
    return path.rsplit("/", 1)[1]


async def test_pending_until_every_row_of_the_write_is_published(db: Database) -> None:
    ids = await add_rows(db, 3)
    delivery = monitored(ids)
    answer = await ask(db, delivery)
    assert (answer.status_code, answer.json()) == (
        200,
        {"delivery_id": delivery, "state": "pending"},
    )
    await mark_published(db, ids[:2])
    assert (await ask(db, delivery)).json()["state"] == "pending"  # one row still waits
    await mark_published(db, ids[2:])
    assert (await ask(db, delivery)).json()["state"] == "delivered"


async def test_rows_outside_the_write_do_not_count(db: Database) -> None:
    before = await add_rows(db, 1)
    ours = await add_rows(db, 2)
    after = await add_rows(db, 1)
    await mark_published(db, ours)
    assert before and after  # unpublished, on either side of the write's span
    assert (await ask(db, monitored(ours))).json()["state"] == "delivered"
    assert (await ask(db, monitored(before + ours))).json()["state"] == "pending"


@pytest.mark.parametrize(
    "delivery", ["999-1000", "2-1", "0-1", "a-b", "1", "1-2-3", "01-2", "1-99999999"]
)
async def test_an_id_it_never_gave_is_not_found(db: Database, delivery: str) -> None:
    await add_rows(db, 2)
    answer = await ask(db, delivery)
    assert answer.status_code == 404, answer.text
    assert answer.json()["type"] == PROBLEM_BASE + "delivery-not-found"
