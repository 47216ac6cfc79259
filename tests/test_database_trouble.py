"""A database in trouble answers 503 with ``Retry-After`` and a problem type that says which
trouble, never 500: busy (a lock held past the bound) or unavailable (unreachable, or it
cannot write). Each error here comes from a real database: SQLite files and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from hackathon_shared.database_errors import database_trouble
from hackathon_shared.db import Database
from hackathon_shared.ports import free_port
from hackathon_shared.problems import PROBLEM_BASE, install_problem_handlers
from tests.database_fixtures import fresh_postgres_database

Attempt = Callable[[], Awaitable[None]]


async def error_of(attempt: Attempt) -> BaseException:
    try:
        await attempt()
    except Exception as error:
        return error
    raise AssertionError("the database did not refuse")


async def answer_to(attempt: Attempt) -> httpx.Response:
    """What a client gets from a service route whose use case meets this error."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/write")
    async def write() -> dict[str, str]:
        await attempt()
        return {"written": "yes"}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/write")


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert answer.json()["type"] == PROBLEM_BASE + "database-unavailable"
    assert "nothing was changed" in answer.json()["detail"]


async def test_an_sqlite_database_that_cannot_write_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "service.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE things (n INTEGER)")
    # Opened read-only, as a file on a read-only mount or a full disk would refuse writes.
    db = Database(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")

    async def write() -> None:
        async with db.transaction() as session:
            await session.exec(sa.text("INSERT INTO things VALUES (1)"))

    try:
        assert database_trouble(await error_of(write)) == "unavailable"
        assert_unavailable(await answer_to(write))
    finally:
        await db.dispose()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM things").fetchone() == (0,)


async def test_a_postgresql_server_that_does_not_answer_is_unavailable() -> None:
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")

    async def read() -> None:
        async with db.sessions() as session:
            await session.exec(sa.text("SELECT 1"))

    try:
        error = await error_of(read)
        assert isinstance(error, OSError)  # the driver's own, not wrapped by SQLAlchemy
        assert database_trouble(error) == "unavailable"
        assert_unavailable(await answer_to(read))
    finally:
        await db.dispose()


def test_an_os_error_from_elsewhere_is_no_database_trouble() -> None:
    try:
        raise ConnectionRefusedError(111, "a webhook receiver refused")
    except ConnectionRefusedError as error:
        assert database_trouble(error) is None


async def test_postgresql_read_only_is_unavailable_and_a_lock_timeout_is_busy() -> None:
    with fresh_postgres_database() as url:
        db = Database(url)
        try:
            async with db.transaction() as session:
                await session.exec(sa.text("CREATE TABLE things (n INTEGER)"))
                # Every service connection waits for a lock 5 s at most, inside the gateway's
                # 15 s: a write never commits after its client was told it timed out.
                shown = await session.exec(sa.text("SHOW lock_timeout"))
                assert shown.one() == ("5s",)

            async def read_only_write() -> None:
                async with db.transaction() as session:
                    await session.exec(sa.text("SET TRANSACTION READ ONLY"))
                    await session.exec(sa.text("INSERT INTO things VALUES (1)"))

            assert database_trouble(await error_of(read_only_write)) == "unavailable"
            assert_unavailable(await answer_to(read_only_write))

            # Another client holds the table's lock; this write gives up at its lock_timeout.
            holder = await asyncpg.connect(url)
            try:
                transaction = holder.transaction()
                await transaction.start()
                await holder.execute("LOCK TABLE things IN ACCESS EXCLUSIVE MODE")

                async def locked_write() -> None:
                    async with db.transaction() as session:
                        await session.exec(sa.text("SET LOCAL lock_timeout = '200ms'"))
                        await session.exec(sa.text("INSERT INTO things VALUES (2)"))

                assert database_trouble(await error_of(locked_write)) == "busy"
                answer = await answer_to(locked_write)
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "1"
                assert answer.json()["type"] == PROBLEM_BASE + "database-busy"
                await transaction.rollback()
            finally:
                await holder.close()
            async with db.sessions() as session:
                count = await session.exec(sa.text("SELECT count(*) FROM things"))
                assert count.one() == (0,)
        finally:
            await db.dispose()
