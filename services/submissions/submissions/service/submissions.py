"""Submission use cases: submit (a new version), read one, list a hackathon's, and withdraw a
team's submission when the team withdrew.

Every HTTP request passes the barrier on registration's and scoring's topics first (the
service shell), so the copies of teams, members, phases and assignments read here include
every write acknowledged before the request: a team or hackathon not found here does not
exist (docs/consistency.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.submissions import SubmissionIn, SubmissionView
from hackathon_shared.auth import Principal
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    SeenFact,
    SubmissionReceived,
    SubmissionReceivedPayload,
    SubmissionWithdrawn,
    SubmissionWithdrawnPayload,
    TeamWithdrawn,
)
from hackathon_shared.keyset import keyset_page
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError
from submissions.adapters.tables import (
    KnownAssignment,
    KnownHackathon,
    KnownMember,
    KnownTeam,
    SubmissionRow,
)
from submissions.domain.rules import check_can_submit, may_read, new_submission_id


def _team_not_found(team_id: str) -> ProblemError:
    return ProblemError(404, "team-not-found", f"no team {team_id}")


def view_of(row: SubmissionRow) -> SubmissionView:
    return SubmissionView.model_validate(row, from_attributes=True)


async def _is_member(session: AsyncSession, team_id: str, account_id: str) -> bool:
    return await session.get(KnownMember, (team_id, account_id)) is not None


async def _submission_of(session: AsyncSession, team_id: str) -> SubmissionRow | None:
    found = await session.exec(select(SubmissionRow).where(SubmissionRow.team_id == team_id))
    return found.first()


class Submissions:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def submit(
        self,
        team_id: str,
        author: Principal,
        content: SubmissionIn,
        correlation_id: str | None,
    ) -> tuple[SubmissionView, bool]:
        """Store a new version; returns it and whether it is the first one."""
        async with self.db.transaction() as session:
            # The team row is the lock that orders one team's versions.
            team = await session.get(KnownTeam, team_id, with_for_update=True)
            if team is None:
                raise _team_not_found(team_id)
            # Read once the lock is held: versions are stamped in the order they are
            # numbered and committed, however long a request waited for its turn, and the
            # deadline is judged at the moment the version is decided.
            now = datetime.now(UTC)
            if not await _is_member(session, team_id, author.account_id):
                raise ProblemError(403, "not-a-member", "only the team's members submit for it")
            hackathon = await session.get(KnownHackathon, team.hackathon_id)
            if hackathon is None:
                raise _team_not_found(team_id)
            found_members = await session.exec(
                select(KnownMember.account_id)
                .where(KnownMember.team_id == team_id)
                .order_by(col(KnownMember.account_id))
            )
            members = list(found_members.all())
            deadline = hackathon.submission_deadline
            if deadline.tzinfo is None:
                deadline = deadline.replace(tzinfo=UTC)
            check_can_submit(
                phase=hackathon.phase,
                deadline=deadline,
                now=now,
                team_status=team.status,
                members=len(members),
                min_team_size=hackathon.min_team_size,
            )
            found = await session.exec(
                select(SubmissionRow).where(SubmissionRow.team_id == team_id)
            )
            row = found.first()
            first = row is None
            if row is None:
                row = SubmissionRow(
                    submission_id=new_submission_id(),
                    team_id=team_id,
                    hackathon_id=team.hackathon_id,
                    challenge_id=team.challenge_id,
                    version=0,
                    first_submitted_at=now,
                    submitted_at=now,
                    submitted_by=author.account_id,
                    title="",
                    summary="",
                    kind="",
                    status="active",
                )
            row.version += 1
            row.title = content.title
            row.summary = content.summary
            row.kind = content.kind
            row.repo_url = content.repo_url
            row.demo_url = content.demo_url
            row.submitted_by = author.account_id
            row.submitted_at = now
            session.add(row)
            await session.flush()
            # The positions the decision was taken at, from the rows it read: the hackathon's
            # in the same row as its phase, the team's under the team row's lock.
            seen = [
                SeenFact(producer="registration", aggregate_id=aggregate, sequence=sequence)
                for aggregate, sequence in (
                    (team.hackathon_id, hackathon.sequence),
                    (team_id, team.sequence),
                )
                if sequence > 0
            ]
            await self.outbox.append(
                session,
                SubmissionReceived,
                SubmissionReceivedPayload(
                    submission_id=row.submission_id,
                    hackathon_id=row.hackathon_id,
                    team_id=team_id,
                    challenge_id=row.challenge_id,
                    version=row.version,
                    title=row.title,
                    summary=row.summary,
                    kind=content.kind,
                    repo_url=row.repo_url,
                    demo_url=row.demo_url,
                    submitted_by=author.account_id,
                    first_submitted_at=row.first_submitted_at,
                    seen=seen,
                ),
                aggregate_id=row.submission_id,
                correlation_id=correlation_id,
                occurred_at=now,
            )
            return view_of(row), first

    async def read(self, team_id: str, reader: Principal) -> SubmissionView:
        async with self.db.sessions() as session:
            found = await session.exec(
                select(SubmissionRow).where(SubmissionRow.team_id == team_id)
            )
            row = found.first()
            is_member = await _is_member(session, team_id, reader.account_id)
            is_judge = row is not None and (
                await session.get(KnownAssignment, (row.submission_id, reader.account_id))
                is not None
            )
        if not may_read(
            is_member=is_member,
            is_organizer=reader.has_role("organizer"),
            is_assigned_judge=is_judge,
        ):
            raise ProblemError(
                403, "forbidden", "only the team, organizers and its assigned judges see this"
            )
        if row is None:
            raise ProblemError(404, "submission-not-found", "this team has not submitted yet")
        return view_of(row)

    async def page(
        self, hackathon_id: str, limit: int, cursor: str | None
    ) -> tuple[list[SubmissionView], str | None]:
        async with self.db.sessions() as session:
            rows, next_cursor = await keyset_page(
                session,
                select(SubmissionRow).where(SubmissionRow.hackathon_id == hackathon_id),
                col(SubmissionRow.first_submitted_at),
                col(SubmissionRow.submission_id),
                limit,
                cursor,
            )
        return [view_of(row) for row in rows], next_cursor


async def withdraw_for_team(session: AsyncSession, outbox: Outbox, event: TeamWithdrawn) -> None:
    """The team withdrew: its submission, if it has an active one, no longer competes. Called
    by the subscriber, in the transaction that applies ``TeamWithdrawn``."""
    submission = await _submission_of(session, event.payload.team_id)
    if submission is None or submission.status == "withdrawn":
        return
    submission.status = "withdrawn"
    session.add(submission)
    # The team as of its withdrawal, the event this decision follows from.
    seen = [
        SeenFact(producer="registration", aggregate_id=event.aggregate_id, sequence=event.sequence)
    ]
    await outbox.append(
        session,
        SubmissionWithdrawn,
        SubmissionWithdrawnPayload(
            submission_id=submission.submission_id,
            hackathon_id=submission.hackathon_id,
            team_id=submission.team_id,
            reason="the team withdrew",
            seen=seen,
        ),
        aggregate_id=submission.submission_id,
        correlation_id=event.correlation_id,
        causation_id=str(event.event_id),
    )
