"""Async database engine and sessions for one service's own database.

SQLite (the embedded default) gets WAL, a busy timeout and foreign keys; PostgreSQL is used
through asyncpg. URLs given in the plain ``postgresql://`` or ``sqlite://`` form are mapped to
their async drivers."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, TypeDecorator, event
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession


def async_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = async_url(url)
    # Database errors end up in logs and dead-letter headers: they must not quote the
    # statement's parameters, which may be personal data (an e-mail, a name).
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": LOCK_WAIT_SECONDS}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, issue BEGIN (see _begin_immediate).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # A deferred BEGIN lets two writers both read and then collide on the upgrade to a
        # write lock; BEGIN IMMEDIATE takes the write lock up front, so writers queue instead.
        # Only units of work (``Database.transaction``) take it: a read (``Database.sessions``)
        # begins deferred, so that it never holds the write lock, not even when it is cut off
        # mid-way (a client that disconnects from a stream), which would lock every writer out.
        # A single-statement read (``Database.reads``) needs no transaction at all: the
        # statement is its own, and BEGIN would be one more trip to the driver's thread.
        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            options = conn.get_execution_options()
            if options.get(READS_OPTION, False):
                return
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if options.get(WRITES_OPTION, False) else "BEGIN"
            )

        return engine
    # The same bound on PostgreSQL: a statement waiting for a lock longer than this fails
    # (55P03), and the request answers 503 database-busy, having changed nothing.
    kwargs.setdefault(
        "connect_args",
        {"server_settings": {"lock_timeout": str(int(LOCK_WAIT_SECONDS * 1000))}},
    )
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


LOCK_WAIT_SECONDS = 5.0
"""How long a write waits for a lock held by someone else (another process on an SQLite file,
another transaction or a maintenance command on PostgreSQL) before it fails as busy: a
request then answers ``503 database-busy`` well inside the gateway's
``UPSTREAM_TIMEOUT_SECONDS`` (15 s), instead of committing after the gateway gave up on it.
Within the service's own process SQLite writers take turns (``Database.transaction``) and
never wait on this."""

WRITES_OPTION = "hackathon_writes"
"""Execution option of the connections a unit of work uses (SQLite: BEGIN IMMEDIATE)."""

READS_OPTION = "hackathon_reads"
"""Execution option of the connections ``Database.reads`` lends (SQLite: no BEGIN)."""


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


BeforeCommit = Callable[[AsyncSession], Awaitable[None]]

# Run once, in the first unit of work of the current request, just before it commits (and so
# committed with it, or not at all): the Idempotency-Key's mark (hackathon_shared.idempotency).
_before_commit: contextvars.ContextVar[BeforeCommit | None] = contextvars.ContextVar(
    "before_commit", default=None
)


def set_before_commit(hook: BeforeCommit) -> contextvars.Token[BeforeCommit | None]:
    return _before_commit.set(hook)


def reset_before_commit(token: contextvars.Token[BeforeCommit | None]) -> None:
    _before_commit.reset(token)


def clear_before_commit() -> None:
    """No hook for the units of work that follow in this context (until it is reset)."""
    _before_commit.set(None)


class Database:
    """One service's database: engine plus a unit-of-work helper."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = async_url(url)
        self.engine = make_engine(self.url, **engine_kwargs)
        # SQLite has one writer at a time, and a writer waiting for the lock polls it in
        # sleeps that grow to 100 ms: under load that made writes wait seconds, in no order.
        # Units of work of this process take turns on an asyncio lock instead (first come,
        # first served), and each begins the moment the one before it commits. One process
        # owns an SQLite file (several replicas need PostgreSQL, whose writers need no turns).
        self._writer_turn: asyncio.Lock | None = asyncio.Lock() if is_sqlite(self.url) else None
        self.sessions = make_session_factory(self.engine)
        self._units_of_work = make_session_factory(
            self.engine.execution_options(**{WRITES_OPTION: True})
        )
        # PostgreSQL: autocommit, so that asyncpg opens no transaction around the statement.
        # SQLite: not AUTOCOMMIT, whose reset on return would give the connection back to the
        # driver's own implicit transactions; the begin listener above skips BEGIN instead.
        self._reads = self.engine.execution_options(
            **({READS_OPTION: True} if is_sqlite(self.url) else {"isolation_level": "AUTOCOMMIT"})
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed when the block ends normally, rolled
        back when it raises."""
        async with self.writer_turn(), self._units_of_work() as session, session.begin():
            yield session
            hook = _before_commit.get()
            if hook is not None:
                _before_commit.set(None)  # the request's first unit of work only
                await hook(session)

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that are one statement each, or that need no snapshot
        across their statements: each statement sees what is committed when it runs. With no
        session, no transaction and no ORM objects, this is the cheap way to answer a lookup
        (a hot read path: the public hackathon page). A read that must see one state across
        several statements uses ``sessions`` instead."""
        async with self._reads.connect() as connection:
            yield connection

    def writer_turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        """This process's turn at writing: an asyncio lock on SQLite, nothing on PostgreSQL.
        Not reentrant: a unit of work never opens another inside itself. Waiting for the turn
        is bounded by ``LOCK_WAIT_SECONDS`` too (``WriterTurnTimeout``, a busy database): so
        a write waits 10 s at most in all, its turn and then the file's lock, well inside the
        gateway's 15 s, however many writers queue behind a lock another process holds."""
        if self._writer_turn is None:
            return contextlib.nullcontext()
        return _bounded_turn(self._writer_turn)

    async def dispose(self) -> None:
        await self.engine.dispose()


class WriterTurnTimeout(TimeoutError):
    """This process's writers queued longer than ``LOCK_WAIT_SECONDS`` for their turn: the
    database is busy (hackathon_shared.database_errors), and nothing was done."""


@asynccontextmanager
async def _bounded_turn(turn: asyncio.Lock) -> AsyncIterator[None]:
    try:
        # asyncio.timeout, not wait_for: no task of its own around the acquire, so that a
        # cancellation (a relay stopped mid-round) cannot leave the lock taken.
        async with asyncio.timeout(LOCK_WAIT_SECONDS):
            await turn.acquire()
    except TimeoutError:
        raise WriterTurnTimeout(
            f"waited {LOCK_WAIT_SECONDS:g} s for this process's turn to write"
        ) from None
    try:
        yield
    finally:
        turn.release()


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp column that always comes back time-zone aware (UTC). PostgreSQL keeps the
    zone; SQLite stores text without one, and every time this project stores is UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; give a time zone")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
