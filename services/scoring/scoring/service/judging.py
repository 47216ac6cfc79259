"""Judging use cases: assign judges, score, compute the leaderboard, publish the results.
Each writes its state and its events in one transaction; appends to a submission's chain
(assignments, scores) lock that submission's row first, and the hackathon's (results) lock
the hackathon's row."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.api.judging import (
    AssignedSubmission,
    AssignmentAnswer,
    AssignmentShortfall,
    MyAssignment,
    ScoreAnswer,
)
from hackathon_shared.api.results import GrantedAward, Leaderboard, LeaderboardEntry, Results
from hackathon_shared.auth import Principal
from hackathon_shared.batch import dialect_insert
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AwardGranted,
    JudgeAssigned,
    JudgeAssignedPayload,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
    ScoreSubmitted,
    ScoreSubmittedPayload,
)
from hackathon_shared.keyset import keyset_page
from hackathon_shared.outbox import Outbox
from hackathon_shared.positions import seen_facts
from hackathon_shared.problems import ProblemError, invalid_fields
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
from scoring.domain.assignment import Judge, SubmissionToJudge, assign
from scoring.domain.conflicts import Conflicts
from scoring.domain.leaderboard import (
    Criterion,
    Entrant,
    Entry,
    Score,
    awards_granted,
    leaderboard,
    weighted_total,
)
from scoring.domain.placing import TIE_BREAK


def check_scores(criteria: list[dict[str, Any]], values: dict[str, float]) -> None:
    """Every criterion present, finite and within its scale; no unknown keys (422 naming
    each offending field)."""
    errors: list[dict[str, str]] = []
    known = {c["key"]: c for c in criteria}
    for key, criterion in known.items():
        if key not in values:
            errors.append({"field": f"scores.{key}", "message": "a value is required"})
            continue
        value = values[key]
        if not math.isfinite(value) or not criterion["min"] <= value <= criterion["max"]:
            errors.append(
                {
                    "field": f"scores.{key}",
                    "message": f"must be between {criterion['min']} and {criterion['max']}",
                }
            )
    for key in sorted(set(values) - set(known)):
        errors.append({"field": f"scores.{key}", "message": "not a criterion of this rubric"})
    if errors:
        raise invalid_fields(errors)


async def _hackathon(session: AsyncSession, hackathon_id: str, *, lock: bool) -> JudgedHackathon:
    row = await session.get(
        JudgedHackathon, hackathon_id, with_for_update=lock, populate_existing=lock
    )
    if row is None:
        raise ProblemError(404, "hackathon-not-found", f"no hackathon {hackathon_id} is known")
    return row


async def _withdrawn_teams(session: AsyncSession, team_ids: Iterable[str]) -> set[str]:
    """Which of these teams withdrew. A withdrawn team's submission no longer competes from
    the team's own `TeamWithdrawn` on (registration's topic, which the barrier covers), not
    only once the submissions service's `SubmissionWithdrawn` has followed."""
    wanted = list(set(team_ids))
    if not wanted:
        return set()
    found = await session.exec(
        select(KnownTeam.team_id).where(
            col(KnownTeam.team_id).in_(wanted), col(KnownTeam.withdrawn).is_(True)
        )
    )
    return set(found.all())


async def _hackathon_of_submission(
    session: AsyncSession, submission_id: str
) -> JudgedHackathon | None:
    """The hackathon a submission was received for, locked shared (one statement)."""
    of_submission = (
        select(KnownSubmission.hackathon_id)
        .where(col(KnownSubmission.submission_id) == submission_id)
        .scalar_subquery()
    )
    found = await session.exec(
        select(JudgedHackathon)
        .where(col(JudgedHackathon.hackathon_id) == of_submission)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    return found.first()


@dataclass(frozen=True)
class _ScoreFacts:
    assigned: bool
    results_published: bool
    team_withdrawn: bool
    revision: int  # of the judge's score so far, 0 if none
    conflicts: Conflicts  # of the judge, as far as the submission's team is concerned


async def _score_facts(
    session: AsyncSession, submission: KnownSubmission, judge_id: str
) -> _ScoreFacts:
    """What a judge's score depends on besides the hackathon and the submission, in one
    statement (a score is the busiest write: each statement is one more trip to the
    database, and on SQLite one more turn of the event loop, while writers wait)."""
    sid = submission.submission_id
    assigned = sa.exists().where(
        col(AssignmentRow.submission_id) == sid, col(AssignmentRow.judge_id) == judge_id
    )
    published = sa.exists().where(col(ResultsRow.hackathon_id) == submission.hackathon_id)
    withdrawn = sa.exists().where(
        col(KnownTeam.team_id) == submission.team_id, col(KnownTeam.withdrawn).is_(True)
    )
    revision = (
        select(ScoreRow.revision)
        .where(col(ScoreRow.submission_id) == sid, col(ScoreRow.judge_id) == judge_id)
        .scalar_subquery()
    )
    member = sa.exists().where(
        col(KnownMembership.team_id) == submission.team_id,
        col(KnownMembership.account_id) == judge_id,
    )
    declared = (
        select(KnownJudge.conflicts)
        .where(
            col(KnownJudge.hackathon_id) == submission.hackathon_id,
            col(KnownJudge.judge_id) == judge_id,
        )
        .scalar_subquery()
    )
    row = (
        await session.execute(
            sa.select(
                assigned, published, withdrawn, sa.func.coalesce(revision, 0), member, declared
            )
        )
    ).one()
    conflicts = Conflicts.of(row[5] or (), [submission.team_id] if row[4] else ())
    return _ScoreFacts(bool(row[0]), bool(row[1]), bool(row[2]), int(row[3]), conflicts)


async def _judges_conflicts(
    session: AsyncSession, hackathon_id: str, judges: Iterable[KnownJudge]
) -> dict[str, Conflicts]:
    """Each enrolled judge's conflicts: declared, and the teams they are or were in."""
    panel = list(judges)
    member_of: dict[str, set[str]] = {}
    if panel:
        found = await session.exec(
            select(KnownMembership.account_id, KnownMembership.team_id).where(
                col(KnownMembership.hackathon_id) == hackathon_id,
                col(KnownMembership.account_id).in_([j.judge_id for j in panel]),
            )
        )
        for account_id, team_id in found.all():
            member_of.setdefault(account_id, set()).add(team_id)
    return {j.judge_id: Conflicts.of(j.conflicts, member_of.get(j.judge_id, ())) for j in panel}


def _require_judging(hackathon: JudgedHackathon, what: str) -> None:
    if hackathon.phase != "judging":
        raise ProblemError(
            409, "wrong-phase", f"{what} is possible in judging, not {hackathon.phase}"
        )


class Judging:
    def __init__(self, db: Database, outbox: Outbox) -> None:
        self.db = db
        self.outbox = outbox

    async def assign(self, hackathon_id: str, correlation_id: str | None) -> AssignmentAnswer:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            hackathon = await _hackathon(session, hackathon_id, lock=True)
            _require_judging(hackathon, "assigning judges")
            if await session.get(ResultsRow, hackathon_id) is not None:
                raise ProblemError(409, "results-published", "the results are published")
            submissions = list(
                (
                    await session.exec(
                        select(KnownSubmission)
                        .where(
                            KnownSubmission.hackathon_id == hackathon_id,
                            col(KnownSubmission.withdrawn).is_(False),
                        )
                        .with_for_update()
                    )
                ).all()
            )
            gone = await _withdrawn_teams(session, (s.team_id for s in submissions))
            submissions = [s for s in submissions if s.team_id not in gone]
            judges = (
                await session.exec(
                    select(KnownJudge).where(KnownJudge.hackathon_id == hackathon_id)
                )
            ).all()
            existing: dict[str, list[str]] = {}
            for row in (
                await session.exec(
                    select(AssignmentRow).where(AssignmentRow.hackathon_id == hackathon_id)
                )
            ).all():
                existing.setdefault(row.submission_id, []).append(row.judge_id)
            teams = {s.submission_id: s.team_id for s in submissions}
            conflicts = await _judges_conflicts(session, hackathon_id, judges)
            result = assign(
                [SubmissionToJudge(s.submission_id, s.team_id) for s in submissions],
                [Judge(judge_id, c.teams) for judge_id, c in conflicts.items()],
                hackathon.judges_per_submission,
                existing,
            )
            for submission_id, judge_id in result.added:
                seen = await seen_facts(
                    session,
                    self.outbox.topics,
                    [("registration", hackathon_id), ("submissions", submission_id)],
                )
                session.add(
                    AssignmentRow(
                        submission_id=submission_id,
                        judge_id=judge_id,
                        hackathon_id=hackathon_id,
                        assigned_at=now,
                    )
                )
                await self.outbox.append(
                    session,
                    JudgeAssigned,
                    JudgeAssignedPayload(
                        hackathon_id=hackathon_id,
                        submission_id=submission_id,
                        team_id=teams[submission_id],
                        judge_id=judge_id,
                        seen=seen,
                    ),
                    aggregate_id=submission_id,
                    correlation_id=correlation_id,
                    occurred_at=now,  # the row's assigned_at, so a rebuild gives the same row
                )
        return AssignmentAnswer(
            assignments=[
                AssignedSubmission(submission_id=s, judge_ids=j)
                for s, j in sorted(result.judges_of.items())
            ],
            shortfalls=[
                AssignmentShortfall(
                    submission_id=s.submission_id,
                    assigned=s.assigned,
                    needed=s.needed,
                    reason=s.reason,
                )
                for s in result.shortfalls
            ],
        )

    async def my_assignments(
        self, judge_id: str, limit: int, cursor: str | None
    ) -> tuple[list[MyAssignment], str | None]:
        async with self.db.sessions() as session:
            rows, next_cursor = await keyset_page(
                session,
                select(AssignmentRow).where(AssignmentRow.judge_id == judge_id),
                col(AssignmentRow.assigned_at),
                col(AssignmentRow.submission_id),
                limit,
                cursor,
            )
            ids = [row.submission_id for row in rows]
            submissions = {
                s.submission_id: s
                for s in (
                    await session.exec(
                        select(KnownSubmission).where(col(KnownSubmission.submission_id).in_(ids))
                    )
                ).all()
            }
            scored = set(
                (
                    await session.exec(
                        select(ScoreRow.submission_id).where(
                            ScoreRow.judge_id == judge_id, col(ScoreRow.submission_id).in_(ids)
                        )
                    )
                ).all()
            )
            items = [
                MyAssignment(
                    submission_id=row.submission_id,
                    team_id=submissions[row.submission_id].team_id,
                    title=submissions[row.submission_id].title,
                    hackathon_id=row.hackathon_id,
                    scored=row.submission_id in scored,
                )
                for row in rows
            ]
        return items, next_cursor

    async def score(
        self,
        submission_id: str,
        judge: Principal,
        values: dict[str, float],
        comment: str | None,
        correlation_id: str | None,
    ) -> ScoreAnswer:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            # Lock order as in assign() and publish_results(): the hackathon (shared here, so
            # results cannot be published meanwhile), then the submission (its event chain).
            hackathon = await _hackathon_of_submission(session, submission_id)
            submission = None
            if hackathon is not None:
                submission = await session.get(KnownSubmission, submission_id, with_for_update=True)
            if hackathon is None or submission is None:
                if await session.get(KnownSubmission, submission_id) is None:
                    raise ProblemError(
                        404, "submission-not-found", f"no submission {submission_id}"
                    )
                # a submission names the hackathon it was received for
                raise ProblemError(404, "hackathon-not-found", "no hackathon for this submission")
            facts = await _score_facts(session, submission, judge.account_id)
            if not facts.assigned:
                raise ProblemError(
                    403, "not-assigned", "only a judge assigned to this submission scores it"
                )
            conflict = facts.conflicts.reason(submission.team_id)
            if conflict is not None:
                # An assignment from before this rule, or a conflict declared since.
                raise ProblemError(
                    403, "conflict-of-interest", f"you may not judge this team: {conflict}"
                )
            # Published results say more than the phase (which follows as registration's
            # event), so they are checked first.
            if facts.results_published:
                raise ProblemError(409, "results-published", "the results are published")
            _require_judging(hackathon, "scoring")
            if submission.withdrawn or facts.team_withdrawn:
                raise ProblemError(409, "submission-withdrawn", "this submission was withdrawn")
            check_scores(hackathon.criteria, values)
            criteria = [Criterion(c["key"], c["weight"]) for c in hackathon.criteria]
            total = weighted_total(criteria, values)
            revision = facts.revision + 1
            score = {
                "submission_id": submission_id,
                "judge_id": judge.account_id,
                "hackathon_id": hackathon.hackathon_id,
                "values": dict(values),
                "total": total,
                "revision": revision,
                "comment": comment,
                "scored_at": now,
            }
            upsert = dialect_insert(session, ScoreRow).values(score)
            await session.exec(
                upsert.on_conflict_do_update(
                    index_elements=["submission_id", "judge_id"],
                    set_={
                        k: upsert.excluded[k]
                        for k in ("values", "total", "revision", "comment", "scored_at")
                    },
                )
            )
            seen = await seen_facts(
                session,
                self.outbox.topics,
                [("registration", hackathon.hackathon_id), ("submissions", submission_id)],
            )
            await self.outbox.append(
                session,
                ScoreSubmitted,
                ScoreSubmittedPayload(
                    hackathon_id=hackathon.hackathon_id,
                    submission_id=submission_id,
                    judge_id=judge.account_id,
                    scores=dict(values),
                    total=total,
                    revision=revision,
                    comment=comment,
                    seen=seen,
                ),
                aggregate_id=submission_id,
                correlation_id=correlation_id,
                occurred_at=now,
            )
        return ScoreAnswer(
            submission_id=submission_id,
            judge_id=judge.account_id,
            scores=dict(values),
            total=total,
            revision=revision,
        )

    async def _compute(
        self, session: AsyncSession, hackathon: JudgedHackathon
    ) -> tuple[list[Entry], list[LeaderboardEntry]]:
        """The live ranking: the domain's entries (awards go by them) and their answer."""
        hid = hackathon.hackathon_id
        submissions = {
            s.submission_id: s
            for s in (
                await session.exec(
                    select(KnownSubmission).where(KnownSubmission.hackathon_id == hid)
                )
            ).all()
        }
        scores = (await session.exec(select(ScoreRow).where(ScoreRow.hackathon_id == hid))).all()
        gone = await _withdrawn_teams(session, (s.team_id for s in submissions.values()))
        board = leaderboard(
            [Criterion(c["key"], c["weight"]) for c in hackathon.criteria],
            hackathon.normalization,
            [
                Entrant(
                    s.submission_id,
                    s.team_id,
                    s.first_submitted_at,
                    s.withdrawn or s.team_id in gone,
                )
                for s in submissions.values()
            ],
            [Score(s.judge_id, s.submission_id, s.values) for s in scores],
        )
        teams = {
            t.team_id: t.name
            for t in (
                await session.exec(
                    select(KnownTeam).where(col(KnownTeam.team_id).in_([e.team_id for e in board]))
                )
            ).all()
        }
        return board, [
            LeaderboardEntry(
                rank=e.rank,
                submission_id=e.submission_id,
                team_id=e.team_id,
                team_name=teams.get(e.team_id, ""),
                title=submissions[e.submission_id].title,
                score=e.score,
                judges=e.judges,
                raw_mean=e.raw_mean,
                score_rank=e.score_rank,
                tied_with=e.tied_with,
                placed_by=e.placed_by,
            )
            for e in board
        ]

    async def leaderboard(self, hackathon_id: str, viewer: Principal | None) -> Leaderboard:
        async with self.db.sessions() as session:
            hackathon = await _hackathon(session, hackathon_id, lock=False)
            results = await session.get(ResultsRow, hackathon_id)
            if results is not None:
                return Leaderboard(
                    hackathon_id=hackathon_id,
                    published=True,
                    normalization=hackathon.normalization,
                    tie_break=TIE_BREAK,
                    entries=[LeaderboardEntry.model_validate(e) for e in results.entries],
                )
            if viewer is None or not viewer.has_role("organizer"):
                raise ProblemError(
                    403, "not-published", "the leaderboard is public once results are published"
                )
            _, entries = await self._compute(session, hackathon)
        return Leaderboard(
            hackathon_id=hackathon_id,
            published=False,
            normalization=hackathon.normalization,
            tie_break=TIE_BREAK,
            entries=entries,
        )

    async def publish_results(
        self, hackathon_id: str, organizer_id: str, correlation_id: str | None
    ) -> Results:
        now = datetime.now(UTC)
        async with self.db.transaction() as session:
            hackathon = await _hackathon(session, hackathon_id, lock=True)
            if await session.get(ResultsRow, hackathon_id) is not None:
                raise ProblemError(409, "results-published", "the results are published already")
            _require_judging(hackathon, "publishing results")
            board, entries = await self._compute(session, hackathon)
            kinds = {a["rank"]: a for a in hackathon.awards}
            granted = awards_granted(board, [(a["name"], a["rank"]) for a in hackathon.awards])
            awards = [
                GrantedAward(
                    name=name,
                    kind=kinds[rank]["kind"],
                    amount=kinds[rank].get("amount"),
                    rank=rank,
                    team_id=team_id,
                )
                for name, rank, team_id in granted
            ]
            session.add(
                ResultsRow(
                    hackathon_id=hackathon_id,
                    entries=[e.model_dump(mode="json", exclude_none=True) for e in entries],
                    awards=[a.model_dump(mode="json") for a in awards],
                    published_by=organizer_id,
                    published_at=now,
                )
            )
            await session.flush()
            seen = await seen_facts(
                session,
                self.outbox.topics,
                [
                    ("registration", hackathon_id),
                    *(("registration", e.team_id) for e in entries),
                    *(("submissions", e.submission_id) for e in entries),
                ],
            )
            await self.outbox.append(
                session,
                ResultsPublished,
                ResultsPublishedPayload(
                    hackathon_id=hackathon_id,
                    entries=[
                        RankingEntry(
                            rank=e.rank,
                            submission_id=e.submission_id,
                            team_id=e.team_id,
                            score=e.score,
                            judges=e.judges,
                            raw_mean=e.raw_mean,
                            score_rank=e.score_rank,
                            tied_with=e.tied_with,
                            placed_by=e.placed_by,
                        )
                        for e in board
                    ],
                    awards=[AwardGranted(**a.model_dump()) for a in awards],
                    published_by=organizer_id,
                    seen=seen,
                    normalization=hackathon.normalization,
                    tie_break=TIE_BREAK,
                ),
                aggregate_id=hackathon_id,
                correlation_id=correlation_id,
                occurred_at=now,
            )
        return Results(
            hackathon_id=hackathon_id,
            normalization=hackathon.normalization,
            tie_break=TIE_BREAK,
            entries=entries,
            awards=awards,
        )

    async def results(self, hackathon_id: str) -> Results:
        async with self.db.sessions() as session:
            row = await session.get(ResultsRow, hackathon_id)
            hackathon = await session.get(JudgedHackathon, hackathon_id)
        if row is None or hackathon is None:
            raise ProblemError(404, "results-not-published", "the results are not published yet")
        return Results(
            hackathon_id=hackathon_id,
            normalization=hackathon.normalization,
            tie_break=TIE_BREAK,
            entries=[LeaderboardEntry.model_validate(e) for e in row.entries],
            awards=[GrantedAward.model_validate(a) for a in row.awards],
        )
