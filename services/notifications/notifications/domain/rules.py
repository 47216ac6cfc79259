"""Who hears what: pure functions from an event (and the team members as the event saw
them) to the notifications it causes. A draft holds ids and values only; names are looked up
when the notification is rendered.

An event decided on another topic's facts names the team's sequence it saw (``seen``); the
consumer applies it only once this service's copy of the team has reached that sequence
(causal delivery), and the team is then taken as of that sequence: who was a member when the
submission was accepted, or when the results were computed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hackathon_shared.events.catalogue import (
    AccountCreated,
    JudgeAssigned,
    JudgeEnrolled,
    RankingEntry,
    ResultsPublished,
    ResultsPublishedPayload,
    SubmissionReceived,
    TeamMemberJoined,
    TeamMemberLeft,
    TeamRegistered,
)
from hackathon_shared.events.envelope import Envelope

KINDS = (
    "welcome",
    "team_registered",
    "team_member_joined",
    "team_member_left",
    "submission_received",
    "judge_enrolled",
    "judge_assigned",
    "results_published",
)


@dataclass(frozen=True)
class NotificationDraft:
    account_id: str
    kind: str
    context: dict[str, Any] = field(default_factory=dict)


def _seen_team_sequence(event: Envelope, team_id: str) -> int | None:
    for fact in getattr(event.payload, "seen", None) or ():
        if fact.producer == "registration" and fact.aggregate_id == team_id:
            return int(fact.sequence)
    return None


def teams_concerned(event: Envelope) -> dict[str, int | None]:
    """The teams whose members the rules need, each as of the team's event number the event
    saw (None: as this service knows it before the event, which for the team's own events
    is exactly the state before them, one aggregate's events being in order)."""
    if isinstance(event, TeamMemberJoined | TeamMemberLeft):
        return {event.payload.team_id: None}
    if isinstance(event, SubmissionReceived):
        team_id = event.payload.team_id
        return {team_id: _seen_team_sequence(event, team_id)}
    if isinstance(event, ResultsPublished):
        return {e.team_id: _seen_team_sequence(event, e.team_id) for e in event.payload.entries}
    return {}


def _to_each(
    accounts: Iterable[str], kind: str, context: dict[str, Any]
) -> list[NotificationDraft]:
    """One draft per account, each account once, in order."""
    return [NotificationDraft(account, kind, context) for account in dict.fromkeys(accounts)]


def notifications_for(
    event: Envelope, members: Mapping[str, Sequence[str]]
) -> list[NotificationDraft]:
    """The notifications ``event`` causes; ``members`` maps each team of
    :func:`teams_concerned` to its members as of the sequence given there."""
    if isinstance(event, AccountCreated):
        return [NotificationDraft(event.payload.account_id, "welcome")]
    if isinstance(event, TeamRegistered):
        team = event.payload
        context: dict[str, Any] = {"team_id": team.team_id, "hackathon_id": team.hackathon_id}
        return _to_each(team.members, "team_registered", context)
    if isinstance(event, TeamMemberJoined):
        joined = event.payload
        context = {"team_id": joined.team_id, "member_id": joined.account_id}
        recipients = [*members.get(joined.team_id, ()), joined.account_id]
        return _to_each(recipients, "team_member_joined", context)
    if isinstance(event, TeamMemberLeft):
        left = event.payload
        context = {
            "team_id": left.team_id,
            "member_id": left.account_id,
            "new_captain_id": left.new_captain_id,
        }
        recipients = [*members.get(left.team_id, ()), left.account_id]
        return _to_each(recipients, "team_member_left", context)
    if isinstance(event, SubmissionReceived):
        received = event.payload
        context = {
            "team_id": received.team_id,
            "hackathon_id": received.hackathon_id,
            "submission_id": received.submission_id,
            "title": received.title,
            "version": received.version,
        }
        # The submitter, a member when it was accepted, hears of it in any case.
        recipients = [*members.get(received.team_id, ()), received.submitted_by]
        return _to_each(recipients, "submission_received", context)
    if isinstance(event, JudgeEnrolled):
        enrolled = event.payload
        context = {"hackathon_id": enrolled.hackathon_id}
        return _to_each([enrolled.judge_id], "judge_enrolled", context)
    if isinstance(event, JudgeAssigned):
        assigned = event.payload
        context = {
            "hackathon_id": assigned.hackathon_id,
            "team_id": assigned.team_id,
            "submission_id": assigned.submission_id,
        }
        return _to_each([assigned.judge_id], "judge_assigned", context)
    if isinstance(event, ResultsPublished):
        return _results(event, members)
    return []


def _how_placed(published: ResultsPublishedPayload, entry: RankingEntry) -> dict[str, Any]:
    """What the results say of the entry's tie and score beyond its rank: only what the event
    states (results published before ties were stated carry none of it, and their message
    reads as it did)."""
    stated = {
        "tied_with": entry.tied_with,
        "placed_by": entry.placed_by,
        "normalization": published.normalization,
        "raw_mean": None if entry.raw_mean is None else round(entry.raw_mean, 4),
    }
    return {key: value for key, value in stated.items() if value is not None}


def _results(
    event: ResultsPublished, members: Mapping[str, Sequence[str]]
) -> list[NotificationDraft]:
    published = event.payload
    teams = len(published.entries)
    drafts: dict[str, NotificationDraft] = {}  # one per person (one team per hackathon)
    for entry in published.entries:
        awards = [
            {"name": award.name, "kind": award.kind, "amount": award.amount}
            for award in published.awards
            if award.team_id == entry.team_id
        ]
        context = {
            "hackathon_id": published.hackathon_id,
            "team_id": entry.team_id,
            "rank": entry.rank,
            "teams": teams,
            "score": round(entry.score, 4),
            "awards": awards,
            **_how_placed(published, entry),
        }
        for account in members.get(entry.team_id, ()):
            drafts.setdefault(account, NotificationDraft(account, "results_published", context))
    return list(drafts.values())
