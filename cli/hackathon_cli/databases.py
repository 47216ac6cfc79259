"""One database per service on a PostgreSQL server, for ``hackathon run --database-url``.

The services never share a database (each owns its own, docs/architecture.md), so one URL
names a server and a base name, and each service gets ``<base>_<service>``: with
``postgresql://postgres@127.0.0.1:5432/hackathon``, registration's database is
``hackathon_registration``. A URL without a database name (or naming ``postgres``) uses the
base name ``hackathon``. Missing databases are created; existing ones are used as they are
(each service migrates its own on start-up)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_BASE = "hackathon"
_MAINTENANCE = "postgres"


class DatabaseUrlError(ValueError):
    pass


def service_database_urls(url: str, services: Iterable[str]) -> dict[str, str]:
    """The URL of each service's database on the server ``url`` names (nothing is created)."""
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise DatabaseUrlError(f"not a database URL: {url!r}") from error
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUrlError(
            f"--database-url takes a PostgreSQL server (postgresql://...), not {parsed.drivername}"
            "; without it every service has an SQLite file in the data directory"
        )
    base = parsed.database if parsed.database not in (None, "", _MAINTENANCE) else DEFAULT_BASE
    plain = parsed.set(drivername="postgresql")
    return {
        service: plain.set(database=f"{base}_{service}").render_as_string(hide_password=False)
        for service in services
    }


def create_missing(urls: Iterable[str], timeout: float = 10.0) -> list[str]:
    """Create each database that does not exist yet; the names of those created."""
    return asyncio.run(_create_missing(list(urls), timeout))


async def _create_missing(urls: list[str], timeout: float) -> list[str]:
    created: list[str] = []
    for url in urls:
        parsed = make_url(url)
        name = parsed.database or ""
        server = parsed.set(database=_MAINTENANCE).render_as_string(hide_password=False)
        try:
            connection = await asyncpg.connect(server, timeout=timeout)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            raise DatabaseUrlError(f"cannot reach PostgreSQL at {parsed.host}: {error}") from error
        try:
            exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                quoted = '"' + name.replace('"', '""') + '"'
                await connection.execute(f"CREATE DATABASE {quoted}")
                created.append(name)
        finally:
            await connection.close()
    return created
