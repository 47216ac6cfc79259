"""A minimal service used to test the shared messaging plumbing for real: its state is a tally
per account, changed in the same transaction as its outbox rows, and its handler counts the
events it applies."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import AccountCreated
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.migrations import upgrade_to_head

MIGRATIONS = Path(__file__).parent / "migrations"


class TallyRow(SQLModel, table=True):
    __tablename__ = "tallies"

    account_id: str = Field(primary_key=True, max_length=64)
    count: int = 0


async def migrate(url: str) -> Database:
    await upgrade_to_head(url, MIGRATIONS)
    return Database(url)


async def count_event(session: AsyncSession, event: Envelope) -> None:
    """Handler: one more for the account the event is about."""
    assert isinstance(event, AccountCreated)
    row = await session.get(TallyRow, event.payload.account_id)
    if row is None:
        row = TallyRow(account_id=event.payload.account_id, count=0)
    row.count += 1
    session.add(row)


async def tallies(db: Database) -> dict[str, int]:
    async with db.sessions() as session:
        rows = (await session.exec(select(TallyRow))).all()
    return {row.account_id: row.count for row in rows}


async def count_rows(db: Database, table: str) -> int:
    async with db.sessions() as session:
        result = await session.exec(sa.text(f"SELECT count(*) FROM {table}"))  # type: ignore[call-overload]
        return int(result.scalar_one())
