"""Account use cases against a real database (SQLite and PostgreSQL): what erasure leaves in
registration's own tables and outbox, and the organizer role granted at start-up."""

from __future__ import annotations

import json

from sqlmodel import col, select

from hackathon_shared.db import Database
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox
from hackathon_shared.topics import REGISTRATION_CONTACTS, Topics
from registration.adapters.tables import AccountRow
from registration.app import MIGRATIONS
from registration.service.accounts import Accounts

SECRET = "a-test-secret-that-is-long-enough"


async def accounts_on(database_url: str) -> Accounts:
    await upgrade_to_head(database_url, MIGRATIONS)
    return Accounts(Database(database_url), Outbox(Topics(), "registration"), SECRET, 60)


async def outbox_rows(accounts: Accounts) -> list[OutboxRecord]:
    async with accounts.db.sessions() as session:
        return list((await session.exec(select(OutboxRecord).order_by(col(OutboxRecord.id)))).all())


async def test_erasure_leaves_no_personal_data_in_the_database_or_the_outbox(
    database_url: str,
) -> None:
    accounts = await accounts_on(database_url)
    account = await accounts.create("Erin@Example.org", "a long password", "Erin Example")
    await accounts.erase(account.account_id, correlation_id=None)

    async with accounts.db.sessions() as session:
        row = await session.get(AccountRow, account.account_id)
    assert row is not None  # the id stays, for what the person decided
    assert (row.email, row.display_name, row.password_hash) == (None, None, None)

    rows = await outbox_rows(accounts)
    everything = " ".join(r.value or "" for r in rows).lower()
    assert "erin" not in everything and "example.org" not in everything
    contacts = [r for r in rows if r.topic == REGISTRATION_CONTACTS]
    assert [r.value for r in contacts] == [None, None]  # the details, cleared; the tombstone
    assert [r.event_type for r in rows if r.event_type] == ["AccountCreated", "AccountErased"]
    await accounts.db.dispose()


async def test_granting_the_organizer_role_at_start_up_is_an_event(database_url: str) -> None:
    accounts = await accounts_on(database_url)
    account = await accounts.create("org@example.org", "the first password", "Org")
    await accounts.ensure_organizer("ORG@example.org", "the configured password", "Org")

    async with accounts.db.sessions() as session:
        row = await session.get(AccountRow, account.account_id)
    assert row is not None and row.role_list() == ["participant", "organizer"]
    issued = await accounts.issue_token("org@example.org", "the configured password")
    assert issued.access_token

    events = [r for r in await outbox_rows(accounts) if r.event_type]
    assert [e.event_type for e in events] == ["AccountCreated", "AccountRolesChanged"]
    changed = json.loads(events[1].value or "{}")
    assert changed["sequence"] == 2
    assert changed["payload"]["roles"] == ["participant", "organizer"]

    # Nothing left to change: no further event.
    await accounts.ensure_organizer("org@example.org", "the configured password", "Org")
    assert len([r for r in await outbox_rows(accounts) if r.event_type]) == 2
    await accounts.db.dispose()
