"""The notifications service's copy of registration's facts: contact details (for delivery
only), hackathon and team names, and team members (to address a team's notifications).
Kept from events and from ``registration.contacts``; idempotent.

A consumer's batch reads what its events touch once (:class:`TeamView`, contact details by
:func:`apply_contact`'s batch), a table at a time (``hackathon_shared.batch``); each event
is then applied against those rows, and who belongs to a team is answered from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.batch import Batch, Rows, batch_of, insert_new, upsert, values_with_keys
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountErased,
    ContactDetails,
    HackathonCreated,
    JudgeAssigned,
    JudgeEnrolled,
    SubmissionReceived,
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

Period = tuple[str, int, int | None]  # account, joined_seq, left_seq


def _member_at(joined_seq: int, left_seq: int | None, as_of: int | None) -> bool:
    if as_of is None:
        return left_seq is None
    return joined_seq <= as_of and (left_seq is None or left_seq > as_of)


def members_at(periods: Sequence[Period], as_of: int | None) -> list[str]:
    """A team's members in the order they joined, from its membership periods: as of the
    team's event number given, or now where it is None."""
    found: list[str] = []
    for account_id, joined_seq, left_seq in sorted(periods, key=lambda p: (p[1], p[0])):
        if _member_at(joined_seq, left_seq, as_of) and account_id not in found:
            found.append(account_id)
    return found


def _accounts_named(event: Envelope) -> list[str]:
    """The accounts an event names itself (beyond the members of the teams it concerns)."""
    p: Any = event.payload
    if isinstance(event, AccountCreated | AccountErased | TeamMemberJoined | TeamMemberLeft):
        return [p.account_id]
    if isinstance(event, TeamRegistered):
        return list(p.members)
    if isinstance(event, SubmissionReceived):
        return [p.submitted_by]
    if isinstance(event, JudgeEnrolled | JudgeAssigned):
        return [p.judge_id]
    return []


_TEAM_EVENTS = (TeamRegistered, TeamMemberJoined, TeamMemberLeft, TeamWithdrawn)


@dataclass
class Membership:
    """One person's latest period in a team (a row of ``team_members``)."""

    joined_seq: int
    left_seq: int | None = None


@dataclass
class TeamView:
    """This service's copy of the teams, members, hackathons and erasures that a batch's
    events touch, read once for the batch and kept in step as each event is applied.
    Memberships are plain values here, written when the batch ends (:meth:`write`); the
    other rows are the session's, written with its flush."""

    session: AsyncSession
    rows: Rows
    members: dict[str, dict[str, Membership]] = field(default_factory=dict)
    past: dict[str, list[Period]] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    changed: set[tuple[str, str]] = field(default_factory=set)
    ended: list[dict[str, Any]] = field(default_factory=list)  # new past_team_members rows

    @classmethod
    async def load(
        cls, session: AsyncSession, events: Sequence[Envelope], teams: Iterable[str]
    ) -> TeamView:
        """Read what ``events`` touch; ``teams`` are the teams whose members the batch's
        notifications need, besides those the events change."""
        view = cls(session, Rows(session))
        touched = {e.payload.team_id for e in events if isinstance(e, _TEAM_EVENTS)}
        await view._load_teams({*touched, *teams})
        await view.rows.load(
            KnownTeam,
            [e.payload.team_id for e in events if isinstance(e, TeamRegistered | TeamWithdrawn)],
        )
        await view.rows.load(
            KnownHackathon,
            [e.payload.hackathon_id for e in events if isinstance(e, HackathonCreated)],
        )
        accounts = {a for e in events for a in _accounts_named(e)}
        accounts.update(a for team in view.members.values() for a in team)
        found = await values_with_keys(
            session, _table(ErasedAccount), ["account_id"], [(a,) for a in sorted(accounts)]
        )
        view.erased = {row.account_id for row in found}
        return view

    async def _load_teams(self, teams: Iterable[str]) -> None:
        wanted = sorted(set(teams) - set(self.members))
        if not wanted:
            return
        for team_id in wanted:
            self.members[team_id] = {}
            self.past[team_id] = []
        keys = [(team_id,) for team_id in wanted]
        for row in await values_with_keys(self.session, _table(TeamMember), ["team_id"], keys):
            self.members[row.team_id][row.account_id] = Membership(row.joined_seq, row.left_seq)
        for row in await values_with_keys(self.session, _table(PastTeamMember), ["team_id"], keys):
            self.past[row.team_id].append((row.account_id, row.joined_seq, row.left_seq))

    async def members_of(self, teams: Mapping[str, int | None]) -> dict[str, list[str]]:
        """Each team's members in the order they joined: as of the team's event number
        given, or now where it is None."""
        await self._load_teams(teams)
        found: dict[str, list[str]] = {}
        for team_id, as_of in teams.items():
            periods: list[Period] = [
                (account, m.joined_seq, m.left_seq) for account, m in self.members[team_id].items()
            ]
            if as_of is not None:
                periods += self.past[team_id]
            found[team_id] = members_at(periods, as_of)
        return found

    async def apply(self, event: Envelope) -> None:
        """Apply one event to the copy (the projection)."""
        rows = self.rows
        if isinstance(event, HackathonCreated):
            created = event.payload
            if await rows.get(KnownHackathon, created.hackathon_id) is None:
                rows.add(KnownHackathon(hackathon_id=created.hackathon_id, name=created.name))
        elif isinstance(event, TeamRegistered):
            team = event.payload
            if await rows.get(KnownTeam, team.team_id) is None:
                rows.add(
                    KnownTeam(team_id=team.team_id, hackathon_id=team.hackathon_id, name=team.name)
                )
                await self._load_teams([team.team_id])
                for account in dict.fromkeys(team.members):
                    self._set(team.team_id, account, Membership(event.sequence))
        elif isinstance(event, TeamMemberJoined):
            joined = event.payload
            await self._load_teams([joined.team_id])
            member = self.members[joined.team_id].get(joined.account_id)
            if member is None or (member.left_seq is not None and member.left_seq < event.sequence):
                if member is not None and member.left_seq is not None:
                    self._keep_past_period(joined.team_id, joined.account_id, member)
                self._set(joined.team_id, joined.account_id, Membership(event.sequence))
        elif isinstance(event, TeamMemberLeft):
            left = event.payload
            await self._load_teams([left.team_id])
            member = self.members[left.team_id].get(left.account_id)
            if (
                member is not None
                and member.left_seq is None
                and member.joined_seq < event.sequence
            ):
                self._set(
                    left.team_id, left.account_id, Membership(member.joined_seq, event.sequence)
                )
        elif isinstance(event, TeamWithdrawn):
            team_row = await rows.get(KnownTeam, event.payload.team_id)
            if team_row is not None:
                team_row.withdrawn = True
                rows.add(team_row)
        elif isinstance(event, AccountErased):
            await erase_account(self.session, event.payload.account_id, rows)
            self.erased.add(event.payload.account_id)

    def _set(self, team_id: str, account_id: str, membership: Membership) -> None:
        self.members[team_id][account_id] = membership
        self.changed.add((team_id, account_id))

    def _keep_past_period(self, team_id: str, account_id: str, member: Membership) -> None:
        """Someone rejoins: the period that ended stays, so the team can still be told as of
        it."""
        assert member.left_seq is not None
        periods = self.past[team_id]
        if any(p[0] == account_id and p[1] == member.joined_seq for p in periods):
            return
        periods.append((account_id, member.joined_seq, member.left_seq))
        self.ended.append(
            {
                "team_id": team_id,
                "account_id": account_id,
                "joined_seq": member.joined_seq,
                "left_seq": member.left_seq,
            }
        )

    async def write(self) -> None:
        """Write the memberships changed so far."""
        changed = [
            {
                "team_id": team_id,
                "account_id": account_id,
                "joined_seq": self.members[team_id][account_id].joined_seq,
                "left_seq": self.members[team_id][account_id].left_seq,
            }
            for team_id, account_id in sorted(self.changed)
        ]
        await upsert(self.session, _table(TeamMember), ["team_id", "account_id"], changed)
        await insert_new(self.session, _table(PastTeamMember), self.ended)
        self.changed, self.ended = set(), []


def _table(model: type[Any]) -> Any:
    return model.__table__


async def apply_contact(
    session: AsyncSession, account_id: str, contact: ContactDetails | None
) -> None:
    """Handler of ``registration.contacts``: keep the latest details; a tombstone erases.
    Details of an account erased already (arriving late, from before the erasure) are
    dropped."""
    async with batch_of(session, (account_id, contact)) as batch:
        rows = await batch.prepared(apply_contact, lambda: _contact_rows(session, batch))
        if contact is None:
            await erase_account(session, account_id, rows)
            return
        if await rows.get(ErasedAccount, account_id) is not None:
            return
        row = await rows.get(ContactRow, account_id)
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
        rows.add(row)


async def _contact_rows(session: AsyncSession, batch: Batch) -> Rows:
    """The erasures and contact details of the batch's accounts, a table at a time."""
    accounts = [account_id for account_id, _contact in batch.items]
    rows = Rows(session)
    await rows.load(ErasedAccount, accounts)
    await rows.load(ContactRow, accounts)
    return rows


async def erase_account(session: AsyncSession, account_id: str, rows: Rows | None = None) -> None:
    """Remove what this service holds about an erased account: its contact details, its own
    notifications and the e-mails not sent yet. Other people's notifications keep only the
    account id, which now renders without a name; delivery records keep the account id.
    The account is remembered as erased, so that nothing is addressed to it any more.
    ``rows``: the batch's rows, kept in step."""
    rows = rows or Rows(session)
    if await rows.get(ErasedAccount, account_id) is None:
        rows.add(ErasedAccount(account_id=account_id, erased_at=datetime.now(UTC)))
    details = await rows.get(ContactRow, account_id)
    if details is not None:
        await rows.delete(details)
    await session.exec(delete(NotificationRow).where(col(NotificationRow.account_id) == account_id))
    await session.exec(
        delete(DeliveryRow).where(
            col(DeliveryRow.account_id) == account_id, col(DeliveryRow.status) == "pending"
        )
    )


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
