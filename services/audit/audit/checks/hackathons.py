"""Hackathons, their phases and their participants: phases move forward one step at a time,
from the phase the hackathon was in, changed by an organizer (the finish by ``system``,
caused by the published results); a hackathon is created by an organizer; a participant is
an announced account of an announced hackathon. Kept for the other groups: each hackathon's
phase by time and, by sequence in its chain, its phase after each event that set it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from audit.checks.accounts import known_account, require_organizer
from audit.checks.state import LogState
from audit.facts import (
    HackathonCreatedFact,
    HackathonPhaseChangedFact,
    ParticipantRegisteredFact,
    ResultsPublishedFact,
)
from audit.reading import Item
from hackathon_shared.events.catalogue import phase_index

SYSTEM_ACTOR = "system"  # registration's actor for the finish caused by published results


def check_phases(s: LogState) -> None:
    for item, created in s.of(HackathonCreatedFact):
        s.hackathons[created.hackathon_id] = (item, created)
        require_organizer(s, item, created.created_by, "hackathon created")
    results = {e.hackathon_id for _, e in s.of(ResultsPublishedFact)}
    ids = {i.event_id for i, _ in s.of(ResultsPublishedFact)}
    current: dict[str, str] = {}
    for item, changed in s.of(HackathonPhaseChangedFact):
        p = changed
        if p.hackathon_id not in s.hackathons:
            s.unknown(item, "hackathon", p.hackathon_id)
            continue
        phase = current.get(p.hackathon_id, "draft")
        step_ok = p.from_phase == phase and phase_index(p.to_phase) == phase_index(phase) + 1
        if not step_ok:
            s.report(
                "rule",
                "phase-order",
                f"phase {p.from_phase} -> {p.to_phase} while the hackathon was in {phase}; "
                "phases move forward one step at a time",
                item,
            )
        current[p.hackathon_id] = p.to_phase
        s.phases[p.hackathon_id].append((changed.occurred_at, p.to_phase))
        if p.changed_by == SYSTEM_ACTOR and p.to_phase == "finished":
            if p.hackathon_id not in results or changed.causation_id not in ids:
                s.report(
                    "rule",
                    "phase-order",
                    "finished by the system without published results causing it",
                    item,
                )
        else:
            require_organizer(s, item, p.changed_by, "phase changed")


def check_participants(s: LogState) -> None:
    for item, registered in s.of(ParticipantRegisteredFact):
        p = registered
        hackathon(s, item, p.hackathon_id)
        known_account(s, item, p.account_id)
        s.participants.setdefault(p.hackathon_id, set()).add(p.account_id)


def build_phase_histories(s: LogState) -> None:
    """Per hackathon, its phase after each event that set it, by sequence in the hackathon's
    chain: the order in which registration decided, which is what a named position counts."""
    chains: dict[str, list[Item]] = defaultdict(list)
    for cls in (HackathonCreatedFact, HackathonPhaseChangedFact):
        for item in s.by_type.get(cls, []):
            if item.aggregate_id is not None and item.sequence is not None:
                chains[item.aggregate_id].append(item)
    for hackathon_id, chain in chains.items():
        for item in sorted(chain, key=lambda i: i.sequence or 0):
            event, sequence = item.fact, item.sequence
            assert sequence is not None
            if isinstance(event, HackathonCreatedFact):
                s.phase_history[hackathon_id].set(sequence, "draft", item)
            elif isinstance(event, HackathonPhaseChangedFact):
                s.phase_history[hackathon_id].set(sequence, event.to_phase, item)


def hackathon(s: LogState, item: Item, hackathon_id: str) -> HackathonCreatedFact | None:
    """The hackathon ``item`` refers to; reported when the log never announced it."""
    found = s.hackathons.get(hackathon_id)
    if found is None:
        s.unknown(item, "hackathon", hackathon_id)
        return None
    return found[1]


def phase_at(s: LogState, hackathon_id: str, when: datetime) -> str | None:
    """The hackathon's phase at ``when`` by the clock; None before it was created."""
    found = s.hackathons.get(hackathon_id)
    if found is None or found[1].occurred_at > when:
        return None
    phase = "draft"
    for at, to_phase in s.phases.get(hackathon_id, []):
        if at <= when:
            phase = to_phase
    return phase
