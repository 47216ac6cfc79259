"""Account use cases: each loads, decides and saves state and outbox rows in one unit of work."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.auth import issue_token
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    AccountErased,
    AccountErasedPayload,
    ContactDetails,
)
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError
from hackathon_shared.topics import REGISTRATION_CONTACTS
from registration.adapters.passwords import hash_password, verify_password
from registration.adapters.sign_in_limiter import SignInLimiter
from registration.adapters.tables import AccountRow
from registration.domain.accounts import ORGANIZER, PARTICIPANT, new_account_id, normalise_email


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
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.jwt_secret = jwt_secret
        self.token_ttl = token_ttl
        self.limiter = limiter or SignInLimiter()

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
        await self.outbox.append_record(
            session, REGISTRATION_CONTACTS, account.account_id, contact.model_dump_json()
        )

    async def issue_token(self, email: str, password: str) -> IssuedToken:
        email = normalise_email(email)
        self.limiter.check(email)
        async with self.db.sessions() as session:
            found = await session.exec(select(AccountRow).where(AccountRow.email == email))
            account = found.first()
        if not await verify_password(account.password_hash if account else None, password):
            self.limiter.failed(email)
            raise ProblemError(401, "invalid-credentials", "wrong e-mail or password")
        assert account is not None
        self.limiter.succeeded(email)
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
        (memberships, scores) remains verifiable in the log."""
        async with self.db.transaction() as session:
            account = await session.get(AccountRow, account_id, with_for_update=True)
            if account is None or account.email is None:
                raise ProblemError(401, "unauthenticated", "this account no longer exists")
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
            await self.outbox.append_record(session, REGISTRATION_CONTACTS, account_id, None)

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
        changed = False
        if ORGANIZER not in account.role_list():
            account.roles = ",".join([*account.role_list(), ORGANIZER])
            changed = True
        if not await verify_password(account.password_hash, password):
            account.password_hash = await hash_password(password)
            changed = True
        if changed:
            async with self.db.transaction() as session:
                session.add(account)


def _email_taken() -> ProblemError:
    return ProblemError(409, "email-taken", "an account with this e-mail address already exists")
