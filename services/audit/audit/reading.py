"""Reading one record of an event topic, as ``audit verify`` does it once per record: its
JSON, its hash over the canonical form, its schema and envelope. What the record shows by
itself is decided here, and what is kept of it is an :class:`Item`: where it is, its chain
fields, a digest of its value, the findings it already shows, and the small
:mod:`audit.facts` fact the rules need. Its value, parsed JSON and decoded model are dropped.

Two shortcuts, each exact: the JSON is parsed by pydantic-core's parser (``json`` decides
whatever that parser refuses), and the canonical form is written by one C encoder made once
(``json.dumps`` makes one per call). Both are checked against ``json`` in
``tests/test_verify_streaming.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import operator
import sys
from collections.abc import Callable
from typing import Any, NamedTuple, cast

from pydantic import ValidationError
from pydantic_core import from_json

from audit.facts import Fact, fact_of
from audit.log import Record, logical_topic
from audit.report import EventRef
from hackathon_shared.events.catalogue import (
    EVENT_CLASSES,
    PERSONAL_DATA_FIELDS,
    CatalogueEvent,
    EventDecodeError,
    decode_event,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER

_intern = sys.intern


# When a finding that a record shows by itself is reported: with the reading (every record,
# in or out of the scope), or with the envelope checks (records in the scope that are not a
# second copy of an event_id).
READ, ENVELOPE = 0, 1


def _canonical_encoder() -> Callable[[Any], str]:
    """Canonical JSON, as ``hackathon_shared.events.envelope.canonical_json`` writes it (sorted
    keys, no white space, UTF-8 kept), for values parsed from JSON (no cycles, no NaN): one C
    encoder made once, rather than one per call as ``json.dumps`` makes it."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return encoder.encode
    # (markers, default, string encoder, indent, ":", ",", sort_keys, skipkeys, allow_nan)
    chunks = make(
        None, encoder.default, json.encoder.encode_basestring, None, ":", ",", True, False, True
    )

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    return encode


canonical = _canonical_encoder()
# Pieces of text of which one is in canonical JSON that has a personal-data field name as a key
# (``"email":``, ``"...name":``, ``"password...``): keys are written as they are, and these
# names need no escaping. Text with none of them has no such key anywhere.
_PERSONAL_HINTS = ('"email":', 'name":', '"password')
assert all(any(hint in f'"{name}":' for hint in _PERSONAL_HINTS) for name in PERSONAL_DATA_FIELDS)


def _may_name_personal_data(text: str) -> bool:
    return '"email":' in text or 'name":' in text or '"password' in text  # _PERSONAL_HINTS


def reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(value: bytes) -> Any:
    """``json.loads(value.decode("utf-8"), parse_constant=reject_constant)``, parsed by
    pydantic-core's JSON parser (about 2.5 times as fast). Where that parser accepts a text
    both give the same value (the same dict order, numbers and strings; checked on the edge
    cases in ``tests/test_verify_streaming.py``); where it refuses one (it is stricter: lone
    surrogates, nesting over 200, NaN), ``json`` decides, and its error is the one reported."""
    try:
        return from_json(value, allow_inf_nan=False, cache_strings="keys")
    except ValueError:
        return json.loads(value.decode("utf-8"), parse_constant=reject_constant)


def compact_hash(value: Any) -> Any:
    """A recorded ``hash`` or ``prev_hash`` as kept for the chain checks: a well-formed one
    (64 lower-case hex digits) as its 32 bytes, half its text; anything else as it is. Two
    kept values are equal exactly when the recorded ones are."""
    if type(value) is str and len(value) == 64:
        try:
            digest = bytes.fromhex(value)
        except ValueError:
            return value
        if len(digest) == 32 and digest.hex() == value:  # no spaces, no upper case
            return digest
    return value


def decode(raw: dict[str, Any]) -> Envelope:
    """``decode_event(raw)``, validating the catalogue class that the type and version name
    directly (what the catalogue's tagged union picks); its error, when there is one, comes
    from ``decode_event`` itself, so the finding reads the same."""
    kind, version = raw.get("type"), raw.get("version")
    if type(kind) is str and type(version) is int:
        cls = EVENT_CLASSES.get((kind, version))
        if cls is not None:
            try:
                event: Envelope = cls.__pydantic_validator__.validate_python(raw)
                return event
            except ValidationError:
                pass
    return decode_event(raw)


GENESIS = compact_hash(GENESIS_HASH)


def _personal_fields(payload: dict[str, Any]) -> set[str]:
    """The personal-data field names used as keys anywhere in ``payload``."""
    found: set[str] = set()
    stack: list[Any] = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if not PERSONAL_DATA_FIELDS.isdisjoint(value):
                found.update(PERSONAL_DATA_FIELDS.intersection(value))
            stack.extend(inner for inner in value.values() if isinstance(inner, dict | list))
        elif isinstance(value, list):
            stack.extend(inner for inner in value if isinstance(inner, dict | list))
    return found


_ACCOUNT_FIELDS = (
    "account_id",
    "captain_id",
    "judge_id",
    "created_by",
    "changed_by",
    "published_by",
    "submitted_by",
    "new_captain_id",
    "recipient_account_id",
)


class ScopeRefs(NamedTuple):
    """What ``--hackathon`` needs of a record's raw payload."""

    hackathon_id: str | None
    causing_event_id: str | None
    references: tuple[str, ...]  # the accounts it names


def _scope_refs(payload: dict[str, Any]) -> ScopeRefs:
    references = [payload[name] for name in _ACCOUNT_FIELDS if isinstance(payload.get(name), str)]
    with contextlib.suppress(TypeError):  # not a list: names nobody
        references.extend(m for m in payload.get("members") or [] if isinstance(m, str))
    hackathon_id, cause = payload.get("hackathon_id"), payload.get("causing_event_id")
    return ScopeRefs(
        hackathon_id if isinstance(hackathon_id, str) else None,
        cause if isinstance(cause, str) else None,
        tuple(references),
    )


LOG_ORDER = operator.attrgetter("topic", "partition", "offset")
AGGREGATE_ORDER = operator.attrgetter("aggregate_id", "sequence")


class Item:
    """One record of an event topic: where it is, what could be read of its envelope, and
    what the checks need of it (its value and decoded model are not kept)."""

    __slots__ = (
        "aggregate_id",
        "digest",
        "duplicate",
        "event_id",
        "fact",
        "hash",
        "hash_ok",
        "notes",
        "offset",
        "partition",
        "prev_hash",
        "refused",
        "scope",
        "sequence",
        "topic",
        "type",
    )

    def __init__(self, topic: str, partition: int, offset: int) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        # Of the value (Python's keyed 64-bit hash), once the value parsed as a JSON object:
        # whether a second event_id is an identical copy.
        self.digest: int | None = None
        self.event_id: str | None = None
        self.type: str | None = None
        self.aggregate_id: str | None = None
        self.sequence: int | None = None
        self.hash: Any = None  # recorded, compacted (chain fields only when both are there)
        self.prev_hash: Any = None
        self.hash_ok = False
        self.fact: Fact | None = None  # when it is a valid catalogue event
        self.duplicate = False
        self.notes: list[tuple[int, str, str, str]] | None = None  # (when, check, kind, text)
        self.scope: ScopeRefs | None = None
        # Its producer did not sign it (audit.verify): reported, and taken for nothing else.
        self.refused = False

    @property
    def parsed(self) -> bool:
        """The value is a JSON object."""
        return self.digest is not None

    @property
    def logical_topic(self) -> str:
        found = logical_topic(self.topic)
        assert found is not None
        return found

    def log_order(self) -> tuple[str, int, int]:
        return (self.topic, self.partition, self.offset)

    def dropped(self) -> None:
        """Left out of every check (a second record at a position is not read)."""
        self.aggregate_id = self.fact = None

    def note(self, when: int, check: str, kind: str, message: str) -> None:
        if self.notes is None:
            self.notes = []
        self.notes.append((when, check, kind, message))

    def ref(self) -> EventRef:
        return EventRef(
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            event_id=self.event_id,
            type=self.type,
            aggregate_id=self.aggregate_id,
            sequence=self.sequence,
        )


def read_record(record: Record, topic: str, *, scoped: bool = False) -> Item:
    """Read one record of the event topic ``topic`` (its logical name); with ``scoped``, keep
    what ``--hackathon`` needs of its payload too."""
    item = Item(_intern(record.topic), record.partition, record.offset)
    value = record.value
    if value is None:
        item.note(READ, "schema", "invalid-event", "a tombstone (null value) on an event topic")
        return item
    try:
        raw = parse_json(value)
    except (UnicodeDecodeError, ValueError) as error:
        item.note(READ, "schema", "invalid-event", f"the value is not JSON: {error}")
        return item
    if not isinstance(raw, dict):
        item.note(READ, "schema", "invalid-event", "the value is not a JSON object")
        return item

    try:
        _read(item, topic, record, value, raw, scoped)
    except UnicodeEncodeError:
        # Valid JSON with an unpaired surrogate escape (\ud800): no producer could have
        # written it as UTF-8, and hashing it would fail. A crafted record, reported.
        # Still the aggregate's (it is no link of a chain), and reported with the envelope
        # checks, so that a report scoped to a hackathon shows it only in that hackathon's.
        item = Item(_intern(record.topic), record.partition, record.offset)
        item.digest = hash(value)
        aggregate_id = raw.get("aggregate_id")
        item.aggregate_id = _intern(aggregate_id) if type(aggregate_id) is str else None
        item.note(
            ENVELOPE, "schema", "invalid-event", "text that is not Unicode (an unpaired surrogate)"
        )
    return item


def _read(
    item: Item, topic: str, record: Record, value: bytes, raw: dict[str, Any], scoped: bool
) -> None:
    item.digest = hash(value)
    event_id, aggregate_id = raw.get("event_id"), raw.get("aggregate_id")
    sequence, kind = raw.get("sequence"), raw.get("type")
    # JSON gives exact types: a bool is not an int here.
    item.event_id = event_id if type(event_id) is str else None
    item.aggregate_id = _intern(aggregate_id) if type(aggregate_id) is str else None
    item.sequence = sequence if type(sequence) is int else None
    item.type = _intern(kind) if type(kind) is str else None
    payload = raw.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    text: str | None = None
    if item.aggregate_id is not None and item.sequence is not None:  # a link of a chain
        recorded = raw.get("hash")
        body = raw.copy()
        body.pop("hash", None)
        text = canonical(body)
        digest = hashlib.sha256(text.encode("utf-8"))
        item.hash_ok = recorded == digest.hexdigest()
        item.hash = digest.digest() if item.hash_ok else compact_hash(recorded)
        link = raw.get("prev_hash")
        item.prev_hash = GENESIS if link == GENESIS_HASH else compact_hash(link)
    try:
        event: Envelope | None = decode(raw)
    except EventDecodeError as error:
        item.note(READ, "schema", "invalid-event", f"not a valid catalogue event: {error}")
        event = None
    # The envelope: reported later, unless the record turns out to be a second copy.
    producer = raw.get("producer")
    expected = EVENTS_TOPIC_OF_PRODUCER.get(producer) if isinstance(producer, str) else None
    if expected is not None and expected != topic:
        item.note(
            ENVELOPE,
            "schema",
            "wrong-topic",
            f"a {producer} event on {topic}; {producer} publishes on {expected}",
        )
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    if item.aggregate_id is not None and key != item.aggregate_id:
        item.note(
            ENVELOPE,
            "schema",
            "key-mismatch",
            f"message key {key!r} is not the aggregate id {item.aggregate_id!r}",
        )
    if event is not None:  # a catalogue class (``decode`` gives no other)
        owner = cast(CatalogueEvent, event).aggregate_id_from(event.payload)
        if owner != event.aggregate_id:
            item.note(
                ENVELOPE,
                "schema",
                "aggregate-mismatch",
                f"aggregate_id {event.aggregate_id!r} but payload "
                f"{cast(CatalogueEvent, event).AGGREGATE_FIELD} is {owner!r}",
            )
    if text is None or _may_name_personal_data(text):
        personal = sorted(_personal_fields(payload))
        if personal:
            item.note(
                ENVELOPE,
                "schema",
                "personal-data",
                f"personal data in the payload ({', '.join(personal)}); events carry ids only",
            )
    if event is not None:
        item.fact = fact_of(event)
    if scoped:
        item.scope = _scope_refs(payload)
