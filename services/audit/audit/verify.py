"""Verification of the event log, without trusting any service or its database.

Input: the log records (from the broker or an export), in any order, fed one at a time to a
:class:`Verifier` (or all at once to :func:`verify`); the checks run in log order (topic,
partition, offset). Output: a :class:`Report` whose findings each name the record that
shows the problem. Five groups of checks:

``schema``
    Every record of an event topic is a valid catalogue event (JSON object, known type and
    version, every field valid), published on its producer's topic, keyed by its aggregate
    id, whose ``aggregate_id`` matches the payload, and without personal data in the payload.
``chain``
    Per aggregate (one topic's events with one ``aggregate_id``): every hash is SHA-256 over
    the canonical JSON of the event *as read from the log* (the raw JSON, parsed and
    canonicalised, not the decoded model re-serialised), sequences run 1, 2, 3... without
    gaps, repeats or reordering, each ``prev_hash`` is the hash of the previous sequence, an
    ``event_id`` is never seen twice, and one aggregate stays in one partition.
``reference``
    Entities referred to were announced: accounts, hackathons, teams, participants,
    submissions, judges, and the events named as ``causation_id`` or ``causing_event_id``.
``rule``
    Domain rules visible in the log: phases forward one step at a time, changed by an
    organizer; teams formed and changed in registration or hacking, within their size, one
    team per participant; submissions in hacking, before the deadline, by a member of a team
    big enough, one per team (an older submission naming the team's members: those of the
    team event it names); judges assigned and scoring in judging only, never with a
    declared conflict, scores by assigned judges only, with values on the rubric's scales
    and the announced total equal to the weighted mean; results published once, in judging,
    by an organizer. A decision that names the positions it was taken on (``seen``) is
    replayed at them: the state of each named aggregate as of the named sequence must allow
    it (``decided-on-forbidden-state``), and each named position must be in the log
    (``seen-unknown-position``, a reference finding).
``results``
    The leaderboard and awards recomputed (:mod:`audit.ranking`) from the rubric, the
    submissions and the valid scores before publication, compared with what each
    ``ResultsPublished`` announced.

Events from different services are not ordered by the log; rules that relate them (a score
and the hackathon's phase, a submission and the team's members) compare ``occurred_at``, the
time each service recorded for its decision, and, for a decision that names its positions,
the state at those positions: per aggregate, the state after each of its events by sequence,
built once and looked up by bisection. See docs/audit.md for what that implies.

Streaming: each record is read once, as it arrives (:mod:`audit.reading`): what the record
shows by itself (its JSON, its hash over the canonical form, its schema, its envelope) is
decided then, and its value and decoded model are dropped; what is kept is an ``Item`` with
the small :mod:`audit.facts` fact the rules need. The checks that relate records
(duplicates, chains, references, rules, results) run here, over the items, once every record
is in; each aggregate's chain is gathered as its records arrive.
"""

from __future__ import annotations

import contextlib
import gc
import math
import uuid
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from audit.facts import (
    SEEN_TYPES,
    TEAM_CHANGES,
    AccountCreatedFact,
    AccountErasedFact,
    AccountRolesChangedFact,
    Fact,
    HackathonCreatedFact,
    HackathonPhaseChangedFact,
    JudgeAssignedFact,
    JudgeEnrolledFact,
    NotificationFailedFact,
    NotificationSentFact,
    ParticipantRegisteredFact,
    ResultsPublishedFact,
    ScoreSubmittedFact,
    Seen,
    SeenFacts,
    SubmissionReceivedFact,
    SubmissionWithdrawnFact,
    TeamChange,
    TeamMemberJoinedFact,
    TeamMemberLeftFact,
    TeamRegisteredFact,
    TeamWithdrawnFact,
)
from audit.log import Record, logical_topic
from audit.progress import Progress
from audit.ranking import (
    Competitor,
    JudgeScore,
    entry_differences,
    judge_total,
    method_differences,
    recompute_awards,
    recompute_ranking,
)
from audit.reading import (
    AGGREGATE_ORDER,
    ENVELOPE,
    GENESIS,
    LOG_ORDER,
    READ,
    Item,
    read_record,
)
from audit.report import EventRef, Finding, Report, ResultsCheck
from hackathon_shared.events.catalogue import (
    phase_index,
)
from hackathon_shared.signing import SignatureRefused, TrustedKeys, text_headers
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER

SYSTEM_ACTOR = "system"  # registration's actor for the finish caused by published results
SCORE_TOLERANCE = 1e-4  # published scores have 4 decimals
TOTAL_TOLERANCE = 1e-9
CHECK_ORDER = ("schema", "signature", "chain", "reference", "rule", "results")
PRODUCER_OF_TOPIC = {topic: producer for producer, topic in EVENTS_TOPIC_OF_PRODUCER.items()}

F = TypeVar("F", bound=Fact)
T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# The auditor
# --------------------------------------------------------------------------------------------


class _Positions:
    """One aggregate's records by sequence (the first in log order of each sequence): the
    chain itself when it holds 1, 2, 3... in order, as a clean log does; else a dict."""

    __slots__ = ("by_sequence", "chain", "top")

    def __init__(self, chain: list[Item]) -> None:
        self.chain = chain
        self.by_sequence: dict[int, Item] | None = None
        if any(item.sequence != number for number, item in enumerate(chain, start=1)):
            self.by_sequence = {}
            for item in chain:
                assert item.sequence is not None
                self.by_sequence.setdefault(item.sequence, item)
            self.top = max(self.by_sequence)
        else:
            self.top = len(chain)

    def __contains__(self, sequence: int) -> bool:
        if self.by_sequence is not None:
            return sequence in self.by_sequence
        return 1 <= sequence <= self.top

    def get(self, sequence: int) -> Item:
        if self.by_sequence is not None:
            return self.by_sequence[sequence]
        return self.chain[sequence - 1]


class Verifier:
    """Every check over a log fed record by record, in any order (``feed``), then
    ``result()``. Holds one small :class:`Item` per record of an event topic."""

    def __init__(
        self,
        hackathons: Iterable[str] | None = None,
        progress: Progress | None = None,
        keys: TrustedKeys | None = None,
    ) -> None:
        self.scope = set(hackathons) if hackathons else None
        # The producers' public keys: each event's signature is checked against them, and
        # the report says which key signed how many events. None: not checked (said so).
        self.keys = keys
        self.signed_by: Counter[str] = Counter()
        self.progress = progress
        self.records = 0
        self.findings: list[Finding] = []
        self.results: list[ResultsCheck] = []
        self.items: list[Item] = []
        # Per (logical) topic and aggregate, the records that have a sequence, as read.
        self.chains: dict[str, dict[str, list[Item]]] = {}
        self.all_event_ids: Container[str] = frozenset()
        self.first_of: dict[str, Item] = {}
        self.flagged: set[str] = set()  # event ids with a rule or reference finding
        # The (topic, aggregate)s that decisions name in ``seen``, each with its records by
        # sequence, over the whole log (before the scope): what ``seen`` may name. The first
        # record of a sequence.
        self.positions: dict[tuple[str, str], _Positions] = {}
        self.wanted: set[str] | None = None  # the aggregates in the scope

    def report(
        self,
        check: str,
        kind: str,
        message: str,
        item: Item,
        related: Item | None = None,
    ) -> None:
        self.findings.append(
            Finding(check, kind, message, item.ref(), related.ref() if related else None)
        )
        if check in ("rule", "reference") and item.event_id:
            self.flagged.add(item.event_id)

    # -- reading, one record at a time ----------------------------------------------------------

    def feed_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.feed(record)

    def feed(self, record: Record) -> None:
        """Read one record: what it shows by itself is decided now; its value is not kept."""
        self.records += 1
        if self.progress is not None:
            self.progress.advance()
        topic = logical_topic(record.topic)
        if topic is None:
            return
        item = read_record(record, topic, scoped=self.scope is not None)
        if self.keys is not None:
            self._check_signature(item, record, topic)
        self.items.append(item)
        if item.aggregate_id is None or item.sequence is None or item.refused:
            return
        # A link of its aggregate's chain.
        chain = self.chains.setdefault(topic, {}).setdefault(item.aggregate_id, [])
        # As it should be, one value for the link and the hash it links to.
        if chain and chain[-1].hash == item.prev_hash:
            item.prev_hash = chain[-1].hash
        chain.append(item)

    def _check_signature(self, item: Item, record: Record, topic: str) -> None:
        """Whether the event's producer signed it: a trusted key of the service whose topic
        it is on, over its hash. An event whose hash does not match is a chain finding."""
        assert self.keys is not None
        if item.aggregate_id is None or item.sequence is None or not item.hash_ok:
            return
        producer = PRODUCER_OF_TOPIC.get(topic, "")
        try:
            key_id = self.keys.check_signature(
                item.hash.hex(), text_headers(record.headers), producer
            )
        except SignatureRefused as refused:
            item.note(ENVELOPE, "signature", refused.kind, f"not written by {producer}: {refused}")
            # Reported, and left out of everything else: its chain, its event id (a forgery
            # reusing a real event's id must not make the real one a "duplicate"), the rules
            # and the recomputed results, as the consumers never applied it.
            item.refused = True
            item.fact = None
            return
        self.signed_by[key_id] += 1

    def _emit(self, item: Item, when: int) -> None:
        for at, check, kind, message in item.notes or ():
            if at == when:
                self.report(check, kind, message, item)

    # -- once every record is in ----------------------------------------------------------------

    def result(self, *, source: str = "log", missing_topics: Iterable[str] = ()) -> Report:
        """Run the checks that relate records, and return the report."""
        self.in_log_order()
        self.index_positions()
        self.apply_scope()
        self.check_envelopes()
        aggregates = self.check_chains()
        _Domain(self).run()
        self.findings.sort(
            key=lambda f: (
                (f.event.topic, f.event.partition, f.event.offset),
                CHECK_ORDER.index(f.check),
                f.kind,
            )
        )
        events = sum(1 for i in self.items if i.fact is not None and not i.duplicate)
        return Report(
            source=source,
            records=self.records,
            events=events,
            aggregates=aggregates,
            scope=sorted(self.scope) if self.scope else [],
            missing_topics=list(missing_topics),
            findings=self.findings,
            results=self.results,
            signatures_checked=self.keys is not None,
            signed_by=dict(sorted(self.signed_by.items())),
        )

    def in_log_order(self) -> None:
        """Put the items in log order (stable: of two records at one position, the first read
        stays); a second record at a position is reported and left out."""
        self.items.sort(key=LOG_ORDER)
        kept: list[Item] = []
        previous: tuple[str, int, int] | None = None
        for item in self.items:
            place = item.log_order()
            if place == previous:
                self.findings.append(
                    Finding(
                        "schema",
                        "duplicate-position",
                        f"a second record at {item.ref().position}: a log position holds one "
                        "record",
                        EventRef(item.topic, item.partition, item.offset),
                    )
                )
                item.dropped()  # as if never read: in no chain, index or rule
                continue
            previous = place
            kept.append(item)
            self._emit(item, READ)
        self.items = kept

    def index_positions(self) -> None:
        """Every event id of the log (with the first record that has it), each aggregate's
        records in log order, and the records of each aggregate a decision names."""
        first_of: dict[str, Item] = {}
        named: set[tuple[str, str]] = set()
        for item in self.items:
            if item.event_id is not None and item.digest is not None and not item.refused:
                first_of.setdefault(item.event_id, item)  # parsed, and not refused
            if isinstance(item.fact, SeenFacts):
                for fact in item.fact.seen:
                    named.add((EVENTS_TOPIC_OF_PRODUCER[fact.producer], fact.aggregate_id))
        self.all_event_ids = self.first_of = first_of
        for topic, chains in self.chains.items():
            for aggregate_id, chain in chains.items():
                chain[:] = [i for i in chain if i.aggregate_id is not None]  # not left out
                chain.sort(key=LOG_ORDER)  # as read: mostly in order already
                if chain and (topic, aggregate_id) in named:
                    self.positions[(topic, aggregate_id)] = _Positions(chain)

    # -- scope --------------------------------------------------------------------------------

    def apply_scope(self) -> None:
        if self.scope is None:
            return
        wanted: set[str] = set(self.scope)

        def take_references(item: Item) -> None:
            if item.aggregate_id:
                wanted.add(item.aggregate_id)
            assert item.scope is not None
            wanted.update(item.scope.references)

        scoped = [i for i in self.items if i.scope is not None]
        for item in scoped:
            assert item.scope is not None
            if item.scope.hackathon_id in self.scope:
                take_references(item)
        scoped_ids = {i.event_id for i in self.items if i.aggregate_id in wanted and i.event_id}
        for item in scoped:
            assert item.scope is not None
            if item.scope.causing_event_id in scoped_ids:
                take_references(item)
        self.items = [i for i in self.items if i.aggregate_id is None or i.aggregate_id in wanted]
        self.wanted = wanted
        seen = {i.scope.hackathon_id for i in self.items if i.scope is not None} | {
            i.aggregate_id for i in self.items
        }
        for hackathon_id in sorted(self.scope - seen):
            self.findings.append(
                Finding(
                    "reference",
                    "unknown-hackathon",
                    f"no event of hackathon {hackathon_id} is in the log",
                    EventRef("-", 0, 0),
                )
            )

    # -- envelope and chains --------------------------------------------------------------------

    def check_envelopes(self) -> None:
        # Without a scope, the first record of each event id over the whole log; with one,
        # over the records in the scope.
        first_of = self.first_of if self.scope is None else {}
        for item in self.items:
            if item.digest is None:  # not parsed
                continue
            if item.refused:  # its signature finding, and nothing else
                self._emit(item, ENVELOPE)
                continue
            event_id = item.event_id
            if event_id is not None:
                first = first_of.setdefault(event_id, item)
                if first is not item:
                    item.duplicate = True
                    same = first.digest == item.digest
                    self.report(
                        "chain",
                        "duplicate-event",
                        (
                            "an identical copy of an event already in the log"
                            if same
                            else "an event_id already used by a different event"
                        ),
                        item,
                        first,
                    )
                    continue
            self._emit(item, ENVELOPE)

    def check_chains(self) -> int:
        aggregates = 0
        for chains in self.chains.values():
            for aggregate_id, chain in chains.items():
                if self.wanted is not None and aggregate_id not in self.wanted:
                    continue
                links = [i for i in chain if not i.duplicate]
                if links:
                    aggregates += 1
                    self._check_chain(links)
        return aggregates

    def _check_chain(self, chain: list[Item]) -> None:
        first = chain[0]
        if all(
            i.sequence == n and i.partition == first.partition and i.topic == first.topic
            for n, i in enumerate(chain, start=1)
        ):
            self._check_clean_chain(chain)
            return
        partitions = sorted({(i.topic, i.partition) for i in chain})
        if len(partitions) > 1:
            self.report(
                "chain",
                "split-aggregate",
                f"the aggregate's events are on {len(partitions)} partitions; "
                "its order is then not guaranteed",
                chain[-1],
                chain[0],
            )
        by_sequence: dict[int, Item] = {}
        highest: Item | None = None
        for item in chain:
            sequence = item.sequence
            assert sequence is not None
            if not item.hash_ok:
                self.report(
                    "chain",
                    "hash-mismatch",
                    "the hash does not match the event as stored: it was changed after it was "
                    "sealed",
                    item,
                )
            if sequence in by_sequence:
                self.report(
                    "chain",
                    "duplicate-sequence",
                    f"a second event with sequence {sequence} in this aggregate",
                    item,
                    by_sequence[sequence],
                )
                continue
            if highest is not None and sequence < (highest.sequence or 0):
                self.report(
                    "chain",
                    "reordered",
                    f"sequence {sequence} comes after sequence {highest.sequence} in the log",
                    item,
                    highest,
                )
            by_sequence[sequence] = item
            if highest is None or sequence > (highest.sequence or 0):
                highest = item
        if not by_sequence:
            return
        top = max(by_sequence)
        missing = [n for n in range(1, top + 1) if n not in by_sequence]
        for hole in _runs(missing):
            after = by_sequence[hole[-1] + 1]
            span = f"{hole[0]}" if len(hole) == 1 else f"{hole[0]}-{hole[-1]}"
            self.report(
                "chain",
                "missing-sequence",
                f"sequence {span} of this aggregate is missing from the log (deleted?)",
                after,
            )
        for sequence, item in sorted(by_sequence.items()):
            if sequence == 1:
                expected: Any = GENESIS
            elif sequence - 1 in by_sequence:
                expected = by_sequence[sequence - 1].hash
            else:
                continue  # reported as missing
            if item.prev_hash != expected:
                self.report(
                    "chain",
                    "chain-break",
                    "prev_hash is not the hash of the previous event of this aggregate"
                    if sequence > 1
                    else "the first event of an aggregate must link to the genesis hash",
                    item,
                    by_sequence.get(sequence - 1),
                )

    def _check_clean_chain(self, chain: list[Item]) -> None:
        """``_check_chain`` for a chain on one partition whose sequences run 1, 2, 3... in log
        order (no repeat, gap or reordering is then possible): the hashes and the links."""
        for item in chain:
            if not item.hash_ok:
                self.report(
                    "chain",
                    "hash-mismatch",
                    "the hash does not match the event as stored: it was changed after it was "
                    "sealed",
                    item,
                )
        expected: Any = GENESIS
        before: Item | None = None
        for item in chain:
            if item.prev_hash != expected:
                self.report(
                    "chain",
                    "chain-break",
                    "prev_hash is not the hash of the previous event of this aggregate"
                    if before is not None
                    else "the first event of an aggregate must link to the genesis hash",
                    item,
                    before,
                )
            expected, before = item.hash, item


def _occurred(item: Item) -> datetime:
    assert item.fact is not None
    return item.fact.occurred_at


def _runs(numbers: list[int]) -> Iterator[list[int]]:
    run: list[int] = []
    for n in numbers:
        if run and n != run[-1] + 1:
            yield run
            run = []
        run.append(n)
    if run:
        yield run


class _History(Generic[T]):
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


class _TeamState(NamedTuple):
    members: Members
    withdrawn: bool


@dataclass(slots=True, eq=False)
class _Team:
    item: Item
    hackathon_id: str
    challenge_id: str
    members: set[str] = field(default_factory=set)
    # The members after each change, by ``occurred_at`` (in the order replayed).
    history: list[tuple[datetime, Members]] = field(default_factory=list)
    # The members and the withdrawal after each of the team's events, by the event's sequence
    # in the team's chain, for a decision's named team position.
    states: _History[_TeamState] = field(default_factory=_History)
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


class _Domain:
    """The rules and references, over the decoded events (duplicates left out)."""

    def __init__(self, auditor: Verifier) -> None:
        self.a = auditor
        self.events: list[Item] = [
            i for i in auditor.items if i.fact is not None and not i.duplicate
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
        self.hackathons: dict[str, tuple[Item, HackathonCreatedFact]] = {}
        self.phases: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
        # Per account its first AccountCreated, then any later one and its role changes.
        self.created: dict[str, AccountCreatedFact] = {}
        self.role_changes: dict[str, list[AccountCreatedFact | AccountRolesChangedFact]] = {}
        self.participants: dict[str, set[str]] = {}  # per hackathon, its participants' accounts
        self.judges: dict[tuple[str, str], frozenset[str]] = {}
        self.teams: dict[str, _Team] = {}
        self.submissions: dict[str, list[tuple[Item, SubmissionReceivedFact]]] = defaultdict(list)
        self.withdrawals: dict[str, datetime] = {}
        self.results_at: dict[str, datetime] = {}
        self.active_teams: dict[str, int] = defaultdict(int)  # per hackathon, as replayed
        # States by sequence, for the positions decisions name (``seen``).
        self.phase_history: dict[str, _History[str]] = defaultdict(_History)
        self.judge_history: dict[tuple[str, str], _History[frozenset[str]]] = defaultdict(_History)
        # id(item) -> its positions in the log, for a decision naming one the log lacks (the
        # others name only positions in the log: their ``seen``).
        self.named_facts: dict[int, list[Seen]] = {}

    def of(self, cls: type[F]) -> Iterator[tuple[Item, F]]:
        for item in self.by_type.get(cls, []):
            assert isinstance(item.fact, cls)
            yield item, item.fact

    def report(
        self, check: str, kind: str, message: str, item: Item, related: Item | None = None
    ) -> None:
        self.a.report(check, kind, message, item, related)

    def run(self) -> None:
        self.accounts()
        self.hackathon_phases()
        self.registrations()
        self.hackathon_histories()
        self.team_changes()
        self.seen_positions()
        self.received_submissions()
        scores = self.judging()
        self.published_results(scores)
        self.notifications_and_causes()

    # accounts and roles
    def accounts(self) -> None:
        for _item, created in self.of(AccountCreatedFact):
            if self.created.setdefault(created.account_id, created) is not created:
                self.role_changes.setdefault(created.account_id, []).append(created)
        for item, changed in self.of(AccountRolesChangedFact):
            account = changed.account_id
            if not self.is_account(account):
                self.unknown(item, "account", account)
            self.role_changes.setdefault(account, []).append(changed)
        for item, erased in self.of(AccountErasedFact):
            if not self.is_account(erased.account_id):
                self.unknown(item, "account", erased.account_id)

    def is_account(self, account_id: str) -> bool:
        """Announced by an AccountCreated, or named by a role change (reported once)."""
        return account_id in self.created or account_id in self.role_changes

    def known_account(self, item: Item, account_id: str) -> bool:
        if self.is_account(account_id):
            return True
        self.unknown(item, "account", account_id)
        return False

    def is_organizer(self, account_id: str, when: datetime) -> bool:
        first = self.created.get(account_id)
        entries = ([first] if first is not None else []) + self.role_changes.get(account_id, [])
        roles: tuple[str, ...] = ()
        for entry in sorted(entries, key=lambda e: e.occurred_at):
            if entry.occurred_at <= when:
                roles = entry.roles
        return "organizer" in roles

    def require_organizer(self, item: Item, actor: str, what: str) -> None:
        if not self.known_account(item, actor):
            return
        if not self.is_organizer(actor, _occurred(item)):
            self.report("rule", "not-organizer", f"{what} by {actor}, not an organizer", item)

    def unknown(self, item: Item, what: str, ident: str) -> None:
        self.report(
            "reference",
            "unknown-reference",
            f"refers to {what} {ident}, which no event in the log announced",
            item,
        )

    # hackathons
    def hackathon_phases(self) -> None:
        for item, created in self.of(HackathonCreatedFact):
            self.hackathons[created.hackathon_id] = (item, created)
            self.require_organizer(item, created.created_by, "hackathon created")
        results = {e.hackathon_id for _, e in self.of(ResultsPublishedFact)}
        ids = {i.event_id for i, _ in self.of(ResultsPublishedFact)}
        current: dict[str, str] = {}
        for item, changed in self.of(HackathonPhaseChangedFact):
            p = changed
            if p.hackathon_id not in self.hackathons:
                self.unknown(item, "hackathon", p.hackathon_id)
                continue
            phase = current.get(p.hackathon_id, "draft")
            step_ok = p.from_phase == phase and phase_index(p.to_phase) == phase_index(phase) + 1
            if not step_ok:
                self.report(
                    "rule",
                    "phase-order",
                    f"phase {p.from_phase} -> {p.to_phase} while the hackathon was in {phase}; "
                    "phases move forward one step at a time",
                    item,
                )
            current[p.hackathon_id] = p.to_phase
            self.phases[p.hackathon_id].append((changed.occurred_at, p.to_phase))
            if p.changed_by == SYSTEM_ACTOR and p.to_phase == "finished":
                if p.hackathon_id not in results or changed.causation_id not in ids:
                    self.report(
                        "rule",
                        "phase-order",
                        "finished by the system without published results causing it",
                        item,
                    )
            else:
                self.require_organizer(item, p.changed_by, "phase changed")

    def hackathon(self, item: Item, hackathon_id: str) -> HackathonCreatedFact | None:
        found = self.hackathons.get(hackathon_id)
        if found is None:
            self.unknown(item, "hackathon", hackathon_id)
            return None
        return found[1]

    def phase_at(self, hackathon_id: str, when: datetime) -> str | None:
        found = self.hackathons.get(hackathon_id)
        if found is None or found[1].occurred_at > when:
            return None
        phase = "draft"
        for at, to_phase in self.phases.get(hackathon_id, []):
            if at <= when:
                phase = to_phase
        return phase

    # positions named by decisions (``seen``)
    def hackathon_histories(self) -> None:
        """Per hackathon, its phase after each event that set it, and per enrolled judge the
        conflicts after each enrolment, by sequence in the hackathon's chain: the order in
        which registration decided them, which is what a named position counts."""
        chains: dict[str, list[Item]] = defaultdict(list)
        for cls in (HackathonCreatedFact, HackathonPhaseChangedFact, JudgeEnrolledFact):
            for item in self.by_type.get(cls, []):
                if item.aggregate_id is not None and item.sequence is not None:
                    chains[item.aggregate_id].append(item)
        for hackathon_id, chain in chains.items():
            for item in sorted(chain, key=lambda i: i.sequence or 0):
                event, sequence = item.fact, item.sequence
                assert sequence is not None
                if isinstance(event, HackathonCreatedFact):
                    self.phase_history[hackathon_id].set(sequence, "draft", item)
                elif isinstance(event, HackathonPhaseChangedFact):
                    self.phase_history[hackathon_id].set(sequence, event.to_phase, item)
                elif isinstance(event, JudgeEnrolledFact):
                    key = (hackathon_id, event.judge_id)
                    self.judge_history[key].set(sequence, frozenset(event.conflicts), item)

    def seen_positions(self) -> None:
        """Every position a decision names is in the log (and, on the decision's own chain,
        before it); those that are are kept for the rules replayed at them."""
        for cls in SEEN_TYPES:
            for item in self.by_type.get(cls, []):
                event = item.fact
                assert isinstance(
                    event,
                    SubmissionReceivedFact
                    | SubmissionWithdrawnFact
                    | JudgeAssignedFact
                    | ScoreSubmittedFact
                    | ResultsPublishedFact,
                )
                facts = event.seen
                own = (item.logical_topic, item.aggregate_id)
                found = [f for f in facts if self.in_log(item, f, own)]
                if len(found) < len(facts):
                    self.named_facts[id(item)] = found

    def in_log(self, item: Item, fact: Seen, chain_of_item: tuple[str, str | None]) -> bool:
        key = (EVENTS_TOPIC_OF_PRODUCER[fact.producer], fact.aggregate_id)
        chain = self.a.positions.get(key)
        related: Item | None = None
        own = key == chain_of_item
        before_own = not own or fact.sequence < (item.sequence or 0)
        if chain is not None and before_own and fact.sequence in chain:
            return True
        name = f"{fact.producer}/{fact.aggregate_id} #{fact.sequence}"
        if chain is None:
            problem = f"it names {name}, an aggregate of which the log holds no event"
        elif not before_own:
            problem = f"it names {name}, its own aggregate, not before its own #{item.sequence}"
        else:
            top = chain.top
            related = chain.get(top)
            problem = (
                f"it names {name}, but the log holds that aggregate's events up to #{top}"
                if fact.sequence > top
                else f"it names {name}, which is missing from the log"
            )
        self.report(
            "reference",
            "seen-unknown-position",
            f"{problem}: a decision cannot have seen a fact that is not in the log before it",
            item,
            related,
        )
        return False

    def named(self, item: Item, producer: str, aggregate_id: str) -> list[Seen]:
        """The positions in the log that ``item`` names of ``producer``'s ``aggregate_id``."""
        facts = self.named_facts.get(id(item))
        if facts is None:
            assert isinstance(item.fact, SeenFacts)
            facts = list(item.fact.seen)
        return [f for f in facts if f.producer == producer and f.aggregate_id == aggregate_id]

    def forbidden(self, item: Item, fact: Seen, reasons: list[str], related: Item | None) -> None:
        self.report(
            "rule",
            "decided-on-forbidden-state",
            f"decided on {fact.producer}/{fact.aggregate_id} #{fact.sequence}, where "
            + "; ".join(reasons),
            item,
            related,
        )

    def phases_named(self, item: Item, hackathon_id: str) -> Iterator[tuple[Seen, str, Item]]:
        """For each named position of the hackathon: the phase then and the event that set it."""
        history = self.phase_history.get(hackathon_id)
        for fact in self.named(item, "registration", hackathon_id):
            at = history.at(fact.sequence) if history is not None else None
            if at is not None:
                yield fact, at[0], at[1]

    def submission_positions(
        self, item: Item, received: SubmissionReceivedFact, hackathon: HackathonCreatedFact | None
    ) -> set[str]:
        """Replay a submission at its named positions: the hackathon in hacking; the team
        active, the submitter a member, at least ``min_team_size`` members. Returns the rules
        broken there (``phase``, ``withdrawn``, ``member``, ``size``)."""
        p = received
        broken: set[str] = set()
        for fact, phase, changed in self.phases_named(item, p.hackathon_id):
            if phase != "hacking":
                broken.add("phase")
                reason = f"the hackathon was in phase {phase}; submissions are accepted in hacking"
                self.forbidden(item, fact, [reason], changed)
        team = self.teams.get(p.team_id)
        for fact in self.named(item, "registration", p.team_id):
            at = team.states.at(fact.sequence) if team is not None else None
            if at is None:
                continue
            state, last = at
            reasons: list[str] = []
            if state.withdrawn:
                broken.add("withdrawn")
                reasons.append(f"team {p.team_id} had withdrawn")
            if p.submitted_by not in state.members:
                broken.add("member")
                reasons.append(
                    f"{p.submitted_by} was not a member of team {p.team_id} "
                    f"(members {sorted(state.members)})"
                )
            if hackathon is not None and len(state.members) < hackathon.min_team_size:
                broken.add("size")
                reasons.append(
                    f"the team had {len(state.members)} members; at least "
                    f"{hackathon.min_team_size} are needed to submit"
                )
            if reasons:
                self.forbidden(item, fact, reasons, last)
        return broken

    def judging_positions(
        self, item: Item, hackathon_id: str, judge_id: str, what: str
    ) -> tuple[bool, frozenset[str]]:
        """Replay a judging decision at its named hackathon positions: the hackathon in
        judging, the judge enrolled. Returns whether the phase was wrong there, and the
        judge's declared conflicts as of those positions."""
        phase_broken = False
        conflicts: set[str] = set()
        phases = self.phase_history.get(hackathon_id)
        enrolment = self.judge_history.get((hackathon_id, judge_id))
        for fact in self.named(item, "registration", hackathon_id):
            reasons: list[str] = []
            related: Item | None = None
            at = phases.at(fact.sequence) if phases is not None else None
            if at is not None and at[0] != "judging":
                phase_broken = True
                related = at[1]
                reasons.append(f"the hackathon was in phase {at[0]}; {what} in judging only")
            if enrolment is not None:  # never enrolled at all: an unknown reference
                enrolled = enrolment.at(fact.sequence)
                if enrolled is None:
                    reasons.append(
                        f"judge {judge_id} was not enrolled yet (enrolled at "
                        f"#{enrolment.sequences[0]})"
                    )
                    related = related or enrolment.items[0]
                else:
                    conflicts |= enrolled[0]
            if reasons:
                self.forbidden(item, fact, reasons, related)
        return phase_broken, frozenset(conflicts)

    # registration: participants, judges, teams
    def registrations(self) -> None:
        for item, registered in self.of(ParticipantRegisteredFact):
            p = registered
            self.hackathon(item, p.hackathon_id)
            self.known_account(item, p.account_id)
            self.participants.setdefault(p.hackathon_id, set()).add(p.account_id)
        for item, enrolled in self.of(JudgeEnrolledFact):
            j = enrolled
            self.hackathon(item, j.hackathon_id)
            self.known_account(item, j.judge_id)
            self.judges[(j.hackathon_id, j.judge_id)] = frozenset(j.conflicts)

    def team_changes(self) -> None:
        changes: list[Item] = [i for cls in TEAM_CHANGES for i in self.by_type.get(cls, [])]
        changes.sort(key=lambda i: (_occurred(i), i.aggregate_id or "", i.sequence or 0))
        team_of: dict[tuple[str, str], str] = {}
        for item in changes:
            event = item.fact
            assert event is not None
            when = event.occurred_at
            if isinstance(event, TeamRegisteredFact):
                p = event
                hackathon = self.hackathon(item, p.hackathon_id)
                team = _Team(item, p.hackathon_id, p.challenge_id)
                replaced = self.teams.get(p.team_id)
                if replaced is not None and replaced.withdrawn_at is None:
                    self.active_teams[replaced.hackathon_id] -= 1
                self.teams[p.team_id] = team
                self.active_teams[p.hackathon_id] += 1
                if hackathon is not None and p.challenge_id not in hackathon.challenge_ids:
                    self.unknown(item, "challenge", p.challenge_id)
                if p.captain_id not in p.members:
                    self.report("rule", "team-membership", "the captain is not a member", item)
                for account in p.members:
                    self.join(item, team, account, team_of, p.team_id)
                self.check_team_phase(item, p.hackathon_id, when, "team formed")
                self.check_size(item, team, hackathon)
                self.check_capacity(item, p.hackathon_id, hackathon)
                team.changed(when)
                continue
            assert isinstance(event, TeamChange)
            team_id = event.team_id
            found = self.teams.get(team_id)
            if found is None:
                self.unknown(item, "team", team_id)
                continue
            hackathon = self.hackathon(item, found.hackathon_id)
            if isinstance(event, TeamMemberJoinedFact):
                self.join(item, found, event.account_id, team_of, team_id)
                self.check_team_phase(item, found.hackathon_id, when, "member joined")
                self.check_size(item, found, hackathon)
            elif isinstance(event, TeamMemberLeftFact):
                account = event.account_id
                if account not in found.members:
                    self.report(
                        "rule", "team-membership", f"{account} left without being a member", item
                    )
                found.members.discard(account)
                team_of.pop((found.hackathon_id, account), None)
            elif isinstance(event, TeamWithdrawnFact):
                if found.withdrawn_at is None:
                    self.active_teams[found.hackathon_id] -= 1
                found.withdrawn_at = when
                for account in found.members:
                    team_of.pop((found.hackathon_id, account), None)
            found.changed(when)
        self.team_chains(changes)

    def team_chains(self, changes: list[Item]) -> None:
        """Each team's members after each of its events, replayed in the chain's own order (a
        consumer applies them so), which ``occurred_at`` need not follow across replicas."""
        chains: dict[str, list[Item]] = defaultdict(list)
        for item in changes:
            if item.sequence is not None and item.fact is not None:
                assert isinstance(item.fact, TeamChange)
                chains[item.fact.team_id].append(item)
        for team_id, chain in chains.items():
            team = self.teams.get(team_id)
            if team is None:
                continue
            members: set[str] = set()
            withdrawn = False
            for item in sorted(chain, key=lambda i: i.sequence or 0):
                event = item.fact
                if isinstance(event, TeamRegisteredFact):
                    members = set(event.members)
                elif isinstance(event, TeamMemberJoinedFact):
                    members.add(event.account_id)
                elif isinstance(event, TeamMemberLeftFact):
                    members.discard(event.account_id)
                elif isinstance(event, TeamWithdrawnFact):
                    withdrawn = True
                assert item.sequence is not None
                state = _TeamState(team.members_tuple(members), withdrawn)
                team.states.set(item.sequence, state, item)

    def join(
        self,
        item: Item,
        team: _Team,
        account: str,
        team_of: dict[tuple[str, str], str],
        team_id: str,
    ) -> None:
        if account not in self.participants.get(team.hackathon_id, ()):
            self.unknown(item, f"participant of {team.hackathon_id}", account)
        other = team_of.get((team.hackathon_id, account))
        if other is not None and other != team_id:
            self.report(
                "rule",
                "member-in-two-teams",
                f"{account} joined while a member of team {other} of the same hackathon",
                item,
            )
        team_of[(team.hackathon_id, account)] = team_id
        team.members.add(account)

    def check_team_phase(self, item: Item, hackathon_id: str, when: datetime, what: str) -> None:
        phase = self.phase_at(hackathon_id, when)
        if phase is not None and phase not in ("registration", "hacking"):
            self.report(
                "rule",
                "team-change-outside-phase",
                f"{what} in phase {phase}; teams form and change in registration and hacking",
                item,
            )

    def check_capacity(
        self, item: Item, hackathon_id: str, hackathon: HackathonCreatedFact | None
    ) -> None:
        """A team formed while the hackathon already had ``max_teams`` teams taking part
        (a withdrawn team frees its place)."""
        if hackathon is None:
            return
        active = self.active_teams[hackathon_id]
        if active > hackathon.max_teams:
            self.report(
                "rule",
                "hackathon-over-capacity",
                f"the hackathon has {active} teams taking part; at most "
                f"{hackathon.max_teams} are allowed",
                item,
            )

    def check_size(self, item: Item, team: _Team, hackathon: HackathonCreatedFact | None) -> None:
        if hackathon is not None and len(team.members) > hackathon.max_team_size:
            self.report(
                "rule",
                "team-over-size",
                f"the team has {len(team.members)} members; at most "
                f"{hackathon.max_team_size} are allowed",
                item,
            )

    # submissions
    def check_submission_members(
        self, item: Item, received: SubmissionReceivedFact, team: _Team
    ) -> None:
        """The members a submission names (those the notifications service told) are the team
        as of the team event it names."""
        p = received
        if p.team_sequence is None:
            return
        known = team.members_after(p.team_sequence)
        if known is None:
            self.report(
                "rule",
                "submission-members",
                f"it names event #{p.team_sequence} of team {p.team_id}, not in the log",
                item,
            )
        elif set(p.members) != set(known):
            self.report(
                "rule",
                "submission-members",
                f"it names members {sorted(p.members)}, but after its event #{p.team_sequence} "
                f"team {p.team_id} had {sorted(known)}",
                item,
            )

    def received_submissions(self) -> None:
        submission_of_team: dict[str, str] = {}
        for item, received in self.of(SubmissionReceivedFact):
            p = received
            when = received.occurred_at
            versions = self.submissions[p.submission_id]
            if versions and p.version != versions[-1][1].version + 1:
                self.report(
                    "rule",
                    "submission-version",
                    f"version {p.version} after version {versions[-1][1].version}",
                    item,
                )
            versions.append((item, received))
            other = submission_of_team.setdefault(p.team_id, p.submission_id)
            if other != p.submission_id:
                self.report(
                    "rule",
                    "second-submission",
                    f"team {p.team_id} already has submission {other}; one per team",
                    item,
                )
            hackathon = self.hackathon(item, p.hackathon_id)
            # Replayed at the positions it names first: a rule broken there is reported
            # there, and not again by the comparison of times below.
            broken = self.submission_positions(item, received, hackathon)
            team = self.teams.get(p.team_id)
            if team is None:
                self.unknown(item, "team", p.team_id)
            elif team.hackathon_id != p.hackathon_id or team.challenge_id != p.challenge_id:
                self.report(
                    "rule",
                    "submission-mismatch",
                    "the team's hackathon or challenge is not the submission's",
                    item,
                )
            if hackathon is None:
                continue
            if when >= hackathon.submission_deadline:
                self.report(
                    "rule",
                    "submission-after-deadline",
                    f"received at {when.isoformat()}, the deadline was "
                    f"{hackathon.submission_deadline.isoformat()}",
                    item,
                )
            phase = self.phase_at(p.hackathon_id, when)
            if phase != "hacking" and "phase" not in broken:
                self.report(
                    "rule",
                    "submission-outside-hacking",
                    f"received in phase {phase}; submissions are accepted in hacking only",
                    item,
                )
            if team is not None:
                members = team.members_at(when) or ()
                if p.submitted_by not in members and "member" not in broken:
                    self.report(
                        "rule",
                        "submission-by-non-member",
                        f"submitted by {p.submitted_by}, not a member of team {p.team_id} then",
                        item,
                    )
                self.check_submission_members(item, received, team)
                if len(members) < hackathon.min_team_size and "size" not in broken:
                    self.report(
                        "rule",
                        "team-under-size",
                        f"the team had {len(members)} members; at least "
                        f"{hackathon.min_team_size} are needed to submit",
                        item,
                    )
        for item, withdrawn in self.of(SubmissionWithdrawnFact):
            if withdrawn.submission_id not in self.submissions:
                self.unknown(item, "submission", withdrawn.submission_id)
            self.withdrawals.setdefault(withdrawn.submission_id, withdrawn.occurred_at)

    def submission(self, item: Item, submission_id: str) -> SubmissionReceivedFact | None:
        versions = self.submissions.get(submission_id)
        if not versions:
            self.unknown(item, "submission", submission_id)
            return None
        return versions[-1][1]

    # judging
    def judging(self) -> list[tuple[Item, ScoreSubmittedFact]]:
        for _item, published in self.of(ResultsPublishedFact):
            self.results_at.setdefault(published.hackathon_id, published.occurred_at)
        assigned: dict[tuple[str, str], int] = {}  # (submission, judge) -> sequence
        for item, event in self.of(JudgeAssignedFact):
            p = event
            submission = self.submission(item, p.submission_id)
            conflicts = self.enrolled(item, p.hackathon_id, p.judge_id)
            if submission is not None and submission.team_id != p.team_id:
                self.report("rule", "assignment-mismatch", "not the submission's team", item)
            phase_broken, conflicts_then = self.judging_positions(
                item, p.hackathon_id, p.judge_id, "judges are assigned"
            )
            if p.team_id in (conflicts or frozenset()) | conflicts_then:
                self.report(
                    "rule",
                    "conflicted-judge",
                    f"judge {p.judge_id} declared a conflict with team {p.team_id}",
                    item,
                )
            if not phase_broken:
                self.check_judging_phase(item, p.hackathon_id, "judge assigned")
            assigned.setdefault((p.submission_id, p.judge_id), item.sequence or 0)
        scores: list[tuple[Item, ScoreSubmittedFact]] = []
        revisions: dict[tuple[str, str], int] = {}
        for item, score in self.of(ScoreSubmittedFact):
            p_s = score
            scores.append((item, score))
            submission = self.submission(item, p_s.submission_id)
            conflicts = self.enrolled(item, p_s.hackathon_id, p_s.judge_id)
            when_assigned = assigned.get((p_s.submission_id, p_s.judge_id))
            if when_assigned is None or when_assigned > (item.sequence or 0):
                self.report(
                    "rule",
                    "score-by-unassigned-judge",
                    f"judge {p_s.judge_id} was not assigned submission {p_s.submission_id}",
                    item,
                )
            team_id = submission.team_id if submission is not None else None
            phase_broken, conflicts_then = self.judging_positions(
                item, p_s.hackathon_id, p_s.judge_id, "scores are accepted"
            )
            if team_id is not None and team_id in (conflicts or frozenset()) | conflicts_then:
                self.report(
                    "rule",
                    "conflicted-judge",
                    f"judge {p_s.judge_id} declared a conflict with team {team_id}",
                    item,
                )
            if not phase_broken:
                self.check_judging_phase(item, p_s.hackathon_id, "scored")
            key = (p_s.submission_id, p_s.judge_id)
            if p_s.revision <= revisions.get(key, 0):  # a gap is the chain's finding
                self.report(
                    "rule",
                    "invalid-score",
                    f"revision {p_s.revision} after revision {revisions.get(key, 0)}",
                    item,
                )
            revisions[key] = max(p_s.revision, revisions.get(key, 0))
            found = self.hackathons.get(p_s.hackathon_id)
            if found is not None:
                self.check_values(item, score, found[1])
        return scores

    def enrolled(self, item: Item, hackathon_id: str, judge_id: str) -> frozenset[str] | None:
        conflicts = self.judges.get((hackathon_id, judge_id))
        if conflicts is None:
            self.unknown(item, f"judge of {hackathon_id}", judge_id)
        return conflicts

    def check_judging_phase(self, item: Item, hackathon_id: str, what: str) -> None:
        if self.hackathon(item, hackathon_id) is None:
            return
        when = _occurred(item)
        phase = self.phase_at(hackathon_id, when)
        closed = self.results_at.get(hackathon_id)
        if phase != "judging" or (closed is not None and when > closed):
            state = f"phase {phase}" if phase != "judging" else "after the results were published"
            self.report(
                "rule",
                "outside-judging" if what != "scored" else "score-outside-judging",
                f"{what} in {state}; judging happens in the judging phase only",
                item,
            )

    def check_values(
        self, item: Item, event: ScoreSubmittedFact, hackathon: HackathonCreatedFact
    ) -> None:
        criteria = {c.key: c for c in hackathon.criteria}
        values = event.scores
        problems: list[str] = []
        if set(values) != set(criteria):
            problems.append(f"criteria {sorted(values)} instead of {sorted(criteria)}")
        for key, value in values.items():
            criterion = criteria.get(key)
            if criterion is not None and not criterion.min <= value <= criterion.max:
                problems.append(f"{key}={value} outside {criterion.min}..{criterion.max}")
        if not problems:
            weights = {k: c.weight for k, c in criteria.items()}
            total = judge_total(weights, values)
            if not math.isclose(total, event.total, rel_tol=TOTAL_TOLERANCE):
                problems.append(f"total {event.total} is not the weighted mean {total}")
        if problems:
            self.report("rule", "invalid-score", "; ".join(problems), item)

    # results
    def published_results(self, scores: list[tuple[Item, ScoreSubmittedFact]]) -> None:
        submissions_of: dict[str, list[str]] = defaultdict(list)
        for submission_id, versions in self.submissions.items():
            if versions:
                submissions_of[versions[0][1].hackathon_id].append(submission_id)
        scores_of: dict[str, list[tuple[Item, ScoreSubmittedFact]]] = defaultdict(list)
        for score_item, score in scores:
            scores_of[score.hackathon_id].append((score_item, score))
        for item, published in self.of(ResultsPublishedFact):
            p = published
            hackathon = self.hackathon(item, p.hackathon_id)
            if (item.sequence or 1) > 1:
                self.report("rule", "results-published-twice", "results published again", item)
            self.require_organizer(item, p.published_by, "results published")
            phase_broken = False
            for fact, phase_then, changed in self.phases_named(item, p.hackathon_id):
                if phase_then != "judging":
                    phase_broken = True
                    reason = (
                        f"the hackathon was in phase {phase_then}; results are published in judging"
                    )
                    self.forbidden(item, fact, [reason], changed)
            if hackathon is None:
                continue
            self.compare_results(
                item,
                published,
                hackathon,
                submissions_of.get(p.hackathon_id, []),
                scores_of.get(p.hackathon_id, []),
            )
            if phase_broken:
                continue
            phase = self.phase_at(p.hackathon_id, published.occurred_at)
            if phase != "judging":
                self.report(
                    "rule",
                    "outside-judging",
                    f"results published in phase {phase}; they are published in judging",
                    item,
                )

    def compare_results(
        self,
        item: Item,
        published: ResultsPublishedFact,
        hackathon: HackathonCreatedFact,
        submission_ids: list[str],
        scores: list[tuple[Item, ScoreSubmittedFact]],
    ) -> None:
        """``submission_ids`` and ``scores``: the hackathon's."""
        hid = hackathon.hackathon_id
        at = published.occurred_at
        competitors = []
        for submission_id in submission_ids:
            first = self.submissions[submission_id][0][1]
            withdrawn_at = self.withdrawals.get(submission_id)
            competitors.append(
                Competitor(
                    submission_id,
                    first.team_id,
                    first.first_submitted_at,
                    withdrawn=withdrawn_at is not None and withdrawn_at <= at,
                )
            )
        latest: dict[tuple[str, str], Mapping[str, float]] = {}
        for score_item, score in scores:  # in chain order per submission
            s = score
            if (
                s.hackathon_id == hid
                and score.occurred_at <= at
                and score_item.event_id not in self.a.flagged
            ):
                latest[(s.submission_id, s.judge_id)] = s.scores
        weights = {c.key: c.weight for c in hackathon.criteria}
        ranking = recompute_ranking(
            weights,
            hackathon.normalization,
            competitors,
            [JudgeScore(judge, sub, values) for (sub, judge), values in latest.items()],
        )
        awards = recompute_awards(
            ranking, [(a.name, a.kind, a.amount, a.rank) for a in hackathon.awards]
        )
        differences: list[str] = []
        announced = published.entries
        if len(announced) != len(ranking):
            differences.append(f"{len(announced)} entries announced, {len(ranking)} recomputed")
        for mine, theirs in zip(ranking, announced, strict=False):
            wrong = entry_differences(mine, theirs, SCORE_TOLERANCE)
            if wrong:
                differences.append(
                    f"rank {theirs.rank}: announced {theirs.submission_id} (team {theirs.team_id}, "
                    f"score {theirs.score}, {theirs.judges} judges), recomputed rank {mine.rank} "
                    f"{mine.submission_id} (team {mine.team_id}, score {mine.score:.4f}, "
                    f"{mine.judges} judges): " + ", ".join(wrong)
                )
        differences.extend(
            method_differences(
                hackathon.normalization, published.normalization, published.tie_break
            )
        )
        ranking_ok = not differences
        if differences:
            self.report(
                "results",
                "ranking-differs",
                "the published ranking is not the one the events give: "
                + "; ".join(differences[:5])
                + (f" (and {len(differences) - 5} more)" if len(differences) > 5 else ""),
                item,
            )
        granted = [(a.name, a.kind, a.amount, a.rank, a.team_id) for a in published.awards]
        expected = [(a.name, a.kind, a.amount, a.rank, a.team_id) for a in awards]
        if granted != expected:
            self.report(
                "results",
                "awards-differ",
                f"awards announced {granted}, recomputed {expected}",
                item,
            )
        self.a.results.append(
            ResultsCheck(
                hid, item.ref(), ranking_ok and granted == expected, len(announced), len(granted)
            )
        )

    # notifications and causes
    def notifications_and_causes(self) -> None:
        for cls in (NotificationSentFact, NotificationFailedFact):
            for item in self.by_type.get(cls, []):
                event = item.fact
                assert isinstance(event, NotificationSentFact | NotificationFailedFact)
                if event.causing_event_id not in self.a.all_event_ids:
                    self.unknown(item, "event", event.causing_event_id)
                if event.recipient_account_id is not None:
                    self.known_account(item, event.recipient_account_id)
        for item in self.events:
            cause = item.fact.causation_id if item.fact is not None else None
            if cause is None or cause in self.a.all_event_ids:
                continue
            try:
                uuid.UUID(cause)
            except ValueError:
                continue  # not an event id (a request id, say): nothing to look up
            self.unknown(item, "causing event", cause)


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a log is verified: what the verification
    keeps holds no cycles and lives until the report, and full collections, each walking
    every item kept so far, cost about a fifth of the time on a large log."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        # What was made meanwhile goes to the oldest generation without being walked (the
        # next young collection would walk all of it, twice, as it ages).
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def verify(
    records: Iterable[Record],
    *,
    source: str = "log",
    hackathons: Iterable[str] | None = None,
    missing_topics: Iterable[str] = (),
    progress: Progress | None = None,
    keys: TrustedKeys | None = None,
) -> Report:
    """Run every check over ``records`` and return the report (``report.clean`` when nothing
    was found). ``hackathons`` limits the report to those hackathons' aggregates (and the
    accounts and notifications they refer to). The records are read one at a time and not
    kept: a generator streams the log through."""
    with collection_paused():
        verifier = Verifier(hackathons, progress, keys)
        verifier.feed_all(records)
        if progress is not None:
            progress.close()
        return verifier.result(source=source, missing_topics=missing_topics)
