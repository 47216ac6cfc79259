"""The scoring service's view of other services' facts, kept from their events (live and
for a rebuild; idempotent, and independent of the order across aggregates).

For a rebuild from the log (``rebuild``), the service's own events (`JudgeAssigned`,
`ScoreSubmitted`, `ResultsPublished`) are replayed into the tables they were decided from;
nothing is decided again.

A consumer's batch reads the rows its events touch with one query per table, at its first
event (``hackathon_shared.batch``); each event is then applied against those rows."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.results import GrantedAward, LeaderboardEntry
from hackathon_shared.batch import Batch, Rows, batch_of
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    HackathonCreated,
    HackathonPhaseChanged,
    JudgeAssigned,
    JudgeConflictsChanged,
    JudgeEnrolled,
    ResultsPublished,
    ScoreSubmitted,
    SubmissionReceived,
    SubmissionWithdrawn,
    TeamMemberJoined,
    TeamRegistered,
    TeamWithdrawn,
    phase_index,
)
from hackathon_shared.events.envelope import Envelope
from scoring.adapters.tables import (
    AssignmentRow,
    JudgedHackathon,
    KnownJudge,
    KnownMembership,
    KnownSubmission,
    KnownTeam,
    ResultsRow,
    ScoreRow,
)

HackathonEvents = (HackathonCreated, HackathonPhaseChanged)
TeamEvents = (TeamRegistered, TeamWithdrawn)
JudgeEvents = (JudgeEnrolled, JudgeConflictsChanged)


def _memberships(event: Envelope) -> list[tuple[str, str]]:
    """The (team, account) memberships an event starts."""
    if isinstance(event, TeamRegistered):
        return [(event.payload.team_id, member) for member in event.payload.members]
    if isinstance(event, TeamMemberJoined):
        return [(event.payload.team_id, event.payload.account_id)]
    return []


SubmissionEvents = (SubmissionReceived, SubmissionWithdrawn)


async def _rows_for(session: AsyncSession, batch: Batch) -> Rows:
    """The view's rows that the batch's events touch, a table at a time."""
    events = batch.items
    rows = Rows(session)
    await rows.load(
        JudgedHackathon,
        [e.payload.hackathon_id for e in events if isinstance(e, HackathonEvents)],
    )
    await rows.load(
        KnownJudge,
        [
            (e.payload.hackathon_id, e.payload.judge_id)
            for e in events
            if isinstance(e, JudgeEvents)
        ],
    )
    await rows.load(KnownMembership, [key for e in events for key in _memberships(e)])
    await rows.load(KnownTeam, [e.payload.team_id for e in events if isinstance(e, TeamEvents)])
    await rows.load(
        KnownSubmission,
        [e.payload.submission_id for e in events if isinstance(e, SubmissionEvents)],
    )
    return rows


async def apply_event(session: AsyncSession, event: Envelope) -> None:
    async with batch_of(session, event) as batch:
        rows = await batch.prepared(_rows_for, lambda: _rows_for(session, batch))
        await _apply(rows, event)


async def _apply(rows: Rows, event: Envelope) -> None:
    if isinstance(event, HackathonCreated):
        created = event.payload
        if await rows.get(JudgedHackathon, created.hackathon_id) is None:
            rows.add(
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
        hackathon = await rows.get(JudgedHackathon, event.payload.hackathon_id)
        to_phase = event.payload.to_phase
        if hackathon is not None and phase_index(to_phase) > phase_index(hackathon.phase):
            hackathon.phase = to_phase
            rows.add(hackathon)
    elif isinstance(event, JudgeEnrolled):
        enrolled = event.payload
        key = (enrolled.hackathon_id, enrolled.judge_id)
        if await rows.get(KnownJudge, key) is None:
            rows.add(
                KnownJudge(
                    hackathon_id=enrolled.hackathon_id,
                    judge_id=enrolled.judge_id,
                    conflicts=list(enrolled.conflicts),
                )
            )
    elif isinstance(event, JudgeConflictsChanged):
        changed = event.payload
        judge = await rows.get(KnownJudge, (changed.hackathon_id, changed.judge_id))
        if judge is not None:  # causal order: the enrolment is earlier in the same chain
            judge.conflicts = list(changed.conflicts)
            rows.add(judge)
    elif isinstance(event, TeamRegistered):
        if await rows.get(KnownTeam, event.payload.team_id) is None:
            rows.add(KnownTeam(team_id=event.payload.team_id, name=event.payload.name))
        await _add_memberships(rows, event.payload.hackathon_id, _memberships(event))
    elif isinstance(event, TeamMemberJoined):
        await _add_memberships(rows, event.payload.hackathon_id, _memberships(event))
    elif isinstance(event, TeamWithdrawn):
        team = await rows.get(KnownTeam, event.payload.team_id)
        if team is not None:
            team.withdrawn = True
            rows.add(team)
    elif isinstance(event, SubmissionReceived):
        received = event.payload
        row = await rows.get(KnownSubmission, received.submission_id)
        if row is None:
            rows.add(
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
            rows.add(row)
    elif isinstance(event, SubmissionWithdrawn):
        row = await rows.get(KnownSubmission, event.payload.submission_id)
        if row is not None:
            row.withdrawn = True
            rows.add(row)


async def _add_memberships(
    rows: Rows, hackathon_id: str, memberships: list[tuple[str, str]]
) -> None:
    for team_id, account_id in memberships:
        if await rows.get(KnownMembership, (team_id, account_id)) is None:
            rows.add(
                KnownMembership(team_id=team_id, account_id=account_id, hackathon_id=hackathon_id)
            )


async def replay_own_event(session: AsyncSession, event: Envelope) -> None:
    """Put one of scoring's own events back into the table it was decided in (rebuild only).
    `ResultsPublished` takes team names and titles from the view, so replay the other
    services' events first."""
    if isinstance(event, JudgeAssigned):
        p = event.payload
        if await session.get(AssignmentRow, (p.submission_id, p.judge_id)) is None:
            session.add(
                AssignmentRow(
                    submission_id=p.submission_id,
                    judge_id=p.judge_id,
                    hackathon_id=p.hackathon_id,
                    assigned_at=event.occurred_at,
                )
            )
    elif isinstance(event, ScoreSubmitted):
        s = event.payload
        row = await session.get(ScoreRow, (s.submission_id, s.judge_id))
        if row is not None and row.revision >= s.revision:
            return
        row = row or ScoreRow(
            submission_id=s.submission_id,
            judge_id=s.judge_id,
            hackathon_id=s.hackathon_id,
            values={},
            total=0,
            revision=0,
            scored_at=event.occurred_at,
        )
        row.values, row.total, row.revision = dict(s.scores), s.total, s.revision
        row.comment, row.scored_at = s.comment, event.occurred_at
        session.add(row)
    elif isinstance(event, ResultsPublished):
        r = event.payload
        if await session.get(ResultsRow, r.hackathon_id) is not None:
            return
        entries = []
        for e in r.entries:
            team = await session.get(KnownTeam, e.team_id)
            submission = await session.get(KnownSubmission, e.submission_id)
            entries.append(
                LeaderboardEntry(
                    rank=e.rank,
                    submission_id=e.submission_id,
                    team_id=e.team_id,
                    team_name=team.name if team is not None else "",
                    title=submission.title if submission is not None else "",
                    score=e.score,
                    judges=e.judges,
                    raw_mean=e.raw_mean,
                    score_rank=e.score_rank,
                    tied_with=e.tied_with,
                    placed_by=e.placed_by,
                    # as publish_results stores them: what an older event lacks stays absent
                ).model_dump(mode="json", exclude_none=True)
            )
        awards = [
            GrantedAward(
                name=a.name, kind=a.kind, amount=a.amount, rank=a.rank, team_id=a.team_id
            ).model_dump(mode="json")
            for a in r.awards
        ]
        session.add(
            ResultsRow(
                hackathon_id=r.hackathon_id,
                entries=entries,
                awards=awards,
                published_by=r.published_by,
                published_at=event.occurred_at,
            )
        )


OWN_EVENTS = (JudgeAssigned, ScoreSubmitted, ResultsPublished)


async def rebuild(db: Database, events: Iterable[Envelope]) -> int:
    """Replay events (registration's, submissions' and this service's own, each aggregate's
    in log order) into a database with fresh tables: the other services' events through
    ``apply_event``, then the service's own. Returns how many events were applied."""
    ordered = list(events)
    async with db.transaction() as session:
        for event in ordered:
            if not isinstance(event, OWN_EVENTS):
                await apply_event(session, event)
                await session.flush()
        for event in ordered:
            if isinstance(event, OWN_EVENTS):
                await replay_own_event(session, event)
                await session.flush()
    return len(ordered)
