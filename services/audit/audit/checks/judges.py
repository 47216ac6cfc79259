"""Judges and their conflicts. A judge is an announced account enrolled in an announced
hackathon (``JudgeEnrolled``). Its declared conflicts are the teams listed at its enrolment,
replaced, from its position in the hackathon's chain on, by each ``JudgeConflictsChanged``:
a change made by an organizer, before the hackathon entered judging, for a judge enrolled
before it in that chain. Besides those, a judge conflicts with every team it is or was a
member of (``TeamRegistered.members``, ``TeamMemberJoined``; leaving does not end it): that
conflict follows from the facts and is never declared. The judging checks
(:mod:`audit.checks.judging`) ask :func:`conflict_reasons` for both."""

from __future__ import annotations

from collections import defaultdict

from audit.checks.accounts import known_account, require_organizer
from audit.checks.hackathons import hackathon
from audit.checks.state import LogState
from audit.facts import JudgeConflictsChangedFact, JudgeEnrolledFact
from audit.reading import Item
from hackathon_shared.events.catalogue import phase_index

JUDGING = phase_index("judging")


def check_enrolments(s: LogState) -> None:
    for item, enrolled in s.of(JudgeEnrolledFact):
        j = enrolled
        hackathon(s, item, j.hackathon_id)
        known_account(s, item, j.judge_id)
        s.judges[(j.hackathon_id, j.judge_id)] = frozenset(j.conflicts)


def build_conflict_histories(s: LogState) -> None:
    """Per enrolled judge, the declared conflicts after its enrolment and after each change
    that followed it, by sequence in the hackathon's chain (the order registration decided
    them in); the conflicts last declared are those after the last of them. A change for a
    judge not enrolled before it changes nothing (it is reported by
    :func:`check_conflict_changes`)."""
    chains: dict[str, list[Item]] = defaultdict(list)
    for cls in (JudgeEnrolledFact, JudgeConflictsChangedFact):
        for item in s.by_type.get(cls, []):
            if item.aggregate_id is not None and item.sequence is not None:
                chains[item.aggregate_id].append(item)
    changed: set[tuple[str, str]] = set()
    for hackathon_id, chain in chains.items():
        for item in sorted(chain, key=lambda i: i.sequence or 0):
            event, sequence = item.fact, item.sequence
            assert sequence is not None
            if isinstance(event, JudgeEnrolledFact):
                key = (hackathon_id, event.judge_id)
                s.judge_history[key].set(sequence, frozenset(event.conflicts), item)
            elif isinstance(event, JudgeConflictsChangedFact):
                key = (hackathon_id, event.judge_id)
                history = s.judge_history.get(key)
                if history is not None:
                    history.set(sequence, event.conflicts, item)
                    changed.add(key)
    for key in changed:
        if key in s.judges:
            s.judges[key] = s.judge_history[key].values[-1]


def check_conflict_changes(s: LogState) -> None:
    """Each ``JudgeConflictsChanged``: of an announced hackathon, for a judge enrolled before
    it in the hackathon's chain, by an organizer, before the hackathon entered judging (its
    phase at the change's own position in that chain)."""
    for item, change in s.of(JudgeConflictsChangedFact):
        hackathon(s, item, change.hackathon_id)
        hackathon_id = item.aggregate_id or change.hackathon_id
        sequence = item.sequence or 0
        enrolment = s.judge_history.get((hackathon_id, change.judge_id))
        if enrolment is None:
            s.unknown(item, f"judge of {change.hackathon_id}", change.judge_id)
        elif enrolment.sequences[0] > sequence:
            s.report(
                "reference",
                "unknown-reference",
                f"refers to judge {change.judge_id} of {change.hackathon_id}, enrolled only "
                f"at #{enrolment.sequences[0]}, after this change",
                item,
                enrolment.items[0],
            )
        require_organizer(s, item, change.changed_by, "judge conflicts changed")
        phases = s.phase_history.get(hackathon_id)
        at = phases.at(sequence) if phases is not None else None
        if at is not None and phase_index(at[0]) >= JUDGING:
            s.report(
                "rule",
                "conflicts-change-outside-phase",
                f"judge {change.judge_id}'s declared conflicts changed in phase {at[0]}; "
                "they change before judging only",
                item,
                at[1],
            )


def enrolled(s: LogState, item: Item, hackathon_id: str, judge_id: str) -> frozenset[str] | None:
    """The judge's conflicts as last declared; None (reported) when it was never enrolled."""
    conflicts = s.judges.get((hackathon_id, judge_id))
    if conflicts is None:
        s.unknown(item, f"judge of {hackathon_id}", judge_id)
    return conflicts


def conflict_reasons(s: LogState, judge_id: str, team_id: str, declared: frozenset[str]) -> str:
    """Why ``judge_id`` may not judge ``team_id`` ("" when nothing stops it): a conflict among
    ``declared`` (as last declared, and as of the positions the decision names), or the
    judge's membership of the team, now or at any time before."""
    reasons: list[str] = []
    if team_id in declared:
        reasons.append(f"judge {judge_id} declared a conflict with team {team_id}")
    team = s.teams.get(team_id)
    if team is not None and judge_id in team.ever_members:
        reasons.append(f"judge {judge_id} is or was a member of team {team_id}")
    return "; ".join(reasons)
