"""The submissions service's view of other services' facts, kept from their events.

``apply_event`` is the one projection, used live by the subscriber and for a rebuild from
the log. Per-aggregate order is guaranteed by the log (one aggregate, one partition); across
aggregates the handlers do not depend on order (a team may be heard of before its hackathon).
Redeliveries are absorbed by the inbox and, besides, every change here is idempotent.

A projection decides nothing: live, the subscriber also calls the withdrawal use case after a
team's `TeamWithdrawn` (``submissions.service.submissions.withdraw_for_team``). On a rebuild
the service's own events (`SubmissionReceived`, `SubmissionWithdrawn`) are replayed into the
submissions table instead."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

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


async def _saw_team_event(session: AsyncSession, team_id: str, sequence: int) -> None:
    """Remember how far this copy of the team goes in the team's chain, under the team row's
    lock, which a submission holds while it decides (so the members it reads and the
    position it names go together)."""
    team = await session.get(KnownTeam, team_id, with_for_update=True)
    if team is not None and sequence > team.sequence:
        team.sequence = sequence
        session.add(team)


async def _add_member(session: AsyncSession, team_id: str, account_id: str) -> None:
    if await session.get(KnownMember, (team_id, account_id)) is None:
        session.add(KnownMember(team_id=team_id, account_id=account_id))


async def apply_event(session: AsyncSession, event: Envelope, *, rebuilding: bool = False) -> None:
    """Project one event. On a rebuild (``rebuilding``) the service's own events are replayed
    too."""
    if isinstance(event, HackathonCreated):
        created = event.payload
        if await session.get(KnownHackathon, created.hackathon_id) is None:
            session.add(
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
        hackathon = await session.get(KnownHackathon, event.payload.hackathon_id)
        to_phase = event.payload.to_phase
        if hackathon is not None and phase_index(to_phase) > phase_index(hackathon.phase):
            hackathon.phase = to_phase
            hackathon.sequence = max(hackathon.sequence, event.sequence)
            session.add(hackathon)
    elif isinstance(event, TeamRegistered):
        team = event.payload
        if await session.get(KnownTeam, team.team_id) is None:
            session.add(
                KnownTeam(
                    team_id=team.team_id,
                    hackathon_id=team.hackathon_id,
                    challenge_id=team.challenge_id,
                    status="active",
                    sequence=event.sequence,
                )
            )
            for account_id in team.members:
                await _add_member(session, team.team_id, account_id)
    elif isinstance(event, TeamMemberJoined):
        await _saw_team_event(session, event.payload.team_id, event.sequence)
        await _add_member(session, event.payload.team_id, event.payload.account_id)
    elif isinstance(event, TeamMemberLeft):
        await _saw_team_event(session, event.payload.team_id, event.sequence)
        await session.exec(
            delete(KnownMember).where(
                col(KnownMember.team_id) == event.payload.team_id,
                col(KnownMember.account_id) == event.payload.account_id,
            )
        )
    elif isinstance(event, TeamWithdrawn):
        await _saw_team_event(session, event.payload.team_id, event.sequence)
        withdrawn = await session.get(KnownTeam, event.payload.team_id)
        if withdrawn is not None:
            withdrawn.status = "withdrawn"
            session.add(withdrawn)
    elif isinstance(event, JudgeAssigned):
        assigned = event.payload
        key = (assigned.submission_id, assigned.judge_id)
        if await session.get(KnownAssignment, key) is None:
            session.add(
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
