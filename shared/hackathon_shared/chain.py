"""Whether an event continues its aggregate's chain, as a consumer has applied it so far.

Every event carries its aggregate's ``sequence`` and ``prev_hash``, the hash of the
aggregate's previous event (``GENESIS_HASH`` for sequence 1). A consumer keeps, per (topic,
aggregate), the head of the chain it has applied: the sequence and hash of the last event
(``applied_sequences``). Before anything is applied, each event of a batch is judged against
that head, in the batch's order:

- an event already applied (its id is in the inbox) is a duplicate, skipped quietly;
- the next link (sequence = head + 1, ``prev_hash`` = the head's hash; for the first event,
  sequence 1 and the genesis hash) is applied, and becomes the head;
- an event that passed earlier without being applied (``passed_events``: dead-lettered after
  its chain was checked) and comes again, the same event by its hash, is applied where it is;
- anything else is refused, with the reason: a gap, a second event at a sequence already
  taken (a fork), or a ``prev_hash`` that does not link.

A head stored before hashes were kept (``hash`` None) accepts its next sequence without the
link check, once; from then on the hash is known. Pure: the consumer reads the heads and the
passed events a batch needs once per batch (docs/consistency.md, "The chain continues")."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from hackathon_shared.events.envelope import GENESIS_HASH, Envelope

ChainKey = tuple[str, str]
"""(topic, aggregate id)."""


@dataclass(frozen=True)
class Head:
    """The last link applied of one chain; ``hash`` None where it was stored without one."""

    sequence: int
    hash: str | None


class Verdict(enum.Enum):
    APPLY = "apply"
    DUPLICATE = "duplicate"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str = ""
    behind: bool = False  # refused at a sequence the chain has passed: maybe a passed event
    advances: bool = False  # the event becomes the chain's head


def judge(
    head: Head | None,
    event: Envelope,
    *,
    applied_before: bool,
    passed_hash: str | None = None,
) -> Judgement:
    """The verdict on ``event`` given its chain's ``head`` (None: nothing applied yet).
    ``applied_before``: the inbox knows its id. ``passed_hash``: the hash of the event that
    passed at its sequence without being applied, if one did."""
    if applied_before:
        return Judgement(Verdict.DUPLICATE)
    last, last_hash = (0, GENESIS_HASH) if head is None else (head.sequence, head.hash)
    sequence = event.sequence
    if sequence == last + 1:
        if last_hash is not None and event.prev_hash != last_hash:
            what = "the genesis hash" if last == 0 else f"sequence {last}"
            return Judgement(
                Verdict.REFUSE, f"chain: prev_hash of sequence {sequence} does not link to {what}"
            )
        return Judgement(Verdict.APPLY, advances=True)
    if sequence > last + 1:
        after = f"after {last}" if last else "first (nothing applied of this aggregate)"
        return Judgement(
            Verdict.REFUSE, f"chain: expected sequence {last + 1} {after}, got {sequence}"
        )
    if passed_hash is not None and passed_hash == event.hash:
        return Judgement(Verdict.APPLY)  # a link that was passed, sent again: applied late
    if sequence == last and last_hash == event.hash:
        # The head itself, never applied: it passed in the same batch (dead-lettered).
        return Judgement(Verdict.APPLY)
    return Judgement(
        Verdict.REFUSE,
        f"chain: sequence {sequence} is taken already by another event (applied up to {last}):"
        " a fork",
        behind=True,
    )


class Chains:
    """The heads of the chains one batch touches, moved on as its events are judged."""

    def __init__(
        self,
        heads: Mapping[ChainKey, Head],
        passed: Mapping[tuple[str, str, int], str] | None = None,
    ) -> None:
        self.heads = dict(heads)
        self.passed = dict(passed or {})
        self.moved: dict[ChainKey, Head] = {}

    def judge(self, topic: str, event: Envelope, *, applied_before: bool) -> Judgement:
        key = (topic, event.aggregate_id)
        judgement = judge(
            self.heads.get(key),
            event,
            applied_before=applied_before,
            passed_hash=self.passed.get((topic, event.aggregate_id, event.sequence)),
        )
        if judgement.advances:
            self.heads[key] = self.moved[key] = Head(event.sequence, event.hash)
        return judgement
