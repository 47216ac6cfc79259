"""What the rule and reference checks learn of the log and share: the decoded events by type,
and the indexes each group builds for the next (accounts and their roles, hackathons and their
phases, judges and their declared conflicts, teams and their members, submissions). Each
group (a module of :mod:`audit.checks`) fills its part, reporting as it goes, in the order
:func:`audit.checks.run_checks` runs them.

Two ways to look at another service's state, as the docs say (docs/audit.md, Decisions): by
``occurred_at`` (each service's clock), and, for a decision that names the positions it was
taken on (``seen``), by sequence in the named aggregate's chain, through a :class:`History`
built once and looked up by bisection.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

from audit.facts import (
    AccountCreatedFact,
    AccountRolesChangedFact,
    Fact,
    HackathonCreatedFact,
    Seen,
    SubmissionReceivedFact,
)
from audit.reading import AGGREGATE_ORDER, Item

if TYPE_CHECKING:
    from audit.verifier import Verifier

F = TypeVar("F", bound=Fact)
T = TypeVar("T")


def occurred(item: Item) -> datetime:
    assert item.fact is not None
    return item.fact.occurred_at


class History(Generic[T]):
    """One aggregate's state after each of its events that changed it, by the event's
    sequence. The state at sequence S is the one after the last change at or before S (what
    a service had applied when it had read the aggregate up to S), found by bisection."""

    __slots__ = ("items", "sequences", "values")

    def __init__(self) -> None:
        self.sequences: list[int] = []
        self.values: list[T] = []
        self.items: list[Item] = []

    def set(self, sequence: int, value: T, item: Item) -> None:
        """The state after the event ``item`` at ``sequence``; called in sequence order."""
        assert not self.sequences or sequence >= self.sequences[-1]
        self.sequences.append(sequence)
        self.values.append(value)
        self.items.append(item)

    def at(self, sequence: int) -> tuple[T, Item] | None:
        """The state at ``sequence`` and the event that made it; None before the first."""
        index = bisect_right(self.sequences, sequence)
        if index == 0:
            return None
        return self.values[index - 1], self.items[index - 1]


Members = tuple[str, ...]  # a team's members, sorted


class TeamState(NamedTuple):
    members: Members
    withdrawn: bool


@dataclass(slots=True, eq=False)
class Team:
    item: Item
    hackathon_id: str
    challenge_id: str
    members: set[str] = field(default_factory=set)
    # Everyone who was a member at any time (registered with the team or joined it; leaving
    # does not take anyone out): whom the team's membership conflicts with.
    ever_members: set[str] = field(default_factory=set)
    # The members after each change, by ``occurred_at`` (in the order replayed).
    history: list[tuple[datetime, Members]] = field(default_factory=list)
    # The members and the withdrawal after each of the team's events, by the event's sequence
    # in the team's chain, for a decision's named team position.
    states: History[TeamState] = field(default_factory=History)
    withdrawn_at: datetime | None = None
    # One tuple per distinct member set, shared by both histories.
    _sets: dict[Members, Members] = field(default_factory=dict)

    def members_tuple(self, members: set[str]) -> Members:
        found = tuple(sorted(members))
        return self._sets.setdefault(found, found)

    def changed(self, when: datetime) -> None:
        """Record the members after a change at ``when``."""
        self.history.append((when, self.members_tuple(self.members)))

    def members_at(self, when: datetime) -> Members | None:
        found: Members | None = None
        for at, members in self.history:
            if at <= when:
                found = members
        return found

    def members_after(self, sequence: int) -> Members | None:
        """The members after the team's event ``sequence``; None when it has no such event
        (after two events with one sequence: the later one's)."""
        index = bisect_right(self.states.sequences, sequence)
        if index == 0 or self.states.sequences[index - 1] != sequence:
            return None
        return self.states.values[index - 1].members


class LogState:
    """The decoded events (duplicates and refused events left out) and what the checks
    learn of them, shared by every group."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.events: list[Item] = [
            i for i in verifier.items if i.fact is not None and not i.duplicate
        ]
        self.by_type: dict[type[Fact], list[Item]] = defaultdict(list)
        for item in self.events:
            assert item.fact is not None
            self.by_type[type(item.fact)].append(item)
        for items in self.by_type.values():
            if all(i.aggregate_id is not None and i.sequence is not None for i in items):
                items.sort(key=AGGREGATE_ORDER)
            else:
                items.sort(key=lambda i: (i.aggregate_id or "", i.sequence or 0))
        # accounts: per account its first AccountCreated, then any later one and its role
        # changes
        self.created: dict[str, AccountCreatedFact] = {}
        self.role_changes: dict[str, list[AccountCreatedFact | AccountRolesChangedFact]] = {}
        # hackathons: each one's creation, its phases by time and by sequence, its
        # participants' accounts, and when its results were published
        self.hackathons: dict[str, tuple[Item, HackathonCreatedFact]] = {}
        self.phases: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        self.phase_history: dict[str, History[str]] = defaultdict(History)
        self.participants: dict[str, set[str]] = {}
        self.results_at: dict[str, datetime] = {}
        # judges: per (hackathon, judge) the conflicts last declared, and the declared
        # conflicts after each enrolment or change, by sequence in the hackathon's chain
        self.judges: dict[tuple[str, str], frozenset[str]] = {}
        self.judge_history: dict[tuple[str, str], History[frozenset[str]]] = defaultdict(History)
        # teams, and per hackathon how many take part (as replayed)
        self.teams: dict[str, Team] = {}
        self.active_teams: dict[str, int] = defaultdict(int)
        # submissions: every version of each, and when each was withdrawn
        self.submissions: dict[str, list[tuple[Item, SubmissionReceivedFact]]] = defaultdict(list)
        self.withdrawals: dict[str, datetime] = {}
        # id(item) -> its positions in the log, for a decision naming one the log lacks (the
        # others name only positions in the log: their ``seen``).
        self.named_facts: dict[int, list[Seen]] = {}

    def of(self, cls: type[F]) -> Iterator[tuple[Item, F]]:
        """The events of fact class ``cls``, by aggregate and sequence."""
        for item in self.by_type.get(cls, []):
            assert isinstance(item.fact, cls)
            yield item, item.fact

    def report(
        self, check: str, kind: str, message: str, item: Item, related: Item | None = None
    ) -> None:
        self.verifier.report(check, kind, message, item, related)

    def unknown(self, item: Item, what: str, ident: str) -> None:
        self.report(
            "reference",
            "unknown-reference",
            f"refers to {what} {ident}, which no event in the log announced",
            item,
        )
