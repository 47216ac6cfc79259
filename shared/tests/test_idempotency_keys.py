"""The Idempotency-Key middleware (hackathon_shared.idempotency) around a small app whose
write commits a row to a real SQLite file: what a retry gets in each state a first request can
leave its key in, crashes included."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import SQLModel

from hackathon_shared.db import Database
from hackathon_shared.idempotency import STALE_SECONDS, IdempotentWrites
from hackathon_shared.messaging_tables import IdempotencyRecord
from hackathon_shared.problems import PROBLEM_BASE, database_busy, install_problem_handlers


class Service:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.hold: asyncio.Event | None = None  # set to hold a write before it commits
        self.held = asyncio.Event()
        self.fail_after_commit = False
        self.busy = False
        app = FastAPI()
        install_problem_handlers(app)

        @app.post("/things")
        async def add(body: dict[str, str]) -> dict[str, int]:
            if self.busy:
                raise database_busy()
            if self.hold is not None:  # still deciding (SQLite: before its writer's turn)
                self.held.set()
                await self.hold.wait()
            async with self.db.transaction() as session:
                await session.exec(
                    sa.text("INSERT INTO things (name) VALUES (:n)"), params={"n": body["name"]}
                )
            if self.fail_after_commit:
                raise RuntimeError("the process dies after committing")
            return {"count": await self.count()}

        app.add_middleware(IdempotentWrites, db=db)
        self.app = app

    async def count(self) -> int:
        async with self.db.sessions() as session:
            found = await session.exec(sa.text("SELECT count(*) FROM things"))
            return int(found.one()[0])

    async def post(self, key: str, name: str = "a") -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/things", json={"name": name}, headers={"Idempotency-Key": key}
            )


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    async with db.engine.begin() as connection:
        await connection.run_sync(
            lambda sync: SQLModel.metadata.create_all(sync, tables=[IdempotencyRecord.__table__])
        )
        await connection.execute(sa.text("CREATE TABLE things (name TEXT)"))
    yield Service(db)
    await db.dispose()


def kind_of(answer: httpx.Response) -> str:
    return str(answer.json()["type"]).removeprefix(PROBLEM_BASE)


async def test_a_retry_gets_the_first_answer_and_writes_nothing(service: Service) -> None:
    first = await service.post("k1")
    again = await service.post("k1")
    assert (first.status_code, first.json()) == (200, {"count": 1})
    assert (again.status_code, again.json()) == (200, {"count": 1})
    assert again.headers["idempotent-replayed"] == "true"
    assert await service.count() == 1
    assert kind_of(await service.post("k1", name="b")) == "idempotency-key-reused"
    assert (await service.post("k2")).json() == {"count": 2}  # a new key is a new request


async def test_a_retry_while_the_first_runs_is_told_to_wait(service: Service) -> None:
    service.hold = asyncio.Event()
    first = asyncio.create_task(service.post("k1"))
    await service.held.wait()
    meanwhile = await service.post("k1")
    assert meanwhile.status_code == 409
    assert kind_of(meanwhile) == "idempotency-key-in-use"
    assert meanwhile.headers["retry-after"] == "1"
    service.hold.set()
    assert (await first).json() == {"count": 1}
    assert (await service.post("k1")).json() == {"count": 1}
    assert await service.count() == 1


async def test_an_answer_that_decided_nothing_releases_the_key(service: Service) -> None:
    service.busy = True
    assert kind_of(await service.post("k1")) == "database-busy"
    service.busy = False
    assert (await service.post("k1")).json() == {"count": 1}  # carried out this time
    assert await service.count() == 1


async def test_a_write_that_committed_keeps_its_answer_even_a_failure(service: Service) -> None:
    service.fail_after_commit = True
    first = await service.post("k1")
    assert first.status_code == 500
    service.fail_after_commit = False
    again = await service.post("k1")
    assert again.status_code == 500 and again.headers["idempotent-replayed"] == "true"
    assert await service.count() == 1  # not carried out twice


async def rewind(service: Service, key: str, state: str) -> None:
    """As a process that died with the key in ``state`` leaves it, long enough ago."""
    async with service.db.transaction() as session:
        row = await session.get(IdempotencyRecord, ("anonymous", key))
        assert row is not None
        row.state = state
        row.status = None
        row.created_at = datetime.now(UTC) - timedelta(seconds=STALE_SECONDS + 1)
        session.add(row)


async def test_a_key_left_started_by_a_request_that_died_before_committing(
    service: Service,
) -> None:
    await service.post("k1")
    # As if that request had died before its commit: its row never written, its key left
    # "started" long enough ago.
    async with service.db.transaction() as session:
        await session.exec(sa.text("DELETE FROM things"))
    await rewind(service, "k1", "started")
    retried = await service.post("k1")
    assert (retried.status_code, retried.json()) == (200, {"count": 1})  # carried out now
    assert "idempotent-replayed" not in retried.headers


async def test_a_key_left_committed_by_a_request_that_died_before_answering(
    service: Service,
) -> None:
    await service.post("k1")
    await rewind(service, "k1", "committed")
    lost = await service.post("k1")
    assert lost.status_code == 409 and kind_of(lost) == "idempotency-key-answer-lost"
    assert await service.count() == 1  # the write stands, and is not repeated


async def test_a_request_still_running_after_its_key_was_taken_over_writes_nothing(
    service: Service,
) -> None:
    service.hold = asyncio.Event()
    first = asyncio.create_task(service.post("k1"))
    await service.held.wait()
    # The first run is so slow that its key looks abandoned, and a retry takes it over.
    async with service.db.transaction() as session:
        row = await session.get(IdempotencyRecord, ("anonymous", "k1"))
        assert row is not None and row.state == "started"
        row.created_at = datetime.now(UTC) - timedelta(seconds=STALE_SECONDS + 1)
        session.add(row)
    hold, service.hold = service.hold, None
    retried = await service.post("k1")
    assert (retried.status_code, retried.json()) == (200, {"count": 1})
    hold.set()  # the first run goes on, and finds at its commit that the key is not its own
    late = await first
    assert late.status_code == 409 and kind_of(late) == "idempotency-key-in-use"
    assert await service.count() == 1
    assert (await service.post("k1")).json() == {"count": 1}  # the retry's answer is kept


async def test_a_retry_sent_the_moment_the_answer_arrives_gets_that_answer(
    service: Service,
) -> None:
    """The answer is kept before its last byte leaves: a client that retries as soon as it
    has read the answer (its connection dropped right after, say) is answered with it, not
    told that the first request is still being carried out."""
    retried: list[httpx.Response] = []
    scope = {
        "type": "http", "method": "POST", "path": "/things", "raw_path": b"/things",
        "query_string": b"", "root_path": "", "scheme": "http", "server": ("test", 80),
        "client": ("127.0.0.1", 5000), "http_version": "1.1",
        "headers": [(b"content-type", b"application/json"), (b"idempotency-key", b"k1")],
    }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b'{"name":"a"}', "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            retried.append(await service.post("k1"))  # the client has it all: it retries

    await service.app(scope, receive, send)
    assert len(retried) == 1
    assert (retried[0].status_code, retried[0].json()) == (200, {"count": 1})
    assert retried[0].headers["idempotent-replayed"] == "true"
    assert await service.count() == 1
