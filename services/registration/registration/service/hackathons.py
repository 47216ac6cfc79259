"""Hackathon use cases: create, read, move phases, register participants, enrol judges, and
finish a hackathon when scoring publishes its results. Each runs in one unit of work that
saves state and outbox rows together."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.hackathons import HackathonView, NewHackathon
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    HackathonCreated,
    HackathonCreatedPayload,
    HackathonPhaseChanged,
    HackathonPhaseChangedPayload,
    JudgeConflictsChanged,
    JudgeConflictsChangedPayload,
    JudgeEnrolled,
    JudgeEnrolledPayload,
    ParticipantRegistered,
    ParticipantRegisteredPayload,
    ResultsPublished,
)
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.keyset import keyset_page
from hackathon_shared.outbox import Outbox
from hackathon_shared.problems import ProblemError, invalid_field
from registration.adapters.tables import (
    AccountRow,
    HackathonRow,
    JudgeRow,
    ParticipantRow,
    TeamRow,
)
from registration.domain.accounts import normalise_email
from registration.domain.hackathons import (
    CONFLICT_CHANGE_PHASES,
    JUDGE_ENROLMENT_PHASES,
    REGISTRATION_PHASES,
    check_organizer_move,
    new_challenge_id,
    new_hackathon_id,
    require_phase,
)

SYSTEM_ACTOR = "system"
log = logging.getLogger(__name__)


class _HackathonFacts(Protocol):
    hackathon_id: str
    name: str
    phase: str
    definition: dict[str, Any]


def view_of(row: _HackathonFacts) -> HackathonView:
    return HackathonView.model_validate(
        {**row.definition, "hackathon_id": row.hackathon_id, "name": row.name, "phase": row.phase}
    )


_VIEW_COLUMNS = select(
    col(HackathonRow.hackathon_id),
    col(HackathonRow.name),
    col(HackathonRow.phase),
    col(HackathonRow.definition),
)


async def load_hackathon(session: AsyncSession, hackathon_id: str, *, lock: bool) -> HackathonRow:
    """The hackathon, locked for the rest of the transaction when ``lock`` (capacity checks and
    the hackathon's event sequence are then decided one transaction at a time)."""
    row = await session.get(HackathonRow, hackathon_id, with_for_update=lock)
    if row is None:
        raise hackathon_not_found(hackathon_id)
    return row


def hackathon_not_found(hackathon_id: str) -> ProblemError:
    return ProblemError(404, "hackathon-not-found", f"no hackathon {hackathon_id}")


class Hackathons:
    def __init__(self, db: Database, outbox: Outbox, consent_version: str) -> None:
        self.db = db
        self.outbox = outbox
        self.consent_version = consent_version

    async def create(
        self, spec: NewHackathon, organizer_id: str, correlation_id: str | None
    ) -> HackathonView:
        now = datetime.now(UTC)
        definition: dict[str, Any] = spec.model_dump(mode="json", exclude={"name"})
        definition["challenges"] = [
            {"challenge_id": new_challenge_id(), **challenge}
            for challenge in definition["challenges"]
        ]
        row = HackathonRow(
            hackathon_id=new_hackathon_id(),
            name=spec.name,
            phase="draft",
            max_teams=spec.max_teams,
            min_team_size=spec.min_team_size,
            max_team_size=spec.max_team_size,
            definition=definition,
            created_by=organizer_id,
            created_at=now,
        )
        async with self.db.transaction() as session:
            session.add(row)
            await session.flush()
            payload = HackathonCreatedPayload.model_validate(
                {
                    **definition,
                    "hackathon_id": row.hackathon_id,
                    "name": row.name,
                    "created_by": organizer_id,
                }
            )
            await self.outbox.append(
                session,
                HackathonCreated,
                payload,
                aggregate_id=row.hackathon_id,
                correlation_id=correlation_id,
            )
        return view_of(row)

    async def get(self, hackathon_id: str) -> HackathonView:
        # The public page, the busiest read: one statement, no session (Database.reads).
        statement = _VIEW_COLUMNS.where(col(HackathonRow.hackathon_id) == hackathon_id)
        async with self.db.reads() as connection:
            row = (await connection.execute(statement)).first()
        if row is None:
            raise hackathon_not_found(hackathon_id)
        return view_of(row)

    async def page(self, limit: int, cursor: str | None) -> tuple[list[HackathonView], str | None]:
        async with self.db.sessions() as session:
            rows, next_cursor = await keyset_page(
                session,
                select(HackathonRow),
                col(HackathonRow.created_at),
                col(HackathonRow.hackathon_id),
                limit,
                cursor,
            )
        return [view_of(row) for row in rows], next_cursor

    async def registrations_of(self, account_id: str) -> list[ParticipantRow]:
        """The account's own registrations, the earliest first."""
        async with self.db.sessions() as session:
            found = await session.exec(
                select(ParticipantRow)
                .where(col(ParticipantRow.account_id) == account_id)
                .order_by(col(ParticipantRow.consented_at), col(ParticipantRow.participant_id))
            )
            return list(found.all())

    async def judges_of(self, hackathon_id: str) -> list[tuple[JudgeRow, AccountRow | None]]:
        """The hackathon's judges, in the order they were enrolled, each with their account
        (None for an account that is gone); 404 for a hackathon that is not there."""
        async with self.db.sessions() as session:
            await load_hackathon(session, hackathon_id, lock=False)
            found = await session.exec(
                select(JudgeRow, AccountRow)
                .join(
                    AccountRow, col(AccountRow.account_id) == col(JudgeRow.account_id), isouter=True
                )
                .where(col(JudgeRow.hackathon_id) == hackathon_id)
                .order_by(col(JudgeRow.enrolled_at), col(JudgeRow.account_id))
            )
            return [(judge, account) for judge, account in found.all()]

    async def judge_enrolments_of(self, account_id: str) -> list[JudgeRow]:
        """The hackathons the account judges, each with the conflicts declared for it."""
        async with self.db.sessions() as session:
            found = await session.exec(
                select(JudgeRow)
                .where(col(JudgeRow.account_id) == account_id)
                .order_by(col(JudgeRow.enrolled_at), col(JudgeRow.hackathon_id))
            )
            return list(found.all())

    async def change_phase(
        self, hackathon_id: str, requested: str, organizer_id: str, correlation_id: str | None
    ) -> HackathonView:
        async with self.db.transaction() as session:
            row = await load_hackathon(session, hackathon_id, lock=True)
            check_organizer_move(row.phase, requested)
            await self._move(session, row, requested, organizer_id, correlation_id, None)
        return view_of(row)

    async def _move(
        self,
        session: AsyncSession,
        row: HackathonRow,
        to_phase: str,
        actor: str,
        correlation_id: str | None,
        causation_id: str | None,
    ) -> None:
        from_phase, row.phase = row.phase, to_phase
        session.add(row)
        await self.outbox.append(
            session,
            HackathonPhaseChanged,
            HackathonPhaseChangedPayload(
                hackathon_id=row.hackathon_id,
                from_phase=from_phase,
                to_phase=to_phase,
                changed_by=actor,
            ),
            aggregate_id=row.hackathon_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )

    async def register_participant(
        self, hackathon_id: str, account_id: str, sector: str, correlation_id: str | None
    ) -> ParticipantRow:
        async with self.db.transaction() as session:
            hackathon = await load_hackathon(session, hackathon_id, lock=True)
            require_phase(hackathon.phase, REGISTRATION_PHASES, "registering")
            existing = await session.exec(
                select(ParticipantRow).where(
                    ParticipantRow.hackathon_id == hackathon_id,
                    ParticipantRow.account_id == account_id,
                )
            )
            if existing.first() is not None:
                raise ProblemError(
                    409, "already-registered", "you are registered for this hackathon already"
                )
            participant = ParticipantRow(
                participant_id=f"prt_{uuid.uuid4().hex}",
                hackathon_id=hackathon_id,
                account_id=account_id,
                sector=sector,
                consent_version=self.consent_version,
                consented_at=datetime.now(UTC),
            )
            session.add(participant)
            await session.flush()
            await self.outbox.append(
                session,
                ParticipantRegistered,
                ParticipantRegisteredPayload(
                    participant_id=participant.participant_id,
                    account_id=account_id,
                    hackathon_id=hackathon_id,
                    sector=sector,
                    consent_version=participant.consent_version,
                    consented_at=participant.consented_at,
                ),
                aggregate_id=hackathon_id,
                correlation_id=correlation_id,
            )
        return participant

    async def enrol_judge(
        self, hackathon_id: str, email: str, conflicts: list[str], correlation_id: str | None
    ) -> str:
        async with self.db.transaction() as session:
            hackathon = await load_hackathon(session, hackathon_id, lock=True)
            require_phase(hackathon.phase, JUDGE_ENROLMENT_PHASES, "enrolling judges")
            found = await session.exec(
                select(AccountRow).where(AccountRow.email == normalise_email(email))
            )
            account = found.first()
            if account is None:
                raise ProblemError(404, "account-not-found", "no account has this e-mail address")
            conflicts = await _teams_of_hackathon(session, hackathon_id, conflicts)
            if await session.get(JudgeRow, (hackathon_id, account.account_id)) is not None:
                raise ProblemError(409, "already-enrolled", "this judge is enrolled already")
            session.add(
                JudgeRow(
                    hackathon_id=hackathon_id,
                    account_id=account.account_id,
                    conflicts=conflicts,
                    enrolled_at=datetime.now(UTC),
                )
            )
            await session.flush()
            await self.outbox.append(
                session,
                JudgeEnrolled,
                JudgeEnrolledPayload(
                    hackathon_id=hackathon_id, judge_id=account.account_id, conflicts=conflicts
                ),
                aggregate_id=hackathon_id,
                correlation_id=correlation_id,
            )
        return account.account_id

    async def change_conflicts(
        self,
        hackathon_id: str,
        judge_id: str,
        conflicts: list[str],
        organizer_id: str,
        correlation_id: str | None,
    ) -> JudgeRow:
        """Replace a judge's declared conflicts (before judging: ``CONFLICT_CHANGE_PHASES``).
        An unchanged list changes nothing and publishes nothing."""
        async with self.db.transaction() as session:
            hackathon = await load_hackathon(session, hackathon_id, lock=True)
            judge = await session.get(JudgeRow, (hackathon_id, judge_id), with_for_update=True)
            if judge is None:
                raise ProblemError(
                    404, "judge-not-found", f"{judge_id} is not a judge of this hackathon"
                )
            require_phase(hackathon.phase, CONFLICT_CHANGE_PHASES, "changing a judge's conflicts")
            conflicts = await _teams_of_hackathon(session, hackathon_id, conflicts)
            if conflicts == sorted(judge.conflicts):
                return judge
            judge.conflicts = conflicts
            session.add(judge)
            await session.flush()
            await self.outbox.append(
                session,
                JudgeConflictsChanged,
                JudgeConflictsChangedPayload(
                    hackathon_id=hackathon_id,
                    judge_id=judge_id,
                    conflicts=conflicts,
                    changed_by=organizer_id,
                ),
                aggregate_id=hackathon_id,
                correlation_id=correlation_id,
            )
        return judge

    async def on_scoring_event(self, session: AsyncSession, event: Envelope) -> None:
        """Event handler: published results finish the hackathon."""
        if not isinstance(event, ResultsPublished):
            return
        row = await session.get(HackathonRow, event.payload.hackathon_id, with_for_update=True)
        if row is None or row.phase != "judging":
            # Results are published in judging only; anything else is not ours to act on
            # (a duplicate after finishing, or a producer's mistake the audit reports).
            log.warning("ResultsPublished %s ignored: hackathon not in judging", event.event_id)
            return
        await self._move(
            session, row, "finished", SYSTEM_ACTOR, event.correlation_id, str(event.event_id)
        )


async def _teams_of_hackathon(
    session: AsyncSession, hackathon_id: str, conflicts: list[str]
) -> list[str]:
    """The declared conflicts, sorted and without repeats; each must be a team of this
    hackathon (422 on ``conflicts`` naming the others)."""
    wanted = sorted(set(conflicts))
    if not wanted:
        return wanted
    known = await session.exec(
        select(TeamRow.team_id).where(
            TeamRow.hackathon_id == hackathon_id, col(TeamRow.team_id).in_(wanted)
        )
    )
    unknown: list[str] = sorted(set(wanted) - set(known.all()))
    if unknown:
        raise invalid_field("conflicts", f"not teams of this hackathon: {', '.join(unknown)}")
    return wanted
