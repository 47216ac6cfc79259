"""Database fixtures: every test that takes ``database_url`` runs on SQLite and, where
PostgreSQL answers (TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres),
on PostgreSQL too, each test in a database of its own. On CI PostgreSQL must answer."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

T = TypeVar("T")

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _postgres_answers() -> bool:
    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    return _run(probe())


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    # In a thread of its own, so as not to disturb the event loop the async tests run on.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


_POSTGRES = _postgres_answers()


def postgres_url(database: str) -> str:
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


def create_postgres_database() -> str:
    name = f"hackathon_test_{uuid.uuid4().hex[:12]}"

    async def create() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    _run(create())
    return name


def drop_postgres_database(name: str) -> None:
    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    _run(drop())


def require_postgres() -> None:
    """Skip the PostgreSQL variant of a test where PostgreSQL does not answer (the SQLite
    variant still runs); on CI it must answer, so there the test fails instead."""
    if _POSTGRES:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL must answer on CI at {POSTGRES_URL}")
    pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL}; the SQLite variant still runs")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """The URL of a new PostgreSQL database of its own, dropped afterwards (skipped, or on CI
    failed, where PostgreSQL does not answer: see `require_postgres`)."""
    require_postgres()
    name = create_postgres_database()
    try:
        yield postgres_url(name)
    finally:
        drop_postgres_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
        return
    with fresh_postgres_database() as url:
        yield url
