"""The envelope, chain and signature checks of ``audit verify``, and the :class:`Verifier`
that runs every check over a log fed record by record.

Input: the log records (from the broker or an export), in any order, fed one at a time
(``feed``); then ``result()`` runs the checks that relate records, in log order (topic,
partition, offset), and returns the :class:`Report`. Here: the order of the log (a second
record at a position), the scope (``--hackathon``), each event's signature (given the trusted
public keys), the envelope (an ``event_id`` seen twice, and what each record showed by itself
when it was read, :mod:`audit.reading`) and every aggregate's hash chain. The rules and
references over the decoded events are :mod:`audit.checks`, one module per group.

``chain``
    Per aggregate (one topic's events with one ``aggregate_id``): every hash is SHA-256 over
    the canonical JSON of the event *as read from the log* (the raw JSON, parsed and
    canonicalised, not the decoded model re-serialised), sequences run 1, 2, 3... without
    gaps, repeats or reordering, each ``prev_hash`` is the hash of the previous sequence, an
    ``event_id`` is never seen twice, and one aggregate stays in one partition.
``signature``
    With trusted keys: each event is signed, over its hash, by a trusted key of the service
    whose topic it is on (:mod:`audit.signatures`). One that is not is reported and left out
    of everything else (its chain, its event id, the rules, the results).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Iterator
from typing import Any

from audit.checks import run_checks
from audit.facts import SeenFacts
from audit.log import Record, logical_topic
from audit.progress import Progress
from audit.reading import ENVELOPE, GENESIS, LOG_ORDER, READ, Item, read_record
from audit.report import EventRef, Finding, Report, ResultsCheck
from audit.signatures import refusal_message, signer_of
from hackathon_shared.signing import SignatureRefused, TrustedKeys
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER

CHECK_ORDER = ("schema", "signature", "chain", "reference", "rule", "results")


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
        self.notes: list[Finding] = []
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
        try:
            key_id = signer_of(self.keys, item.hash.hex(), record.headers, topic)
        except SignatureRefused as refused:
            item.note(ENVELOPE, "signature", refused.kind, refusal_message(topic, refused))
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
        run_checks(self)
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
            notes=self.notes,
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
                    same_place = (first.topic, first.partition) == (item.topic, item.partition)
                    if first.digest == item.digest and same_place:
                        # The same bytes again, where its producer would put it (a relay that
                        # crashed between publishing and marking, an outbox published again
                        # after a lost log): delivered twice, decided once. A note, not a
                        # finding.
                        self.notes.append(
                            Finding(
                                "chain",
                                "redelivered",
                                "an identical copy of an event already in the log",
                                item.ref(),
                                first.ref(),
                            )
                        )
                    else:
                        self.report(
                            "chain",
                            "duplicate-event",
                            (
                                "an identical copy of an event, on another partition than "
                                "its producer put it: not a redelivery"
                                if first.digest == item.digest
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


def _runs(numbers: list[int]) -> Iterator[list[int]]:
    run: list[int] = []
    for n in numbers:
        if run and n != run[-1] + 1:
            yield run
            run = []
        run.append(n)
    if run:
        yield run
