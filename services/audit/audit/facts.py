"""What the audit keeps of each decoded event: the few fields its rules and references read,
in small slotted objects, so that a long log can be checked without holding every decoded
model (a validated event is some kilobytes; its fact is about a tenth of that).

One fact class per catalogue event class, with the payload's field names; every fact has the
envelope's ``occurred_at`` and ``causation_id``. Identifiers are interned: the hackathon id
that 30,000 registrations name is then one string. :func:`fact_of` turns a decoded event
into its fact; the models themselves are dropped after decoding.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountErased,
    AccountRolesChanged,
    HackathonCreated,
    HackathonPhaseChanged,
    JudgeAssigned,
    JudgeConflictsChanged,
    JudgeEnrolled,
    NotificationFailed,
    NotificationSent,
    ParticipantRegistered,
    ResultsPublished,
    ScoreSubmitted,
    SeenFact,
    SubmissionReceived,
    SubmissionWithdrawn,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamRegistered,
    TeamWithdrawn,
)
from hackathon_shared.events.envelope import Envelope

_intern = sys.intern


class Seen(NamedTuple):
    """A position a decision names (``payload.seen``): ``producer``'s aggregate as of
    ``sequence``."""

    producer: str
    aggregate_id: str
    sequence: int


class Criterion(NamedTuple):
    key: str
    weight: float
    min: float
    max: float


class AwardOffer(NamedTuple):
    name: str
    kind: str
    amount: float | None
    rank: int


class Entry(NamedTuple):
    """One entry of a published ranking."""

    rank: int
    submission_id: str
    team_id: str
    score: float
    judges: int
    # stated since ties are visible; None in events published before
    raw_mean: float | None = None
    score_rank: int | None = None
    tied_with: int | None = None
    placed_by: str | None = None


class Grant(NamedTuple):
    """One award as published: (name, kind, amount, rank, team_id)."""

    name: str
    kind: str
    amount: float | None
    rank: int
    team_id: str | None


@dataclass(slots=True, eq=False)
class Fact:
    occurred_at: datetime
    causation_id: str | None


@dataclass(slots=True, eq=False)
class AccountCreatedFact(Fact):
    account_id: str
    roles: tuple[str, ...]


@dataclass(slots=True, eq=False)
class AccountRolesChangedFact(Fact):
    account_id: str
    roles: tuple[str, ...]


@dataclass(slots=True, eq=False)
class AccountErasedFact(Fact):
    account_id: str


@dataclass(slots=True, eq=False)
class HackathonCreatedFact(Fact):
    hackathon_id: str
    created_by: str
    challenge_ids: frozenset[str]
    min_team_size: int
    max_team_size: int
    max_teams: int
    submission_deadline: datetime
    criteria: tuple[Criterion, ...]
    normalization: str
    awards: tuple[AwardOffer, ...]


@dataclass(slots=True, eq=False)
class HackathonPhaseChangedFact(Fact):
    hackathon_id: str
    from_phase: str
    to_phase: str
    changed_by: str


@dataclass(slots=True, eq=False)
class ParticipantRegisteredFact(Fact):
    hackathon_id: str
    account_id: str


@dataclass(slots=True, eq=False)
class JudgeEnrolledFact(Fact):
    hackathon_id: str
    judge_id: str
    conflicts: frozenset[str]


@dataclass(slots=True, eq=False)
class JudgeConflictsChangedFact(Fact):
    hackathon_id: str
    judge_id: str
    conflicts: frozenset[str]
    changed_by: str


@dataclass(slots=True, eq=False)
class TeamRegisteredFact(Fact):
    team_id: str
    hackathon_id: str
    challenge_id: str
    captain_id: str
    members: tuple[str, ...]


@dataclass(slots=True, eq=False)
class TeamMemberJoinedFact(Fact):
    team_id: str
    account_id: str


@dataclass(slots=True, eq=False)
class TeamMemberLeftFact(Fact):
    team_id: str
    account_id: str


@dataclass(slots=True, eq=False)
class TeamWithdrawnFact(Fact):
    team_id: str


@dataclass(slots=True, eq=False)
class SubmissionReceivedFact(Fact):
    submission_id: str
    hackathon_id: str
    team_id: str
    challenge_id: str
    version: int
    submitted_by: str
    first_submitted_at: datetime
    members: tuple[str, ...]
    team_sequence: int | None
    seen: tuple[Seen, ...]


@dataclass(slots=True, eq=False)
class SubmissionWithdrawnFact(Fact):
    submission_id: str
    seen: tuple[Seen, ...]


@dataclass(slots=True, eq=False)
class JudgeAssignedFact(Fact):
    hackathon_id: str
    submission_id: str
    team_id: str
    judge_id: str
    seen: tuple[Seen, ...]


@dataclass(slots=True, eq=False)
class ScoreSubmittedFact(Fact):
    hackathon_id: str
    submission_id: str
    judge_id: str
    scores: Mapping[str, float]
    total: float
    revision: int
    seen: tuple[Seen, ...]


@dataclass(slots=True, eq=False)
class ResultsPublishedFact(Fact):
    hackathon_id: str
    published_by: str
    entries: tuple[Entry, ...]
    awards: tuple[Grant, ...]
    seen: tuple[Seen, ...]
    normalization: str | None = None  # stated since ties are visible
    tie_break: str | None = None


@dataclass(slots=True, eq=False)
class NotificationSentFact(Fact):
    causing_event_id: str
    recipient_account_id: str | None


@dataclass(slots=True, eq=False)
class NotificationFailedFact(Fact):
    causing_event_id: str
    recipient_account_id: str | None


# The decisions that name the positions they were taken on (``seen``).
SeenFacts = (
    SubmissionReceivedFact
    | SubmissionWithdrawnFact
    | JudgeAssignedFact
    | ScoreSubmittedFact
    | ResultsPublishedFact
)
SEEN_TYPES: tuple[type[Fact], ...] = (
    SubmissionReceivedFact,
    SubmissionWithdrawnFact,
    JudgeAssignedFact,
    ScoreSubmittedFact,
    ResultsPublishedFact,
)
TeamChange = TeamRegisteredFact | TeamMemberJoinedFact | TeamMemberLeftFact | TeamWithdrawnFact
TEAM_CHANGES: tuple[type[Fact], ...] = (
    TeamRegisteredFact,
    TeamMemberJoinedFact,
    TeamMemberLeftFact,
    TeamWithdrawnFact,
)


def _ids(values: Any) -> tuple[str, ...]:
    return tuple(_intern(str(value)) for value in values)


def _seen(facts: list[SeenFact]) -> tuple[Seen, ...]:
    return tuple([Seen(_intern(f.producer), _intern(f.aggregate_id), f.sequence) for f in facts])


def _account_created(e: Any) -> Fact:
    p = e.payload
    return AccountCreatedFact(e.occurred_at, e.causation_id, _intern(p.account_id), tuple(p.roles))


def _account_roles(e: Any) -> Fact:
    p = e.payload
    return AccountRolesChangedFact(
        e.occurred_at, e.causation_id, _intern(p.account_id), tuple(p.roles)
    )


def _account_erased(e: Any) -> Fact:
    return AccountErasedFact(e.occurred_at, e.causation_id, _intern(e.payload.account_id))


def _hackathon_created(e: Any) -> Fact:
    p = e.payload
    return HackathonCreatedFact(
        e.occurred_at,
        e.causation_id,
        hackathon_id=_intern(p.hackathon_id),
        created_by=_intern(p.created_by),
        challenge_ids=frozenset(_ids(c.challenge_id for c in p.challenges)),
        min_team_size=p.min_team_size,
        max_team_size=p.max_team_size,
        max_teams=p.max_teams,
        submission_deadline=p.submission_deadline,
        criteria=tuple(Criterion(c.key, c.weight, c.min, c.max) for c in p.rubric.criteria),
        normalization=p.rubric.normalization,
        awards=tuple(AwardOffer(a.name, a.kind, a.amount, a.rank) for a in p.awards),
    )


def _phase_changed(e: Any) -> Fact:
    p = e.payload
    return HackathonPhaseChangedFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.hackathon_id),
        p.from_phase,
        p.to_phase,
        _intern(p.changed_by),
    )


def _participant(e: Any) -> Fact:
    p = e.payload
    return ParticipantRegisteredFact(
        e.occurred_at, e.causation_id, _intern(p.hackathon_id), _intern(p.account_id)
    )


def _judge_enrolled(e: Any) -> Fact:
    p = e.payload
    return JudgeEnrolledFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.hackathon_id),
        _intern(p.judge_id),
        frozenset(_ids(p.conflicts)),
    )


def _judge_conflicts_changed(e: Any) -> Fact:
    p = e.payload
    return JudgeConflictsChangedFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.hackathon_id),
        _intern(p.judge_id),
        frozenset(_ids(p.conflicts)),
        _intern(p.changed_by),
    )


def _team_registered(e: Any) -> Fact:
    p = e.payload
    return TeamRegisteredFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.team_id),
        _intern(p.hackathon_id),
        _intern(p.challenge_id),
        _intern(p.captain_id),
        _ids(p.members),
    )


def _member_joined(e: Any) -> Fact:
    p = e.payload
    return TeamMemberJoinedFact(
        e.occurred_at, e.causation_id, _intern(p.team_id), _intern(p.account_id)
    )


def _member_left(e: Any) -> Fact:
    p = e.payload
    return TeamMemberLeftFact(
        e.occurred_at, e.causation_id, _intern(p.team_id), _intern(p.account_id)
    )


def _team_withdrawn(e: Any) -> Fact:
    return TeamWithdrawnFact(e.occurred_at, e.causation_id, _intern(e.payload.team_id))


def _submission_received(e: Any) -> Fact:
    p = e.payload
    return SubmissionReceivedFact(
        e.occurred_at,
        e.causation_id,
        submission_id=_intern(p.submission_id),
        hackathon_id=_intern(p.hackathon_id),
        team_id=_intern(p.team_id),
        challenge_id=_intern(p.challenge_id),
        version=p.version,
        submitted_by=_intern(p.submitted_by),
        first_submitted_at=p.first_submitted_at,
        members=_ids(p.members),
        team_sequence=p.team_sequence,
        seen=_seen(p.seen),
    )


def _submission_withdrawn(e: Any) -> Fact:
    p = e.payload
    return SubmissionWithdrawnFact(
        e.occurred_at, e.causation_id, _intern(p.submission_id), _seen(p.seen)
    )


def _judge_assigned(e: Any) -> Fact:
    p = e.payload
    return JudgeAssignedFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.hackathon_id),
        _intern(p.submission_id),
        _intern(p.team_id),
        _intern(p.judge_id),
        _seen(p.seen),
    )


def _score_submitted(e: Any) -> Fact:
    p = e.payload
    return ScoreSubmittedFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.hackathon_id),
        _intern(p.submission_id),
        _intern(p.judge_id),
        p.scores,
        p.total,
        p.revision,
        _seen(p.seen),
    )


def _results_published(e: Any) -> Fact:
    p = e.payload
    return ResultsPublishedFact(
        e.occurred_at,
        e.causation_id,
        _intern(p.hackathon_id),
        _intern(p.published_by),
        tuple(
            Entry(
                r.rank,
                _intern(r.submission_id),
                _intern(r.team_id),
                r.score,
                r.judges,
                r.raw_mean,
                r.score_rank,
                r.tied_with,
                r.placed_by,
            )
            for r in p.entries
        ),
        tuple(Grant(a.name, a.kind, a.amount, a.rank, a.team_id) for a in p.awards),
        _seen(p.seen),
        p.normalization,
        p.tie_break,
    )


def _notification_sent(e: Any) -> Fact:
    p = e.payload
    return NotificationSentFact(
        e.occurred_at, e.causation_id, p.causing_event_id, p.recipient_account_id
    )


def _notification_failed(e: Any) -> Fact:
    p = e.payload
    return NotificationFailedFact(
        e.occurred_at, e.causation_id, p.causing_event_id, p.recipient_account_id
    )


_FACT_OF: dict[type[Envelope], Callable[[Any], Fact]] = {
    AccountCreated: _account_created,
    AccountRolesChanged: _account_roles,
    AccountErased: _account_erased,
    HackathonCreated: _hackathon_created,
    HackathonPhaseChanged: _phase_changed,
    ParticipantRegistered: _participant,
    JudgeEnrolled: _judge_enrolled,
    JudgeConflictsChanged: _judge_conflicts_changed,
    TeamRegistered: _team_registered,
    TeamMemberJoined: _member_joined,
    TeamMemberLeft: _member_left,
    TeamWithdrawn: _team_withdrawn,
    SubmissionReceived: _submission_received,
    SubmissionWithdrawn: _submission_withdrawn,
    JudgeAssigned: _judge_assigned,
    ScoreSubmitted: _score_submitted,
    ResultsPublished: _results_published,
    NotificationSent: _notification_sent,
    NotificationFailed: _notification_failed,
}


def fact_of(event: Envelope) -> Fact:
    """The fact the checks keep of a decoded catalogue event."""
    return _FACT_OF[type(event)](event)
