"""Alembic migrations applied at start-up, one script directory per service.

A service's ``migrations/env.py`` is just ``from hackathon_shared.migrations import run_env;
run_env()``; :func:`upgrade_to_head` runs the service's migrations on its own database. On
PostgreSQL an advisory lock keeps replicas that start together from migrating at once."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from hackathon_shared.db import make_engine


def alembic_config(script_location: Path, version_table: str = "alembic_version") -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("version_table", version_table)
    return config


def _upgrade(connection: Connection, config: Config) -> None:
    if connection.dialect.name == "postgresql":
        lock_key = zlib.crc32(str(config.get_main_option("script_location")).encode())
        connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key})
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade_to_head(database_url: str, script_location: Path) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, alembic_config(script_location))
    finally:
        await engine.dispose()


def run_env() -> None:
    """Body of every service's Alembic ``env.py`` (online mode, given a connection)."""
    connection: Any = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "migrations run through hackathon_shared.migrations.upgrade_to_head, "
            "which passes the connection"
        )
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=True,
        version_table=context.config.get_main_option("version_table") or "alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()
