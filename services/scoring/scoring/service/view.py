"""The scoring service's view of other services' facts, kept from their events (live and
for a rebuild; idempotent, and independent of the order across aggregates)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.events.catalogue import (
    HackathonCreated,
    HackathonPhaseChanged,
    JudgeEnrolled,
    SubmissionReceived,
    SubmissionWithdrawn,
    TeamRegistered,
)
from hackathon_shared.events.envelope import Envelope
from scoring.adapters.tables import JudgedHackathon, KnownJudge, KnownSubmission, KnownTeam

PHASE_ORDER = ("draft", "registration", "hacking", "judging", "finished")


async def apply_event(session: AsyncSession, event: Envelope) -> None:
    if isinstance(event, HackathonCreated):
        created = event.payload
        if await session.get(JudgedHackathon, created.hackathon_id) is None:
            session.add(
                JudgedHackathon(
                    hackathon_id=created.hackathon_id,
                    phase="draft",
                    judges_per_submission=created.judges_per_submission,
                    normalization=created.rubric.normalization,
                    criteria=[c.model_dump(mode="json") for c in created.rubric.criteria],
                    awards=[a.model_dump(mode="json") for a in created.awards],
                )
            )
    elif isinstance(event, HackathonPhaseChanged):
        hackathon = await session.get(JudgedHackathon, event.payload.hackathon_id)
        to_phase = event.payload.to_phase
        if hackathon is not None and PHASE_ORDER.index(to_phase) > PHASE_ORDER.index(
            hackathon.phase
        ):
            hackathon.phase = to_phase
            session.add(hackathon)
    elif isinstance(event, JudgeEnrolled):
        enrolled = event.payload
        key = (enrolled.hackathon_id, enrolled.judge_id)
        if await session.get(KnownJudge, key) is None:
            session.add(
                KnownJudge(
                    hackathon_id=enrolled.hackathon_id,
                    judge_id=enrolled.judge_id,
                    conflicts=list(enrolled.conflicts),
                )
            )
    elif isinstance(event, TeamRegistered):
        if await session.get(KnownTeam, event.payload.team_id) is None:
            session.add(KnownTeam(team_id=event.payload.team_id, name=event.payload.name))
    elif isinstance(event, SubmissionReceived):
        received = event.payload
        row = await session.get(KnownSubmission, received.submission_id)
        if row is None:
            session.add(
                KnownSubmission(
                    submission_id=received.submission_id,
                    hackathon_id=received.hackathon_id,
                    team_id=received.team_id,
                    title=received.title,
                    first_submitted_at=received.first_submitted_at,
                )
            )
        else:
            row.title = received.title
            session.add(row)
    elif isinstance(event, SubmissionWithdrawn):
        row = await session.get(KnownSubmission, event.payload.submission_id)
        if row is not None:
            row.withdrawn = True
            session.add(row)
