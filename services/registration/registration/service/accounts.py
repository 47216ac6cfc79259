"""Account use cases: each loads, decides and saves state and outbox rows in one unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.auth import issue_token
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    AccountErased,
    AccountErasedPayload,
    AccountRolesChanged,
    AccountRolesChangedPayload,
    ContactDetails,
)
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError
from hackathon_shared.record_versions import versioned_contact_json
from hackathon_shared.topics import REGISTRATION_CONTACTS
from registration.adapters.passwords import hash_password, verify_password
from registration.adapters.sign_in_limiter import SignInLimiter
from registration.adapters.tables import AccountRow
from registration.domain.accounts import ORGANIZER, PARTICIPANT, new_account_id, normalise_email
from registration.service.teams import leave_every_team


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


class Accounts:
    def __init__(
        self,
        db: Database,
        outbox: Outbox,
        jwt_secret: str,
        token_ttl: int,
        limiter: SignInLimiter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.jwt_secret = jwt_secret
        self.token_ttl = token_ttl
        self.limiter = limiter or SignInLimiter()
        self.sleep = sleep  # how a slowed-down sign-in waits

    async def create(
        self,
        email: str,
        password: str,
        display_name: str,
        roles: list[str] | None = None,
        correlation_id: str | None = None,
    ) -> AccountRow:
        email = normalise_email(email)
        now = datetime.now(UTC)
        account = AccountRow(
            account_id=new_account_id(),
            email=email,
            display_name=display_name.strip(),
            password_hash=await hash_password(password),
            roles=",".join(roles or [PARTICIPANT]),
            created_at=now,
        )
        try:
            async with self.db.transaction() as session:
                taken = await session.exec(select(AccountRow).where(AccountRow.email == email))
                if taken.first() is not None:
                    raise _email_taken()
                session.add(account)
                await session.flush()
                await self._announce(session, account, correlation_id)
        except IntegrityError as error:  # a concurrent sign-up took the address first
            raise _email_taken() from error
        return account

    async def _announce(
        self, session: AsyncSession, account: AccountRow, correlation_id: str | None
    ) -> None:
        await self.outbox.append(
            session,
            AccountCreated,
            AccountCreatedPayload(account_id=account.account_id, roles=account.role_list()),
            aggregate_id=account.account_id,
            correlation_id=correlation_id,
        )
        contact = ContactDetails(
            account_id=account.account_id,
            email=account.email or "",
            display_name=account.display_name or "",
            updated_at=account.created_at,
        )
        version = await self._next_contact_version(session, account.account_id)
        await self.outbox.append_record(
            session,
            REGISTRATION_CONTACTS,
            account.account_id,
            versioned_contact_json(contact, version),
        )

    async def _next_contact_version(self, session: AsyncSession, account_id: str) -> int:
        """The version of the account's next contact record: one more than the records its
        outbox holds (tombstones included), so that a consumer can tell an older record, sent
        again, from a newer one (hackathon_shared.record_versions); a record from before
        versions counts as one of them."""
        count = await session.exec(
            select(func.count()).where(
                col(OutboxRecord.topic) == self.outbox.topics.name(REGISTRATION_CONTACTS),
                col(OutboxRecord.message_key) == account_id,
            )
        )
        return int(count.one()) + 1

    async def issue_token(
        self, email: str, password: str, *, client: str | None = None
    ) -> IssuedToken:
        """A token for the right password. ``client`` is the caller's address: a client that
        failed too often for this e-mail is refused (429) and nobody else is; an e-mail under
        attack from many clients only slows every attempt down (registration.domain.sign_in)."""
        email = normalise_email(email)
        client = client or "unknown"
        # Counted before the slow check, so that guesses sent in parallel count too.
        delay = self.limiter.attempt(email, client)
        if delay > 0:
            await self.sleep(delay)
        async with self.db.sessions() as session:
            found = await session.exec(select(AccountRow).where(AccountRow.email == email))
            account = found.first()
        if not await verify_password(account.password_hash if account else None, password):
            raise ProblemError(401, "invalid-credentials", "wrong e-mail or password")
        assert account is not None
        self.limiter.succeeded(email, client)
        token = issue_token(
            self.jwt_secret, account.account_id, account.role_list(), self.token_ttl
        )
        return IssuedToken(token, self.token_ttl)

    async def get(self, account_id: str) -> AccountRow:
        async with self.db.sessions() as session:
            account = await session.get(AccountRow, account_id)
        if account is None or account.email is None:
            raise ProblemError(401, "unauthenticated", "this account no longer exists")
        return account

    async def erase(self, account_id: str, correlation_id: str | None) -> None:
        """Remove the account's personal data; its id stays, so what the person decided
        (memberships, scores) remains verifiable in the log. In the same transaction the
        account leaves the teams it holds a seat in (those of hackathons whose teams still
        change), announced before the erasure itself; its registrations stay, as ids
        (docs/erasure.md)."""
        async with self.db.transaction() as session:
            account = await session.get(
                AccountRow, account_id, with_for_update=True, populate_existing=True
            )
            if account is None or account.email is None:
                raise ProblemError(401, "unauthenticated", "this account no longer exists")
            await leave_every_team(session, self.outbox, account_id, correlation_id)
            account.email = None
            account.display_name = None
            account.password_hash = None
            session.add(account)
            await self.outbox.append(
                session,
                AccountErased,
                AccountErasedPayload(account_id=account_id),
                aggregate_id=account_id,
                correlation_id=correlation_id,
            )
            # The contact details the outbox still holds go too: a tombstone replaces them.
            await session.exec(
                update(OutboxRecord)
                .where(
                    col(OutboxRecord.topic) == self.outbox.topics.name(REGISTRATION_CONTACTS),
                    col(OutboxRecord.message_key) == account_id,
                )
                .values(value=None)
            )
            await self.outbox.append_record(session, REGISTRATION_CONTACTS, account_id, None)

    async def require_live(self, account_id: str) -> None:
        """Refuse a (still unexpired) token of an erased account."""
        await self.get(account_id)

    async def ensure_organizer(self, email: str, password: str, display_name: str) -> None:
        """Make sure an organizer account with these credentials exists (start-up)."""
        async with self.db.sessions() as session:
            found = await session.exec(
                select(AccountRow).where(AccountRow.email == normalise_email(email))
            )
            account = found.first()
        if account is None:
            # Another replica may create it at the same moment; either way it exists.
            with suppress(ProblemError):
                await self.create(email, password, display_name, roles=[ORGANIZER])
            return
        new_hash = None
        if not await verify_password(account.password_hash, password):
            new_hash = await hash_password(password)
        async with self.db.transaction() as session:
            row = await session.get(AccountRow, account.account_id, with_for_update=True)
            assert row is not None
            if new_hash is not None:
                row.password_hash = new_hash
            if ORGANIZER not in row.role_list():
                row.roles = ",".join([*row.role_list(), ORGANIZER])
                await self.outbox.append(
                    session,
                    AccountRolesChanged,
                    AccountRolesChangedPayload(
                        account_id=row.account_id, roles=row.role_list(), changed_by="system"
                    ),
                    aggregate_id=row.account_id,
                )
            session.add(row)


def _email_taken() -> ProblemError:
    return ProblemError(409, "email-taken", "an account with this e-mail address already exists")
