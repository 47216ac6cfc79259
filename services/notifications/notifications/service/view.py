"""The notifications service's copy of registration's facts: contact details (for delivery
only), hackathon and team names, and team members (to address a team's notifications).
Kept from events and from ``registration.contacts``; idempotent."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.events.catalogue import (
    AccountErased,
    ContactDetails,
    HackathonCreated,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamRegistered,
    TeamWithdrawn,
)
from hackathon_shared.events.envelope import Envelope
from notifications.adapters.tables import (
    ContactRow,
    DeliveryRow,
    ErasedAccount,
    KnownHackathon,
    KnownTeam,
    NotificationRow,
    PastTeamMember,
    TeamMember,
)
from notifications.domain.templates import Names


async def apply_to_view(session: AsyncSession, event: Envelope) -> None:
    if isinstance(event, HackathonCreated):
        created = event.payload
        if await session.get(KnownHackathon, created.hackathon_id) is None:
            session.add(KnownHackathon(hackathon_id=created.hackathon_id, name=created.name))
    elif isinstance(event, TeamRegistered):
        team = event.payload
        if await session.get(KnownTeam, team.team_id) is None:
            session.add(
                KnownTeam(
                    team_id=team.team_id,
                    hackathon_id=team.hackathon_id,
                    name=team.name,
                )
            )
            for account in dict.fromkeys(team.members):
                session.add(
                    TeamMember(team_id=team.team_id, account_id=account, joined_seq=event.sequence)
                )
    elif isinstance(event, TeamMemberJoined):
        joined = event.payload
        member = await session.get(TeamMember, (joined.team_id, joined.account_id))
        if member is None or (member.left_seq is not None and member.left_seq < event.sequence):
            if member is not None and member.left_seq is not None:
                await _keep_past_period(session, member)
            member = member or TeamMember(team_id=joined.team_id, account_id=joined.account_id)
            member.joined_seq, member.left_seq = event.sequence, None
            session.add(member)
    elif isinstance(event, TeamMemberLeft):
        member = await session.get(TeamMember, (event.payload.team_id, event.payload.account_id))
        if member is not None and member.left_seq is None and member.joined_seq < event.sequence:
            member.left_seq = event.sequence
            session.add(member)
    elif isinstance(event, TeamWithdrawn):
        team_row = await session.get(KnownTeam, event.payload.team_id)
        if team_row is not None:
            team_row.withdrawn = True
            session.add(team_row)
    elif isinstance(event, AccountErased):
        await erase_account(session, event.payload.account_id)
    await session.flush()


async def _keep_past_period(session: AsyncSession, member: TeamMember) -> None:
    """Someone rejoins: the period that ended stays, so the team can still be told as of it."""
    assert member.left_seq is not None
    key = (member.team_id, member.account_id, member.joined_seq)
    if await session.get(PastTeamMember, key) is None:
        session.add(
            PastTeamMember(
                team_id=member.team_id,
                account_id=member.account_id,
                joined_seq=member.joined_seq,
                left_seq=member.left_seq,
            )
        )


def _member_at(joined_seq: int, left_seq: int | None, as_of: int | None) -> bool:
    if as_of is None:
        return left_seq is None
    return joined_seq <= as_of and (left_seq is None or left_seq > as_of)


async def members_of(
    session: AsyncSession, teams: Mapping[str, int | None]
) -> dict[str, list[str]]:
    """Each team's members in the order they joined: as of the team's event number given, or
    now where it is None."""
    wanted = list(teams)
    if not wanted:
        return {}
    rows = await session.exec(
        select(TeamMember)
        .where(col(TeamMember.team_id).in_(wanted))
        .order_by(col(TeamMember.joined_seq), col(TeamMember.account_id))
    )
    periods = [(r.team_id, r.account_id, r.joined_seq, r.left_seq) for r in rows.all()]
    if any(as_of is not None for as_of in teams.values()):
        past = await session.exec(
            select(PastTeamMember).where(col(PastTeamMember.team_id).in_(wanted))
        )
        periods += [(r.team_id, r.account_id, r.joined_seq, r.left_seq) for r in past.all()]
    found: dict[str, list[str]] = {team_id: [] for team_id in wanted}
    for team_id, account_id, joined_seq, left_seq in sorted(periods, key=lambda p: (p[2], p[1])):
        if _member_at(joined_seq, left_seq, teams[team_id]) and account_id not in found[team_id]:
            found[team_id].append(account_id)
    return found


async def apply_contact(
    session: AsyncSession, account_id: str, contact: ContactDetails | None
) -> None:
    """Handler of ``registration.contacts``: keep the latest details; a tombstone erases.
    Details of an account erased already (arriving late, from before the erasure) are
    dropped."""
    if contact is None:
        await erase_account(session, account_id)
        return
    if await session.get(ErasedAccount, account_id) is not None:
        return
    row = await session.get(ContactRow, account_id)
    if row is None:
        row = ContactRow(
            account_id=account_id,
            email=contact.email,
            display_name=contact.display_name,
            updated_at=contact.updated_at,
        )
    elif contact.updated_at >= row.updated_at:
        row.email, row.display_name, row.updated_at = (
            contact.email,
            contact.display_name,
            contact.updated_at,
        )
    session.add(row)


async def erase_account(session: AsyncSession, account_id: str) -> None:
    """Remove what this service holds about an erased account: its contact details, its own
    notifications and the e-mails not sent yet. Other people's notifications keep only the
    account id, which now renders without a name; delivery records keep the account id.
    The account is remembered as erased, so that nothing is addressed to it any more."""
    if await session.get(ErasedAccount, account_id) is None:
        session.add(ErasedAccount(account_id=account_id, erased_at=datetime.now(UTC)))
    await session.exec(delete(ContactRow).where(col(ContactRow.account_id) == account_id))
    await session.exec(delete(NotificationRow).where(col(NotificationRow.account_id) == account_id))
    await session.exec(
        delete(DeliveryRow).where(
            col(DeliveryRow.account_id) == account_id, col(DeliveryRow.status) == "pending"
        )
    )


async def erased_among(session: AsyncSession, accounts: Iterable[str]) -> set[str]:
    wanted = set(accounts)
    if not wanted:
        return set()
    rows = await session.exec(
        select(ErasedAccount.account_id).where(col(ErasedAccount.account_id).in_(wanted))
    )
    return set(rows.all())


async def names_for(
    session: AsyncSession,
    accounts: Iterable[str],
    teams: Iterable[str],
    hackathons: Iterable[str],
) -> Names:
    account_ids, team_ids, hackathon_ids = set(accounts), set(teams), set(hackathons)
    people: dict[str, str] = {}
    team_names: dict[str, str] = {}
    hackathon_names: dict[str, str] = {}
    if account_ids:
        rows = await session.exec(
            select(ContactRow).where(col(ContactRow.account_id).in_(account_ids))
        )
        people = {row.account_id: row.display_name for row in rows.all()}
    if team_ids:
        team_rows = await session.exec(
            select(KnownTeam).where(col(KnownTeam.team_id).in_(team_ids))
        )
        team_names = {row.team_id: row.name for row in team_rows.all()}
    if hackathon_ids:
        hackathon_rows = await session.exec(
            select(KnownHackathon).where(col(KnownHackathon.hackathon_id).in_(hackathon_ids))
        )
        hackathon_names = {row.hackathon_id: row.name for row in hackathon_rows.all()}
    return Names(people=people, teams=team_names, hackathons=hackathon_names)
