"""What one consumer transaction applies, and the rows it needs, each table read once.

A consumer applies a batch of events in one transaction, calling the service's handler once
per event (``hackathon_shared.consumer``). A handler that would otherwise look rows up event
by event (a query, and a flush of everything pending, each time) can ask, at its first
event, for the whole batch (:func:`current_batch`): it then reads what every event of the
batch needs with one query per table into a :class:`Rows`, applies each event against
those rows as before, and leaves bulk writes for the end of the batch
(:meth:`Batch.at_end`), all in the same transaction, so nothing about the guarantees
changes. A handler called outside a consumer (a rebuild, a test) gets a batch of its one
event (:func:`batch_of`).

:func:`rows_with_keys` reads the rows whose key is one of many, with a plan that probes the
key's index once per key on every backend, statistics or not: PostgreSQL plans
``key IN (...)`` on a table it never analysed as a scan of all its rows (it guesses that
five hundred values select most of them), and SQLite plans ``(a, b) IN (...)`` as one too."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

T = TypeVar("T")
Finisher = Callable[[AsyncSession], Awaitable[None]]

_SESSION_KEY = "hackathon_shared.batch"


@dataclass
class Batch:
    """The items one transaction applies, in order: the events of a consumer's batch (those
    not applied before), or a contacts consumer's (account id, details) pairs. Handlers keep
    what they prepared for it under a key of their own (:meth:`state`)."""

    items: tuple[Any, ...]
    _state: dict[object, Any] = field(default_factory=dict)
    _finishers: list[Finisher] = field(default_factory=list)

    def state(self, key: object, factory: Callable[[], T]) -> T:
        """The handler's state for this batch, made by ``factory`` the first time."""
        if key not in self._state:
            self._state[key] = factory()
        value: T = self._state[key]
        return value

    async def prepared(self, key: object, prepare: Callable[[], Awaitable[T]]) -> T:
        """Like :meth:`state`, for state that takes queries to make (once per batch)."""
        if key not in self._state:
            self._state[key] = await prepare()
        value: T = self._state[key]
        return value

    def at_end(self, finisher: Finisher) -> None:
        """Run ``finisher`` once every item was handled, in the same transaction."""
        self._finishers.append(finisher)

    async def finish(self, session: AsyncSession) -> None:
        while self._finishers:
            await self._finishers.pop(0)(session)


@asynccontextmanager
async def applying(session: AsyncSession, items: Iterable[Any]) -> AsyncIterator[Batch]:
    """Make ``items`` the session's current batch while the block runs; its finishers run
    when the block ends without an error (the consumer then records and commits)."""
    batch = Batch(tuple(items))
    session.info[_SESSION_KEY] = batch
    try:
        yield batch
        await batch.finish(session)
    finally:
        session.info.pop(_SESSION_KEY, None)


def current_batch(session: AsyncSession) -> Batch | None:
    found: Batch | None = session.info.get(_SESSION_KEY)
    return found


@asynccontextmanager
async def batch_of(session: AsyncSession, item: Any) -> AsyncIterator[Batch]:
    """The consumer's batch that ``item`` belongs to, or, outside a consumer, a batch of
    ``item`` alone that is finished when the block ends."""
    batch = current_batch(session)
    if batch is not None:
        yield batch
        return
    async with applying(session, [item]) as alone:
        yield alone


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def insert_of(dialect: str, table: Any) -> Any:
    """``INSERT`` of ``dialect``, which can say ``ON CONFLICT``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """``INSERT`` of the session's dialect, which can say ``ON CONFLICT``."""
    return insert_of(dialect_of(session), table)


@functools.cache
def _insert_new(dialect: str, table: Any) -> Any:
    # Sent as the driver's executemany: on PostgreSQL twice as fast here as multi-row
    # VALUES statements ("insertmanyvalues", which RETURNING would bring).
    return insert_of(dialect, table).on_conflict_do_nothing()


async def insert_new(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys), leaving out each whose key a row already
    has (``ON CONFLICT DO NOTHING``): one statement, built and compiled once, sent as one
    ``executemany``."""
    if rows:
        await session.exec(_insert_new(dialect_of(session), table), params=rows)


async def rows_with_keys(
    session: AsyncSession,
    model: type[T],
    columns: Sequence[str],
    keys: Iterable[Sequence[Any]],
    *,
    lock: bool = False,
    fresh: bool = False,
) -> list[T]:
    """The rows of ``model`` whose ``columns`` equal one of ``keys`` (tuples of values; a key
    that matches several rows, such as a team's members by team id, gives them all), as the
    session's objects. ``lock`` locks the rows found until the transaction ends (``FOR
    UPDATE``; SQLite's writers hold the whole database anyway); ``fresh`` reads rows the
    session already holds again. See :func:`values_with_keys` for the plan."""
    source: Any = model
    statement = _with_keys(dialect_of(session), source, tuple(columns), lock)
    if fresh:
        statement = statement.execution_options(populate_existing=True)
    result = await _execute_with_keys(session, statement, columns, keys)
    return list(result.scalars().all()) if result is not None else []


async def values_with_keys(
    session: AsyncSession, table: sa.Table, columns: Sequence[str], keys: Iterable[Sequence[Any]]
) -> list[sa.Row[Any]]:
    """Like :func:`rows_with_keys`, as plain rows of ``table``'s columns (no objects). One
    query, probing the index on ``columns`` once per key: PostgreSQL joins ``unnest`` of one
    array per column to a lateral subquery it cannot flatten (``OFFSET 0``), SQLite
    ``json_each`` of the keys to the table. The statement is built once per table."""
    statement = _with_keys(dialect_of(session), table, tuple(columns), False)
    result = await _execute_with_keys(session, statement, columns, keys)
    return list(result.all()) if result is not None else []


async def _execute_with_keys(
    session: AsyncSession, statement: Any, columns: Sequence[str], keys: Iterable[Sequence[Any]]
) -> Any:
    wanted = list(dict.fromkeys(tuple(key) for key in keys))
    if not wanted:
        return None
    values: dict[str, Any]
    if dialect_of(session) == "postgresql":
        values = {f"k{i}": [key[i] for key in wanted] for i in range(len(columns))}
    else:
        values = {"keys": json.dumps(wanted)}
    return await session.exec(statement, params=values)


@functools.cache
def _with_keys(dialect: str, source: Any, columns: tuple[str, ...], lock: bool) -> Any:
    """The query of :func:`rows_with_keys` (``source`` a model) or :func:`values_with_keys`
    (``source`` a table), its keys left as parameters."""
    table = source if isinstance(source, sa.Table) else sa.inspect(source).local_table
    names = [f"k{i}" for i in range(len(columns))]
    if dialect == "postgresql":
        arrays = [
            sa.bindparam(name, type_=postgresql.ARRAY(table.c[column].type))
            for name, column in zip(names, columns, strict=True)
        ]
        given = sa.func.unnest(*arrays).table_valued(*names).render_derived("wanted")
        inner = (
            sa.select(table)
            .where(*(table.c[c] == given.c[n] for c, n in zip(columns, names, strict=True)))
            .offset(0)
        )
        matching = (inner.with_for_update() if lock else inner).lateral("found")
        found: Any = matching if source is table else aliased(source, matching)
        return sa.select(found).select_from(given).join(matching, sa.true())
    given = sa.func.json_each(sa.bindparam("keys")).table_valued("value")
    on = sa.and_(
        *(
            table.c[column] == sa.func.json_extract(given.c.value, f"$[{i}]")
            for i, column in enumerate(columns)
        )
    )
    return sa.select(source if source is not table else table).select_from(given).join(table, on)


@functools.cache
def _upsert(dialect: str, table: Any, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    statement = insert_of(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in columns}
    )


async def upsert(
    session: AsyncSession, table: Any, keys: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys), or, where a row with the same ``keys``
    exists, set its other columns to the new values: one ``executemany``."""
    if rows:
        columns = tuple(c for c in rows[0] if c not in keys)
        await session.exec(_upsert(dialect_of(session), table, tuple(keys), columns), params=rows)


def _key_of(row: Any, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(getattr(row, column) for column in columns)


class Rows:
    """Rows by primary key for one batch. :meth:`load` reads a table's rows for many keys at
    once (remembering which keys have none); :meth:`get` then answers from memory, and
    :meth:`add` and :meth:`delete` keep it in step with what the handlers change. A key
    not loaded is looked up with ``session.get``, as before."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._known: dict[type[Any], dict[tuple[Any, ...], Any]] = {}
        self._columns: dict[type[Any], list[str]] = {}

    def _table(self, model: type[Any]) -> dict[tuple[Any, ...], Any]:
        if model not in self._known:
            self._known[model] = {}
            self._columns[model] = [column.key for column in sa.inspect(model).primary_key]
        return self._known[model]

    @staticmethod
    def _normal(key: Any) -> tuple[Any, ...]:
        return tuple(key) if isinstance(key, tuple) else (key,)

    async def load(self, model: type[Any], keys: Iterable[Any], *, lock: bool = False) -> None:
        """Read the rows of these keys (sorted, so that concurrent lockers take their locks
        in one order), each once per batch."""
        known = self._table(model)
        missing = sorted({k for k in map(self._normal, keys) if k not in known})
        if not missing:
            return
        columns = self._columns[model]
        for row in await rows_with_keys(self.session, model, columns, missing, lock=lock):
            known[_key_of(row, columns)] = row
        for key in missing:
            known.setdefault(key, None)

    async def get(self, model: type[T], key: Any) -> T | None:
        known = self._table(model)
        normal = self._normal(key)
        if normal not in known:
            known[normal] = await self.session.get(model, key)
        row: T | None = known[normal]
        return row

    def add(self, row: Any) -> None:
        """A new row (or a changed one): written with the transaction's next flush."""
        self.session.add(row)
        model = type(row)
        self._table(model)[_key_of(row, self._columns[model])] = row

    async def delete(self, row: Any) -> None:
        model = type(row)
        if row in self.session.new:
            self.session.expunge(row)  # added in this batch: it is simply not written
        else:
            await self.session.delete(row)
        self._table(model)[_key_of(row, self._columns[model])] = None
