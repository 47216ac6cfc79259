"""Teams: formed and changed in registration or hacking, within ``max_team_size``, one team per
participant and hackathon, the captain a member, leavers members, no team formed while
``max_teams`` take part (a withdrawn team frees its place); members are participants of the
team's hackathon. Kept for the other groups: each team's members by time, after each of its
events by sequence in its chain, and everyone who was ever a member."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from audit.checks.hackathons import hackathon, phase_at
from audit.checks.state import LogState, Team, TeamState, occurred
from audit.facts import (
    TEAM_CHANGES,
    HackathonCreatedFact,
    TeamChange,
    TeamMemberJoinedFact,
    TeamMemberLeftFact,
    TeamRegisteredFact,
    TeamWithdrawnFact,
)
from audit.reading import Item


def check_teams(s: LogState) -> None:
    changes: list[Item] = [i for cls in TEAM_CHANGES for i in s.by_type.get(cls, [])]
    changes.sort(key=lambda i: (occurred(i), i.aggregate_id or "", i.sequence or 0))
    team_of: dict[tuple[str, str], str] = {}
    for item in changes:
        event = item.fact
        assert event is not None
        when = event.occurred_at
        if isinstance(event, TeamRegisteredFact):
            p = event
            found_hackathon = hackathon(s, item, p.hackathon_id)
            team = Team(item, p.hackathon_id, p.challenge_id)
            replaced = s.teams.get(p.team_id)
            if replaced is not None and replaced.withdrawn_at is None:
                s.active_teams[replaced.hackathon_id] -= 1
            s.teams[p.team_id] = team
            s.active_teams[p.hackathon_id] += 1
            if found_hackathon is not None and p.challenge_id not in found_hackathon.challenge_ids:
                s.unknown(item, "challenge", p.challenge_id)
            if p.captain_id not in p.members:
                s.report("rule", "team-membership", "the captain is not a member", item)
            for account in p.members:
                _join(s, item, team, account, team_of, p.team_id)
            _check_phase(s, item, p.hackathon_id, when, "team formed")
            _check_size(s, item, team, found_hackathon)
            _check_capacity(s, item, p.hackathon_id, found_hackathon)
            team.changed(when)
            continue
        assert isinstance(event, TeamChange)
        team_id = event.team_id
        found = s.teams.get(team_id)
        if found is None:
            s.unknown(item, "team", team_id)
            continue
        found_hackathon = hackathon(s, item, found.hackathon_id)
        if isinstance(event, TeamMemberJoinedFact):
            _join(s, item, found, event.account_id, team_of, team_id)
            _check_phase(s, item, found.hackathon_id, when, "member joined")
            _check_size(s, item, found, found_hackathon)
        elif isinstance(event, TeamMemberLeftFact):
            account = event.account_id
            if account not in found.members:
                s.report("rule", "team-membership", f"{account} left without being a member", item)
            found.members.discard(account)
            team_of.pop((found.hackathon_id, account), None)
        elif isinstance(event, TeamWithdrawnFact):
            if found.withdrawn_at is None:
                s.active_teams[found.hackathon_id] -= 1
            found.withdrawn_at = when
            for account in found.members:
                team_of.pop((found.hackathon_id, account), None)
        found.changed(when)
    _build_team_histories(s, changes)


def _build_team_histories(s: LogState, changes: list[Item]) -> None:
    """Each team's members after each of its events, replayed in the chain's own order (a
    consumer applies them so), which ``occurred_at`` need not follow across replicas; and
    everyone the chain ever made a member."""
    chains: dict[str, list[Item]] = defaultdict(list)
    for item in changes:
        if item.sequence is not None and item.fact is not None:
            assert isinstance(item.fact, TeamChange)
            chains[item.fact.team_id].append(item)
    for team_id, chain in chains.items():
        team = s.teams.get(team_id)
        if team is None:
            continue
        members: set[str] = set()
        withdrawn = False
        for item in sorted(chain, key=lambda i: i.sequence or 0):
            event = item.fact
            if isinstance(event, TeamRegisteredFact):
                members = set(event.members)
                team.ever_members.update(event.members)
            elif isinstance(event, TeamMemberJoinedFact):
                members.add(event.account_id)
                team.ever_members.add(event.account_id)
            elif isinstance(event, TeamMemberLeftFact):
                members.discard(event.account_id)
            elif isinstance(event, TeamWithdrawnFact):
                withdrawn = True
            assert item.sequence is not None
            state = TeamState(team.members_tuple(members), withdrawn)
            team.states.set(item.sequence, state, item)


def _join(
    s: LogState,
    item: Item,
    team: Team,
    account: str,
    team_of: dict[tuple[str, str], str],
    team_id: str,
) -> None:
    if account not in s.participants.get(team.hackathon_id, ()):
        s.unknown(item, f"participant of {team.hackathon_id}", account)
    other = team_of.get((team.hackathon_id, account))
    if other is not None and other != team_id:
        s.report(
            "rule",
            "member-in-two-teams",
            f"{account} joined while a member of team {other} of the same hackathon",
            item,
        )
    team_of[(team.hackathon_id, account)] = team_id
    team.members.add(account)


def _check_phase(s: LogState, item: Item, hackathon_id: str, when: datetime, what: str) -> None:
    phase = phase_at(s, hackathon_id, when)
    if phase is not None and phase not in ("registration", "hacking"):
        s.report(
            "rule",
            "team-change-outside-phase",
            f"{what} in phase {phase}; teams form and change in registration and hacking",
            item,
        )


def _check_capacity(
    s: LogState, item: Item, hackathon_id: str, found: HackathonCreatedFact | None
) -> None:
    """A team formed while the hackathon already had ``max_teams`` teams taking part
    (a withdrawn team frees its place)."""
    if found is None:
        return
    active = s.active_teams[hackathon_id]
    if active > found.max_teams:
        s.report(
            "rule",
            "hackathon-over-capacity",
            f"the hackathon has {active} teams taking part; at most {found.max_teams} are allowed",
            item,
        )


def _check_size(s: LogState, item: Item, team: Team, found: HackathonCreatedFact | None) -> None:
    if found is not None and len(team.members) > found.max_team_size:
        s.report(
            "rule",
            "team-over-size",
            f"the team has {len(team.members)} members; at most {found.max_team_size} are allowed",
            item,
        )
