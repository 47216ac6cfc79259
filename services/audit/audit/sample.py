"""A log built by hand: events sealed and chained the way the services' outboxes do it, placed
on partitions by key. It serves the tests (a clean, realistic log to tamper with) and anyone
who wants to try the audit without a running platform (``hackathon audit sample``).

:func:`judged_hackathon` writes one complete hackathon, from the organizer's account to the
published results and the finish, with the results computed by the scoring service's own
leaderboard function (so that the audit's independent recomputation is checked against it).
Its decisions name the positions they were taken on (``seen``) as the services now write
them; ``positions=False`` writes them as before that change (no ``seen``; submissions name
the team's members and ``team_sequence`` instead), the form older logs hold.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from audit.log import LogRecord
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    AwardGranted,
    AwardOffered,
    Challenge,
    HackathonCreated,
    HackathonCreatedPayload,
    HackathonPhaseChanged,
    HackathonPhaseChangedPayload,
    JudgeAssigned,
    JudgeAssignedPayload,
    JudgeConflictsChanged,
    JudgeConflictsChangedPayload,
    JudgeEnrolled,
    JudgeEnrolledPayload,
    ParticipantRegistered,
    ParticipantRegisteredPayload,
    Producer,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
    Rubric,
    RubricCriterion,
    ScoreSubmitted,
    ScoreSubmittedPayload,
    SeenFact,
    SubmissionReceived,
    SubmissionReceivedPayload,
    SubmissionWithdrawn,
    SubmissionWithdrawnPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamMemberLeft,
    TeamMemberLeftPayload,
    TeamRegistered,
    TeamRegisteredPayload,
    TeamWithdrawn,
    TeamWithdrawnPayload,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, canonical_json, compute_hash
from hackathon_shared.signing import EventSigner
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER
from scoring.domain.leaderboard import (
    Criterion,
    Entrant,
    Score,
    awards_granted,
    leaderboard,
    weighted_total,
)


def _id(kind: str) -> str:
    return f"{kind}_{uuid.uuid4().hex}"


@dataclass
class LogBuilder:
    """Appends sealed events to per-(topic, aggregate) chains and lays them out on
    partitions (a stable hash of the key, so one aggregate stays on one partition). With
    ``signers`` (producer -> its signing key), each producer's events carry its signature in
    their headers, as its outbox relay publishes them (docs/event-signing.md); without, the
    log is unsigned."""

    prefix: str = ""
    partitions: int = 3
    now: datetime = field(default_factory=lambda: datetime(2030, 5, 1, 9, 0, tzinfo=UTC))
    step: timedelta = timedelta(seconds=1)
    chains: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    logs: dict[tuple[str, int], list[LogRecord]] = field(default_factory=dict)
    signers: dict[str, EventSigner] = field(default_factory=dict)

    def tick(self) -> datetime:
        self.now += self.step
        return self.now

    def partition_of(self, key: str) -> int:
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % self.partitions

    def add(
        self,
        cls: type[Envelope],
        payload: BaseModel,
        *,
        aggregate_id: str,
        occurred_at: datetime | None = None,
        causation_id: str | None = None,
    ) -> Envelope:
        topic = self.prefix + EVENTS_TOPIC_OF_PRODUCER[cls.PRODUCER]
        sequence, prev_hash = self.chains.get((topic, aggregate_id), (0, GENESIS_HASH))
        # What ``seal`` and ``to_json`` give, without validating the envelope again: the
        # canonical JSON of the fields as ``Envelope.model_dump(mode="json")`` writes them.
        event_id = uuid.uuid4()
        when = occurred_at or self.tick()
        fields: dict[str, Any] = {
            "type": cls.TYPE,
            "version": cls.VERSION,
            "producer": cls.PRODUCER,
            "aggregate_id": aggregate_id,
            "sequence": sequence + 1,
            "prev_hash": prev_hash,
            "correlation_id": f"req-{uuid.uuid4().hex[:8]}",
            "causation_id": causation_id,
        }
        body = {
            **fields,
            "event_id": str(event_id),
            "occurred_at": when.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "payload": payload.model_dump(mode="json"),
        }
        digest = compute_hash(body)
        body["hash"] = digest
        event = cls.model_construct(
            **fields, event_id=event_id, occurred_at=when, hash=digest, payload=payload
        )
        self.chains[(topic, aggregate_id)] = (sequence + 1, digest)
        signer = self.signers.get(cls.PRODUCER)
        headers = signer.headers_for(digest) if signer is not None else {}
        self.append_raw(
            topic,
            aggregate_id,
            canonical_json(body).encode(),
            tuple((name, value.encode()) for name, value in headers.items()),
        )
        return event

    def append_raw(
        self,
        topic: str,
        key: str | None,
        value: bytes | None,
        headers: tuple[tuple[str, bytes], ...] = (),
    ) -> LogRecord:
        """Put a record at the end of its partition, as a producer would (no checks)."""
        partition = self.partition_of(key or "")
        log = self.logs.setdefault((topic, partition), [])
        record = LogRecord(
            topic=topic,
            partition=partition,
            offset=len(log),
            key=key.encode() if key is not None else None,
            value=value,
            timestamp=int(self.now.timestamp() * 1000),
            headers=headers,
        )
        log.append(record)
        return record

    def records(self) -> list[LogRecord]:
        return [record for place in sorted(self.logs) for record in self.logs[place]]

    def position(self, producer: Producer, aggregate_id: str) -> SeenFact | None:
        """``producer``'s aggregate as of its latest event so far, as a service that has read
        the whole log names it in ``seen``; None when the aggregate has no event yet."""
        topic = self.prefix + EVENTS_TOPIC_OF_PRODUCER[producer]
        found = self.chains.get((topic, aggregate_id))
        if found is None:
            return None
        return SeenFact(producer=producer, aggregate_id=aggregate_id, sequence=found[0])

    def seen(self, *facts: tuple[Producer, str]) -> list[SeenFact]:
        """The positions of ``facts`` (those that have events), for a decision's ``seen``."""
        positions = (self.position(producer, aggregate) for producer, aggregate in facts)
        return [fact for fact in positions if fact is not None]


@dataclass
class JudgedHackathon:
    """The ids of what :func:`judged_hackathon` wrote, for tests that tamper with it."""

    hackathon_id: str
    organizer: str
    judges: list[str]
    teams: list[str]
    submissions: dict[str, str]  # team -> submission
    assignments: dict[str, list[str]]  # submission -> judges
    results: ResultsPublished


CRITERIA = [RubricCriterion(key="impact", weight=2.0), RubricCriterion(key="feasibility", weight=1)]
AWARDS = [
    AwardOffered(name="First prize", rank=1, kind="grant", amount=1000),
    AwardOffered(name="Mentorship", rank=2, kind="mentorship"),
]


def judged_hackathon(
    log: LogBuilder,
    *,
    normalization: str = "none",
    organizer: str | None = None,
    positions: bool = True,
    conflicts_changed: bool = False,
) -> JudgedHackathon:
    """Write a complete hackathon to ``log``: four teams (one withdraws after submitting),
    three judges with conflicts, two judges per submission, a re-scored submission, the
    results and the finish. With ``positions`` (the default) every decision names the
    positions it was taken on in ``seen``, as the services write them; without, the log is
    as written before ``seen`` existed. With ``conflicts_changed``, the organizer also
    replaces the third judge's declared conflicts (none) with the team that withdrew, in
    hacking (a ``JudgeConflictsChanged``; ``hackathon audit sample`` writes it)."""

    def seen(*facts: tuple[Producer, str]) -> list[SeenFact]:
        return log.seen(*facts) if positions else []

    def account(roles: list[str]) -> str:
        return _account(log, roles)

    boss = organizer or account(["organizer"])
    hid = _id("hck")
    challenges = [Challenge(challenge_id=_id("chl"), title=t) for t in ("Water", "Open data")]
    deadline = log.now + timedelta(days=2)
    log.add(
        HackathonCreated,
        HackathonCreatedPayload(
            hackathon_id=hid,
            name="Digital Citizenship Hackathon",
            challenges=challenges,
            min_team_size=1,
            max_team_size=3,
            max_teams=10,
            submission_deadline=deadline,
            rubric=Rubric(criteria=CRITERIA, normalization=normalization),
            judges_per_submission=2,
            awards=AWARDS,
            created_by=boss,
        ),
        aggregate_id=hid,
    )
    phase = "draft"

    def move(to: str, by: str = boss, cause: str | None = None) -> None:
        nonlocal phase
        log.add(
            HackathonPhaseChanged,
            HackathonPhaseChangedPayload(
                hackathon_id=hid,
                from_phase=phase,
                to_phase=to,
                changed_by=by,
            ),
            aggregate_id=hid,
            causation_id=cause,
        )
        phase = to

    move("registration")
    people = [account(["participant"]) for _ in range(6)]
    judges = [account(["participant"]) for _ in range(3)]
    for person in people:
        log.add(
            ParticipantRegistered,
            ParticipantRegisteredPayload(
                participant_id=_id("par"),
                account_id=person,
                hackathon_id=hid,
                sector="academia",
                consent_version="2024-01",
                consented_at=log.now,
            ),
            aggregate_id=hid,
        )
    # Teams: (captain, joiners); the last team withdraws later.
    layout = [(people[0], [people[1]]), (people[2], []), (people[3], [people[4]]), (people[5], [])]
    teams: list[str] = []
    for number, (captain, joiners) in enumerate(layout):
        tid = _id("team")
        teams.append(tid)
        log.add(
            TeamRegistered,
            TeamRegisteredPayload(
                team_id=tid,
                hackathon_id=hid,
                name=f"Team {number}",
                challenge_id=challenges[number % 2].challenge_id,
                captain_id=captain,
                members=[captain],
            ),
            aggregate_id=tid,
        )
        for joiner in joiners:
            log.add(
                TeamMemberJoined,
                TeamMemberJoinedPayload(team_id=tid, hackathon_id=hid, account_id=joiner),
                aggregate_id=tid,
            )
    # judge0 may not judge team0, judge1 not team1.
    for judge, conflicts in zip(judges, [[teams[0]], [teams[1]], []], strict=True):
        log.add(
            JudgeEnrolled,
            JudgeEnrolledPayload(hackathon_id=hid, judge_id=judge, conflicts=conflicts),
            aggregate_id=hid,
        )
    move("hacking")
    submissions: dict[str, str] = {}
    first_at: dict[str, datetime] = {}
    for number, (tid, (captain, joiners)) in enumerate(zip(teams, layout, strict=True)):
        sid = _id("sub")
        submissions[tid] = sid
        versions = 2 if number == 0 else 1
        for version in range(1, versions + 1):
            author = joiners[0] if version == 2 and joiners else captain
            at = log.tick()
            first_at.setdefault(sid, at)
            log.add(
                SubmissionReceived,
                SubmissionReceivedPayload(
                    submission_id=sid,
                    hackathon_id=hid,
                    team_id=tid,
                    challenge_id=challenges[number % 2].challenge_id,
                    version=version,
                    title=f"Proposal {number} v{version}",
                    summary="Open sensors for cleaner water.",
                    kind="technology",
                    repo_url="https://git.example.org/p",
                    submitted_by=author,
                    first_submitted_at=first_at[sid],
                    # Before ``seen``: the members and the team event they are as of
                    # (TeamRegistered, then one event per join).
                    members=[] if positions else sorted([captain, *joiners]),
                    team_sequence=None if positions else 1 + len(joiners),
                    seen=seen(("registration", hid), ("registration", tid)),
                ),
                aggregate_id=sid,
                occurred_at=at,
            )
    gone = teams[3]
    left = log.add(
        TeamMemberLeft,
        TeamMemberLeftPayload(team_id=gone, hackathon_id=hid, account_id=layout[3][0]),
        aggregate_id=gone,
    )
    withdrawn = log.add(
        TeamWithdrawn,
        TeamWithdrawnPayload(team_id=gone, hackathon_id=hid, reason="its last member left"),
        aggregate_id=gone,
        causation_id=str(left.event_id),
    )
    log.add(
        SubmissionWithdrawn,
        SubmissionWithdrawnPayload(
            submission_id=submissions[gone],
            hackathon_id=hid,
            team_id=gone,
            reason="the team withdrew",
            seen=seen(("registration", gone)),  # as of the withdrawal
        ),
        aggregate_id=submissions[gone],
        causation_id=str(withdrawn.event_id),
    )
    if conflicts_changed:
        log.add(
            JudgeConflictsChanged,
            JudgeConflictsChangedPayload(
                hackathon_id=hid, judge_id=judges[2], conflicts=[gone], changed_by=boss
            ),
            aggregate_id=hid,
        )
    move("judging")
    conflicted = {judges[0]: teams[0], judges[1]: teams[1]}
    assignments: dict[str, list[str]] = {}
    for tid in teams[:3]:
        sid = submissions[tid]
        assignments[sid] = [j for j in judges if conflicted.get(j) != tid][:2]
        for judge in assignments[sid]:
            log.add(
                JudgeAssigned,
                JudgeAssignedPayload(
                    hackathon_id=hid,
                    submission_id=sid,
                    team_id=tid,
                    judge_id=judge,
                    seen=seen(("registration", hid), ("submissions", sid)),
                ),
                aggregate_id=sid,
            )
    criteria = [Criterion(c.key, c.weight) for c in CRITERIA]
    latest: dict[tuple[str, str], dict[str, float]] = {}
    for number, (sid, panel) in enumerate(assignments.items()):
        for offset, judge in enumerate(panel):
            values = {"impact": float(4 + 2 * number + offset), "feasibility": 7.0 - number}
            revisions = 2 if (number, offset) == (0, 0) else 1
            for revision in range(1, revisions + 1):
                if revision == 2:
                    values = {"impact": 9.5, "feasibility": 8.0}
                latest[(sid, judge)] = values
                log.add(
                    ScoreSubmitted,
                    ScoreSubmittedPayload(
                        hackathon_id=hid,
                        submission_id=sid,
                        judge_id=judge,
                        scores=values,
                        total=weighted_total(criteria, values),
                        revision=revision,
                        comment="clear and useful",
                        seen=seen(("registration", hid), ("submissions", sid)),
                    ),
                    aggregate_id=sid,
                )
    results = _publish_results(
        log,
        hid,
        boss,
        criteria,
        normalization,
        [
            Entrant(sid, tid, first_at[sid], withdrawn=tid == gone)
            for tid, sid in submissions.items()
        ],
        latest,
        positions=positions,
    )
    move("finished", by="system", cause=str(results.event_id))
    return JudgedHackathon(
        hackathon_id=hid,
        organizer=boss,
        judges=judges,
        teams=teams,
        submissions=submissions,
        assignments=assignments,
        results=results,
    )


SECTORS = ("private", "academia", "civil_society", "government", "other")
CIVIC_CHALLENGES = (
    "Trustworthy e-government",
    "Digital skills for citizens",
    "Client-oriented municipal services",
    "A stable digital economy",
    "Privacy and personal-data protection",
)


def civic_hackathon(
    log: LogBuilder,
    *,
    participants: int = 30_000,
    teams: int = 3_000,
    judges: int = 500,
    judges_per_submission: int = 5,
    organizer: str | None = None,
) -> str:
    """Write one large, clean hackathon to ``log``, shaped like the largest civic hackathons
    (the defaults: 30,000 participants in 3,000 teams, one submission per team, 500 judges,
    ``judges_per_submission`` assignments and scores per submission, about 124,000 events),
    every decision naming its positions (``seen``). Returns the hackathon id. Used by the
    benchmark of ``audit verify``; ``judged_hackathon`` is the small one the tests tamper
    with."""
    if not 1 <= teams <= participants or judges < judges_per_submission + 1:
        raise ValueError("need 1 <= teams <= participants and judges > judges_per_submission")
    boss = organizer or _account(log, ["organizer"])
    hid = _id("hck")
    challenges = [Challenge(challenge_id=_id("chl"), title=t) for t in CIVIC_CHALLENGES]
    size = -(-participants // teams)
    log.add(
        HackathonCreated,
        HackathonCreatedPayload(
            hackathon_id=hid,
            name="Digital Citizenship Hackathon",
            challenges=challenges,
            min_team_size=1,
            max_team_size=size,
            max_teams=teams,
            submission_deadline=log.now + timedelta(days=3650),
            rubric=Rubric(criteria=CRITERIA, normalization="zscore"),
            judges_per_submission=judges_per_submission,
            awards=AWARDS,
            created_by=boss,
        ),
        aggregate_id=hid,
    )
    phase = "draft"

    def move(to: str, by: str = boss, cause: str | None = None) -> None:
        nonlocal phase
        log.add(
            HackathonPhaseChanged,
            HackathonPhaseChangedPayload(
                hackathon_id=hid, from_phase=phase, to_phase=to, changed_by=by
            ),
            aggregate_id=hid,
            causation_id=cause,
        )
        phase = to

    move("registration")
    people = [_account(log, ["participant"]) for _ in range(participants)]
    for number, person in enumerate(people):
        log.add(
            ParticipantRegistered,
            ParticipantRegisteredPayload(
                participant_id=_id("par"),
                account_id=person,
                hackathon_id=hid,
                sector=SECTORS[number % len(SECTORS)],
                consent_version="2026-01",
                consented_at=log.now,
            ),
            aggregate_id=hid,
        )
    team_ids: list[str] = []
    members_of: dict[str, list[str]] = {}
    for number in range(teams):
        tid = _id("team")
        team_ids.append(tid)
        members = people[number::teams]
        members_of[tid] = members
        log.add(
            TeamRegistered,
            TeamRegisteredPayload(
                team_id=tid,
                hackathon_id=hid,
                name=f"Team {number}",
                challenge_id=challenges[number % len(challenges)].challenge_id,
                captain_id=members[0],
                members=[members[0]],
            ),
            aggregate_id=tid,
        )
        for joiner in members[1:]:
            log.add(
                TeamMemberJoined,
                TeamMemberJoinedPayload(team_id=tid, hackathon_id=hid, account_id=joiner),
                aggregate_id=tid,
            )
    jury = [_account(log, ["participant"]) for _ in range(judges)]
    conflicted = {judge: team_ids[n % teams] for n, judge in enumerate(jury) if n % 10 == 0}
    for judge in jury:
        log.add(
            JudgeEnrolled,
            JudgeEnrolledPayload(
                hackathon_id=hid,
                judge_id=judge,
                conflicts=[conflicted[judge]] if judge in conflicted else [],
            ),
            aggregate_id=hid,
        )
    move("hacking")
    submissions: dict[str, str] = {}
    first_at: dict[str, datetime] = {}
    for number, tid in enumerate(team_ids):
        sid = _id("sub")
        submissions[tid] = sid
        at = first_at[sid] = log.tick()
        log.add(
            SubmissionReceived,
            SubmissionReceivedPayload(
                submission_id=sid,
                hackathon_id=hid,
                team_id=tid,
                challenge_id=challenges[number % len(challenges)].challenge_id,
                version=1,
                title=f"Proposal {number}",
                summary="Open services for citizens.",
                kind="social",
                repo_url="https://git.example.org/p",
                submitted_by=members_of[tid][0],
                first_submitted_at=at,
                seen=log.seen(("registration", hid), ("registration", tid)),
            ),
            aggregate_id=sid,
            occurred_at=at,
        )
    move("judging")
    panels: dict[str, list[str]] = {}
    cursor = 0
    for tid in team_ids:
        sid = submissions[tid]
        panel: list[str] = []
        while len(panel) < judges_per_submission:
            judge = jury[cursor % judges]
            cursor += 1
            if conflicted.get(judge) != tid and judge not in panel:
                panel.append(judge)
        panels[sid] = panel
        for judge in panel:
            log.add(
                JudgeAssigned,
                JudgeAssignedPayload(
                    hackathon_id=hid,
                    submission_id=sid,
                    team_id=tid,
                    judge_id=judge,
                    seen=log.seen(("registration", hid), ("submissions", sid)),
                ),
                aggregate_id=sid,
            )
    criteria = [Criterion(c.key, c.weight) for c in CRITERIA]
    latest: dict[tuple[str, str], dict[str, float]] = {}
    rng = random.Random(hid)  # varied totals per judge (z-scores of equal totals are 0)
    for sid, panel in panels.items():
        for judge in panel:
            values = {"impact": float(rng.randint(1, 10)), "feasibility": float(rng.randint(1, 10))}
            latest[(sid, judge)] = values
            log.add(
                ScoreSubmitted,
                ScoreSubmittedPayload(
                    hackathon_id=hid,
                    submission_id=sid,
                    judge_id=judge,
                    scores=values,
                    total=weighted_total(criteria, values),
                    revision=1,
                    seen=log.seen(("registration", hid), ("submissions", sid)),
                ),
                aggregate_id=sid,
            )
    results = _publish_results(
        log,
        hid,
        boss,
        criteria,
        "zscore",
        [Entrant(sid, tid, first_at[sid]) for tid, sid in submissions.items()],
        latest,
        positions=True,
    )
    move("finished", by="system", cause=str(results.event_id))
    return hid


def _account(log: LogBuilder, roles: list[str]) -> str:
    account_id = _id("acc")
    log.add(
        AccountCreated,
        AccountCreatedPayload(account_id=account_id, roles=roles),
        aggregate_id=account_id,
    )
    return account_id


def _publish_results(
    log: LogBuilder,
    hid: str,
    boss: str,
    criteria: list[Criterion],
    normalization: str,
    entrants: list[Entrant],
    latest: dict[tuple[str, str], dict[str, float]],
    *,
    positions: bool,
) -> ResultsPublished:
    """The results as the scoring service computes them, published by ``boss``."""
    board = leaderboard(
        criteria,
        normalization,
        entrants,
        [Score(judge, sid, values) for (sid, judge), values in latest.items()],
    )
    offered = {award.rank: award for award in AWARDS}
    granted = awards_granted(board, [(award.name, award.rank) for award in AWARDS])
    results = log.add(
        ResultsPublished,
        ResultsPublishedPayload(
            hackathon_id=hid,
            entries=[
                RankingEntry(
                    rank=e.rank,
                    submission_id=e.submission_id,
                    team_id=e.team_id,
                    score=e.score,
                    judges=e.judges,
                )
                for e in board
            ],
            awards=[
                AwardGranted(
                    name=name,
                    kind=offered[rank].kind,
                    amount=offered[rank].amount,
                    rank=rank,
                    team_id=team,
                )
                for name, rank, team in granted
            ],
            published_by=boss,
            seen=log.seen(
                ("registration", hid),
                *(("registration", e.team_id) for e in board),
                *(("submissions", e.submission_id) for e in board),
            )
            if positions
            else [],
        ),
        aggregate_id=hid,
    )
    assert isinstance(results, ResultsPublished)
    return results
