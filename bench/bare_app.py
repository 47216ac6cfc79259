"""The baseline of the HTTP benchmark: bare FastAPI with pydantic on uvicorn, nothing else.

``GET /items/{id}`` answers a small pydantic model (the read baseline). ``PUT
/items/{id}/scores`` validates a body like a judge's scores and commits one row to the
database named by ``DATABASE_URL`` in one of the project's own units of work
(``Database.transaction``: the same driver, settings and, on SQLite, BEGIN IMMEDIATE as the
services) (the write baseline): what a write costs with no gateway, no
token, no outbox, no event and no consistency barrier.

    .venv/bin/python -m uvicorn --factory bare_app:create_app --app-dir bench --port N
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, insert

from hackathon_shared.api.judging import ScoresIn  # the judges' public body, as validated
from hackathon_shared.db import Database

metadata = MetaData()
bench_scores = Table(
    "bench_scores",
    metadata,
    Column("score_id", String, primary_key=True),
    Column("item_id", String, nullable=False),
    Column("total", Float, nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False),
)


class Item(BaseModel):
    item_id: str
    name: str
    phase: str
    max_team_size: int
    created_at: datetime


class ScoreAnswer(BaseModel):
    score_id: str
    item_id: str
    total: float


def create_app() -> FastAPI:
    database = Database(os.environ["DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with database.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield
        await database.dispose()

    app = FastAPI(lifespan=lifespan)
    created = datetime.now(UTC)

    @app.get("/items/{item_id}", response_model=Item)
    async def read_item(item_id: str) -> Item:
        return Item(
            item_id=item_id,
            name="Bishkek civic",
            phase="hacking",
            max_team_size=4,
            created_at=created,
        )

    @app.put("/items/{item_id}/scores", response_model=ScoreAnswer)
    async def write_score(item_id: str, body: ScoresIn) -> ScoreAnswer:
        total = sum(body.scores.values()) / max(1, len(body.scores))
        score_id = uuid.uuid4().hex
        async with database.transaction() as session:
            await session.execute(
                insert(bench_scores).values(
                    score_id=score_id, item_id=item_id, total=total, written_at=datetime.now(UTC)
                )
            )
        return ScoreAnswer(score_id=score_id, item_id=item_id, total=total)

    return app
