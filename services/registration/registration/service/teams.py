"""Team use cases: form a team, join it with its invite code, leave it, and read teams.

Capacity is decided one transaction at a time: forming a team locks the hackathon's row (its
number of teams), joining and leaving lock the team's row (its members). A unique key on
(hackathon, account) backs up the one-team-per-participant rule. Locks are taken in one order,
account, hackathon, team: forming and joining hold the caller's account in share mode, so an
erasure (which locks it for update, then leaves the account's teams: :func:`leave_every_team`)
either sees the new membership or makes the team change find the account gone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.hackathons import MemberView, TeamView
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamMemberLeft,
    TeamMemberLeftPayload,
    TeamRegistered,
    TeamRegisteredPayload,
    TeamWithdrawn,
    TeamWithdrawnPayload,
)
from hackathon_shared.keyset import keyset_page
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError, invalid_field
from registration.adapters.tables import (
    AccountRow,
    HackathonRow,
    ParticipantRow,
    TeamMemberRow,
    TeamRow,
)
from registration.domain.hackathons import TEAM_PHASES, require_phase
from registration.domain.teams import (
    check_room,
    check_team_slots,
    invite_code_matches,
    name_key,
    new_invite_code,
    new_team_id,
    next_captain,
)
from registration.service.hackathons import load_hackathon


def _already_in_team() -> ProblemError:
    return ProblemError(409, "already-in-team", "you are in a team of this hackathon already")


def _is_second_membership(error: IntegrityError) -> bool:
    """The one-team-per-participant key (named on PostgreSQL, by its columns on SQLite)."""
    message = str(error.orig)
    return "uq_one_team" in message or "team_members.hackathon_id" in message


async def _require_registered(session: AsyncSession, hackathon_id: str, account_id: str) -> None:
    found = await session.exec(
        select(ParticipantRow.participant_id).where(
            ParticipantRow.hackathon_id == hackathon_id, ParticipantRow.account_id == account_id
        )
    )
    if found.first() is None:
        raise ProblemError(403, "not-registered", "register for this hackathon first")


async def _require_in_no_team(session: AsyncSession, hackathon_id: str, account_id: str) -> None:
    found = await session.exec(
        select(TeamMemberRow.team_id).where(
            TeamMemberRow.hackathon_id == hackathon_id, TeamMemberRow.account_id == account_id
        )
    )
    if found.first() is not None:
        raise _already_in_team()


async def _hold_live_account(session: AsyncSession, account_id: str) -> None:
    """The caller's account, held in share mode until the transaction ends (see above)."""
    account = await session.get(
        AccountRow, account_id, with_for_update={"read": True}, populate_existing=True
    )
    if account is None or account.email is None:
        raise ProblemError(401, "unauthenticated", "this account no longer exists")


async def _members(session: AsyncSession, team_id: str) -> list[TeamMemberRow]:
    rows = await session.exec(
        select(TeamMemberRow)
        .where(TeamMemberRow.team_id == team_id)
        .order_by(col(TeamMemberRow.position))
    )
    return list(rows.all())


async def _load_team(session: AsyncSession, team_id: str, *, lock: bool) -> TeamRow:
    # populate_existing: a locking read must see the row as it is now, not a cached copy.
    team = await session.get(TeamRow, team_id, with_for_update=lock, populate_existing=lock)
    if team is None:
        raise ProblemError(404, "team-not-found", f"no team {team_id}")
    return team


async def _lock_hackathon_then_team(
    session: AsyncSession, team_id: str
) -> tuple[HackathonRow, TeamRow]:
    """Lock the team's hackathon in share mode (its phase cannot change meanwhile; other
    joins and leaves still proceed) and then the team itself, in the same order as forming a
    team (hackathon first), so that the two never deadlock."""
    team = await _load_team(session, team_id, lock=False)
    hackathon = await session.get(HackathonRow, team.hackathon_id, with_for_update={"read": True})
    assert hackathon is not None
    team = await _load_team(session, team_id, lock=True)
    return hackathon, team


async def _remove_member(
    session: AsyncSession,
    outbox: Outbox,
    team: TeamRow,
    members: list[TeamMemberRow],
    account_id: str,
    correlation_id: str | None,
    *,
    emptied_because: str,
) -> None:
    """Take a member out of a team whose row is locked (``members`` read under that lock):
    a leaving captain hands the role to the longest-standing remaining member (the earliest
    to join), and a team left with nobody is withdrawn (``emptied_because`` says why)."""
    mine = next(m for m in members if m.account_id == account_id)
    await session.delete(mine)
    successor = next_captain([m.account_id for m in members], account_id)
    new_captain = successor if team.captain_id == account_id else None
    if new_captain is not None:
        team.captain_id = new_captain
    if successor is None:
        team.status = "withdrawn"
    session.add(team)
    await session.flush()
    await outbox.append(
        session,
        TeamMemberLeft,
        TeamMemberLeftPayload(
            team_id=team.team_id,
            hackathon_id=team.hackathon_id,
            account_id=account_id,
            new_captain_id=new_captain,
        ),
        aggregate_id=team.team_id,
        correlation_id=correlation_id,
    )
    if successor is None:
        await outbox.append(
            session,
            TeamWithdrawn,
            TeamWithdrawnPayload(
                team_id=team.team_id, hackathon_id=team.hackathon_id, reason=emptied_because
            ),
            aggregate_id=team.team_id,
            correlation_id=correlation_id,
        )


async def leave_every_team(
    session: AsyncSession, outbox: Outbox, account_id: str, correlation_id: str | None
) -> None:
    """An erased account leaves its team in every hackathon whose teams still change
    (registration, hacking), in the erasure's own transaction (the caller holds the account
    locked for update), exactly as a member leaving would: its seat is free again, the
    captaincy passes on, and a team left empty is withdrawn. From judging on, teams stay as
    they were judged and the membership stays on record, as an id (docs/erasure.md)."""
    found = await session.exec(
        select(TeamMemberRow.team_id)
        .where(TeamMemberRow.account_id == account_id)
        .order_by(col(TeamMemberRow.team_id))
    )
    for team_id in found.all():
        hackathon, team = await _lock_hackathon_then_team(session, team_id)
        if hackathon.phase not in TEAM_PHASES:
            continue
        members = await _members(session, team_id)
        if not any(m.account_id == account_id for m in members):
            continue  # left in a transaction that committed before this one took the team
        await _remove_member(
            session,
            outbox,
            team,
            members,
            account_id,
            correlation_id,
            emptied_because="its last member's account was erased",
        )


class Teams:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def create(
        self,
        hackathon_id: str,
        account_id: str,
        name: str,
        challenge_id: str,
        correlation_id: str | None,
    ) -> TeamView:
        now = datetime.now(UTC)
        try:
            async with self.db.transaction() as session:
                await _hold_live_account(session, account_id)
                hackathon = await load_hackathon(session, hackathon_id, lock=True)
                await _require_registered(session, hackathon_id, account_id)
                require_phase(hackathon.phase, TEAM_PHASES, "forming a team")
                await _require_in_no_team(session, hackathon_id, account_id)
                challenges = {c["challenge_id"] for c in hackathon.definition["challenges"]}
                if challenge_id not in challenges:
                    raise invalid_field("challenge_id", "not a challenge of this hackathon")
                key = name_key(name)
                active = select(TeamRow).where(
                    TeamRow.hackathon_id == hackathon_id, TeamRow.status == "active"
                )
                taken = await session.exec(active.where(TeamRow.name_key == key))
                if taken.first() is not None:
                    raise ProblemError(
                        409, "team-name-taken", "a team of this hackathon has this name"
                    )
                count = await session.exec(
                    select(func.count())
                    .select_from(TeamRow)
                    .where(TeamRow.hackathon_id == hackathon_id, TeamRow.status == "active")
                )
                check_team_slots(int(count.one()), hackathon.max_teams)
                team = TeamRow(
                    team_id=new_team_id(),
                    hackathon_id=hackathon_id,
                    name=name,
                    name_key=key,
                    challenge_id=challenge_id,
                    captain_id=account_id,
                    invite_code=new_invite_code(),
                    status="active",
                    created_at=now,
                )
                session.add(team)
                await session.flush()
                session.add(
                    TeamMemberRow(
                        team_id=team.team_id,
                        account_id=account_id,
                        hackathon_id=hackathon_id,
                        joined_at=now,
                        position=1,
                    )
                )
                await session.flush()
                await self.outbox.append(
                    session,
                    TeamRegistered,
                    TeamRegisteredPayload(
                        team_id=team.team_id,
                        hackathon_id=hackathon_id,
                        name=name,
                        challenge_id=challenge_id,
                        captain_id=account_id,
                        members=[account_id],
                    ),
                    aggregate_id=team.team_id,
                    correlation_id=correlation_id,
                )
                view = await self._view(session, team, with_code=True)
        except IntegrityError as error:  # the same person forming two teams at once
            if not _is_second_membership(error):
                raise
            raise _already_in_team() from error
        return view

    async def join(
        self, team_id: str, account_id: str, invite_code: str, correlation_id: str | None
    ) -> TeamView:
        try:
            async with self.db.transaction() as session:
                await _hold_live_account(session, account_id)
                hackathon, team = await _lock_hackathon_then_team(session, team_id)
                if not invite_code_matches(team.invite_code, invite_code):
                    raise ProblemError(403, "wrong-invite-code", "this invite code is not valid")
                await _require_registered(session, team.hackathon_id, account_id)
                require_phase(hackathon.phase, TEAM_PHASES, "joining a team")
                if team.status != "active":
                    raise ProblemError(409, "team-withdrawn", "this team has withdrawn")
                await _require_in_no_team(session, team.hackathon_id, account_id)
                members = await _members(session, team_id)
                check_room(len(members), hackathon.max_team_size)
                session.add(
                    TeamMemberRow(
                        team_id=team_id,
                        account_id=account_id,
                        hackathon_id=team.hackathon_id,
                        joined_at=datetime.now(UTC),
                        position=max(m.position for m in members) + 1,
                    )
                )
                await session.flush()
                await self.outbox.append(
                    session,
                    TeamMemberJoined,
                    TeamMemberJoinedPayload(
                        team_id=team_id, hackathon_id=team.hackathon_id, account_id=account_id
                    ),
                    aggregate_id=team_id,
                    correlation_id=correlation_id,
                )
                view = await self._view(session, team, with_code=True)
        except IntegrityError as error:  # joined another team in a concurrent request
            if not _is_second_membership(error):
                raise
            raise _already_in_team() from error
        return view

    async def leave(self, team_id: str, account_id: str, correlation_id: str | None) -> None:
        async with self.db.transaction() as session:
            hackathon, team = await _lock_hackathon_then_team(session, team_id)
            members = await _members(session, team_id)
            if not any(m.account_id == account_id for m in members):
                raise ProblemError(403, "not-a-member", "you are not a member of this team")
            require_phase(hackathon.phase, TEAM_PHASES, "leaving a team")
            await _remove_member(
                session,
                self.outbox,
                team,
                members,
                account_id,
                correlation_id,
                emptied_because="the last member left",
            )

    async def get(self, team_id: str, viewer_id: str | None) -> TeamView:
        async with self.db.sessions() as session:
            team = await _load_team(session, team_id, lock=False)
            members = await _members(session, team_id)
            is_member = viewer_id is not None and any(m.account_id == viewer_id for m in members)
            return await self._view(session, team, with_code=is_member, members=members)

    async def page(
        self, hackathon_id: str, limit: int, cursor: str | None
    ) -> tuple[list[TeamView], str | None]:
        async with self.db.sessions() as session:
            await load_hackathon(session, hackathon_id, lock=False)
            rows, next_cursor = await keyset_page(
                session,
                select(TeamRow).where(TeamRow.hackathon_id == hackathon_id),
                col(TeamRow.created_at),
                col(TeamRow.team_id),
                limit,
                cursor,
            )
            views = await self._views(session, rows, with_code=False)
        return views, next_cursor

    async def _view(
        self,
        session: AsyncSession,
        team: TeamRow,
        *,
        with_code: bool,
        members: list[TeamMemberRow] | None = None,
    ) -> TeamView:
        [view] = await self._views(session, [team], with_code=with_code, members=members)
        return view

    async def _views(
        self,
        session: AsyncSession,
        teams: list[TeamRow],
        *,
        with_code: bool,
        members: list[TeamMemberRow] | None = None,
    ) -> list[TeamView]:
        """Teams with their members and display names, in two queries whatever the count."""
        if members is None:
            found_members = await session.exec(
                select(TeamMemberRow)
                .where(col(TeamMemberRow.team_id).in_([t.team_id for t in teams]))
                .order_by(col(TeamMemberRow.position))
            )
            members = list(found_members.all())
        ids = sorted({m.account_id for m in members})
        names: dict[str, str | None] = {}
        if ids:
            found = await session.exec(
                select(AccountRow.account_id, AccountRow.display_name).where(
                    col(AccountRow.account_id).in_(ids)
                )
            )
            names = {account_id: name for account_id, name in found.all()}
        # ``invite_code`` is left unset (and so out of the answer) for non-members.
        return [
            TeamView(
                **({"invite_code": team.invite_code} if with_code else {}),
                team_id=team.team_id,
                hackathon_id=team.hackathon_id,
                name=team.name,
                challenge_id=team.challenge_id,
                captain_id=team.captain_id,
                members=[
                    MemberView(account_id=m.account_id, display_name=names.get(m.account_id))
                    for m in members
                    if m.team_id == team.team_id
                ],
                status=team.status,
            )
            for team in teams
        ]
