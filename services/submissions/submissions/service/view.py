"""The submissions service's view of other services' facts, kept from their events.

``apply_event`` is the one projection, used live by the subscriber and for a rebuild from
the log. Per-aggregate order is guaranteed by the log (one aggregate, one partition); across
aggregates the handlers do not depend on order (a team may be heard of before its hackathon).
Redeliveries are absorbed by the inbox and, besides, every change here is idempotent.

A projection decides nothing: live, the subscriber also calls the withdrawal use case after a
team's `TeamWithdrawn` (``submissions.service.submissions.withdraw_for_team``). On a rebuild
the service's own events (`SubmissionReceived`, `SubmissionWithdrawn`) are replayed into the
submissions table instead.

A consumer's batch reads the rows its events touch with one query per table at its first
event (``hackathon_shared.batch``), the teams locked as before; each event is then applied
against those rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.batch import Batch, Rows, batch_of
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    HackathonCreated,
    HackathonPhaseChanged,
    JudgeAssigned,
    SubmissionReceived,
    SubmissionWithdrawn,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamRegistered,
    TeamWithdrawn,
    phase_index,
)
from hackathon_shared.events.envelope import Envelope
from submissions.adapters.tables import (
    KnownAssignment,
    KnownHackathon,
    KnownMember,
    KnownTeam,
    SubmissionRow,
)

TEAM_EVENTS = (TeamRegistered, TeamMemberJoined, TeamMemberLeft, TeamWithdrawn)


def _member_keys(event: Envelope) -> list[tuple[str, str]]:
    if isinstance(event, TeamRegistered):
        return [(event.payload.team_id, account) for account in event.payload.members]
    if isinstance(event, TeamMemberJoined | TeamMemberLeft):
        return [(event.payload.team_id, event.payload.account_id)]
    return []


async def _rows_for(session: AsyncSession, batch: Batch) -> Rows:
    """The view's rows that the batch's events touch, a table at a time; the teams under
    their row locks, as each team event took before."""
    events = batch.items
    rows = Rows(session)
    hackathon_events = (HackathonCreated, HackathonPhaseChanged)
    await rows.load(
        KnownHackathon,
        [e.payload.hackathon_id for e in events if isinstance(e, hackathon_events)],
    )
    await rows.load(
        KnownTeam, [e.payload.team_id for e in events if isinstance(e, TEAM_EVENTS)], lock=True
    )
    await rows.load(KnownMember, [key for e in events for key in _member_keys(e)])
    await rows.load(
        KnownAssignment,
        [
            (e.payload.submission_id, e.payload.judge_id)
            for e in events
            if isinstance(e, JudgeAssigned)
        ],
    )
    return rows


async def _saw_team_event(rows: Rows, team_id: str, sequence: int) -> None:
    """Remember how far this copy of the team goes in the team's chain, under the team row's
    lock, which a submission holds while it decides (so the members it reads and the
    position it names go together). The batch took the lock when it read the row."""
    team = await rows.get(KnownTeam, team_id)
    if team is not None and sequence > team.sequence:
        team.sequence = sequence
        rows.add(team)


async def _add_member(rows: Rows, team_id: str, account_id: str) -> None:
    if await rows.get(KnownMember, (team_id, account_id)) is None:
        rows.add(KnownMember(team_id=team_id, account_id=account_id))


async def apply_event(session: AsyncSession, event: Envelope, *, rebuilding: bool = False) -> None:
    """Project one event. On a rebuild (``rebuilding``) the service's own events are replayed
    too."""
    async with batch_of(session, event) as batch:
        rows = await batch.prepared(_rows_for, lambda: _rows_for(session, batch))
        await _apply(session, rows, event, rebuilding)


async def _apply(session: AsyncSession, rows: Rows, event: Envelope, rebuilding: bool) -> None:
    if isinstance(event, HackathonCreated):
        created = event.payload
        if await rows.get(KnownHackathon, created.hackathon_id) is None:
            rows.add(
                KnownHackathon(
                    hackathon_id=created.hackathon_id,
                    phase="draft",
                    submission_deadline=created.submission_deadline,
                    min_team_size=created.min_team_size,
                    challenge_ids=[c.challenge_id for c in created.challenges],
                    sequence=event.sequence,
                )
            )
    elif isinstance(event, HackathonPhaseChanged):
        hackathon = await rows.get(KnownHackathon, event.payload.hackathon_id)
        to_phase = event.payload.to_phase
        if hackathon is not None and phase_index(to_phase) > phase_index(hackathon.phase):
            hackathon.phase = to_phase
            hackathon.sequence = max(hackathon.sequence, event.sequence)
            rows.add(hackathon)
    elif isinstance(event, TeamRegistered):
        team = event.payload
        if await rows.get(KnownTeam, team.team_id) is None:
            rows.add(
                KnownTeam(
                    team_id=team.team_id,
                    hackathon_id=team.hackathon_id,
                    challenge_id=team.challenge_id,
                    status="active",
                    sequence=event.sequence,
                )
            )
            for account_id in team.members:
                await _add_member(rows, team.team_id, account_id)
    elif isinstance(event, TeamMemberJoined):
        await _saw_team_event(rows, event.payload.team_id, event.sequence)
        await _add_member(rows, event.payload.team_id, event.payload.account_id)
    elif isinstance(event, TeamMemberLeft):
        await _saw_team_event(rows, event.payload.team_id, event.sequence)
        member = await rows.get(KnownMember, (event.payload.team_id, event.payload.account_id))
        if member is not None:
            await rows.delete(member)
    elif isinstance(event, TeamWithdrawn):
        await _saw_team_event(rows, event.payload.team_id, event.sequence)
        withdrawn = await rows.get(KnownTeam, event.payload.team_id)
        if withdrawn is not None:
            withdrawn.status = "withdrawn"
            rows.add(withdrawn)
    elif isinstance(event, JudgeAssigned):
        assigned = event.payload
        key = (assigned.submission_id, assigned.judge_id)
        if await rows.get(KnownAssignment, key) is None:
            rows.add(
                KnownAssignment(submission_id=assigned.submission_id, judge_id=assigned.judge_id)
            )
    elif isinstance(event, SubmissionReceived) and rebuilding:
        await _replay_submission(session, event)
    elif isinstance(event, SubmissionWithdrawn) and rebuilding:
        row = await session.get(SubmissionRow, event.payload.submission_id)
        if row is not None:
            row.status = "withdrawn"
            session.add(row)


async def _replay_submission(session: AsyncSession, event: SubmissionReceived) -> None:
    p = event.payload
    row = await session.get(SubmissionRow, p.submission_id)
    if row is not None and row.version >= p.version:
        return
    fields: dict[str, Any] = {
        "team_id": p.team_id,
        "hackathon_id": p.hackathon_id,
        "challenge_id": p.challenge_id,
        "version": p.version,
        "title": p.title,
        "summary": p.summary,
        "kind": p.kind,
        "repo_url": p.repo_url,
        "demo_url": p.demo_url,
        "submitted_by": p.submitted_by,
        "submitted_at": event.occurred_at,
        "first_submitted_at": p.first_submitted_at,
    }
    if row is None:
        session.add(SubmissionRow(submission_id=p.submission_id, status="active", **fields))
        return
    for name, value in fields.items():
        setattr(row, name, value)
    session.add(row)


async def rebuild(db: Database, events: Iterable[Envelope]) -> int:
    """Replay events (registration's, scoring's and this service's own, in log order per
    aggregate) into a database with fresh tables. Returns how many events were applied."""
    ordered = list(events)
    async with db.transaction() as session:
        for event in ordered:
            await apply_event(session, event, rebuilding=True)
            await session.flush()
    return len(ordered)
