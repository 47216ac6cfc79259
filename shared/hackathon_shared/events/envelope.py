"""The event envelope every event travels in, canonical JSON and the per-aggregate hash chain.

The hash of an event is SHA-256 over the canonical JSON of its envelope without the ``hash``
field itself; ``prev_hash`` is the hash of the previous event of the same aggregate (or
``GENESIS_HASH`` for sequence 1). Editing, deleting or reordering any event of an aggregate
therefore breaks the chain, which :func:`verify_chain` reports.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no insignificant white space, UTF-8 characters kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Payload(BaseModel):
    """Base of every event payload: immutable; fields a consumer does not know are kept as they came
    (so re-encoding reproduces the hash) and otherwise ignored,
    so that adding an optional field to a type does not break its older consumers."""

    model_config = ConfigDict(frozen=True, extra="allow")


class Envelope(BaseModel):
    """Fields common to every event. Concrete event classes narrow ``type``, ``version`` and
    ``payload``; see :mod:`hackathon_shared.events.catalogue`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    PRODUCER: ClassVar[str] = ""

    event_id: uuid.UUID
    type: str
    version: int = Field(ge=1)
    occurred_at: AwareDatetime
    producer: str
    aggregate_id: str = Field(min_length=1, max_length=200)
    sequence: int = Field(ge=1)
    prev_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: Any

    @field_serializer("occurred_at")
    def _serialize_occurred_at(self, value: datetime) -> str:
        # One textual form for one instant, so that hashes do not depend on the time zone
        # the producer happened to use.
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")

    def body_without_hash(self) -> dict[str, Any]:
        body = self.model_dump(mode="json")
        body.pop("hash")
        return body

    def computed_hash(self) -> str:
        return compute_hash(self.body_without_hash())

    def to_json(self) -> str:
        return canonical_json(self.model_dump(mode="json"))


def compute_hash(envelope_without_hash: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(envelope_without_hash).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    """One problem found in an aggregate's chain."""

    aggregate_id: str
    sequence: int | None
    event_id: str | None
    problem: str


def verify_chain(events: Iterable[Envelope]) -> list[ChainBreak]:
    """Check sequences and hash links per aggregate, in the order the events are given
    (the order they were read from the log). Returns every break found; empty means intact."""
    breaks: list[ChainBreak] = []
    last: dict[str, tuple[int, str]] = {}
    seen_ids: set[uuid.UUID] = set()
    for event in events:
        agg = event.aggregate_id
        eid = str(event.event_id)
        if event.event_id in seen_ids:
            breaks.append(ChainBreak(agg, event.sequence, eid, "duplicate event_id"))
            continue
        seen_ids.add(event.event_id)
        if event.computed_hash() != event.hash:
            breaks.append(ChainBreak(agg, event.sequence, eid, "hash does not match content"))
        prev_seq, prev_hash = last.get(agg, (0, GENESIS_HASH))
        if event.sequence <= prev_seq:
            breaks.append(
                ChainBreak(agg, event.sequence, eid, f"sequence {event.sequence} after {prev_seq}")
            )
        elif event.sequence != prev_seq + 1:
            breaks.append(
                ChainBreak(
                    agg,
                    event.sequence,
                    eid,
                    f"sequence gap: expected {prev_seq + 1}, got {event.sequence}",
                )
            )
        if event.prev_hash != prev_hash:
            breaks.append(
                ChainBreak(agg, event.sequence, eid, "prev_hash does not link to previous event")
            )
        last[agg] = (event.sequence, event.hash)
    return breaks


def seal(
    cls: type[Envelope],
    *,
    payload: BaseModel,
    aggregate_id: str,
    sequence: int,
    prev_hash: str,
    event_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope:
    """Build a complete envelope of event class ``cls`` with its hash computed."""
    fields: dict[str, Any] = {
        "event_id": event_id or uuid.uuid4(),
        "type": cls.TYPE,
        "version": cls.VERSION,
        "occurred_at": occurred_at or utc_now(),
        "producer": cls.PRODUCER,
        "aggregate_id": aggregate_id,
        "sequence": sequence,
        "prev_hash": prev_hash,
        "hash": GENESIS_HASH,
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "payload": payload,
    }
    draft = cls(**fields)
    return draft.model_copy(update={"hash": draft.computed_hash()})
