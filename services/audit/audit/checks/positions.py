"""The positions decisions name (``seen``): each is in the log and, on the decision's own
chain, before it (``seen-unknown-position``, a reference finding); the rules the deciding
service applied are replayed at those in the log (:func:`forbidden` reports one that the
state there forbids: ``decided-on-forbidden-state``). The replays themselves are the
submission and judging checks'."""

from __future__ import annotations

from collections.abc import Iterator

from audit.checks.state import LogState
from audit.facts import (
    SEEN_TYPES,
    JudgeAssignedFact,
    ResultsPublishedFact,
    ScoreSubmittedFact,
    Seen,
    SeenFacts,
    SubmissionReceivedFact,
    SubmissionWithdrawnFact,
)
from audit.reading import Item
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER


def check_positions(s: LogState) -> None:
    """Every position a decision names is in the log (and, on the decision's own chain,
    before it); those that are are kept for the rules replayed at them."""
    for cls in SEEN_TYPES:
        for item in s.by_type.get(cls, []):
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
            found = [f for f in facts if _in_log(s, item, f, own)]
            if len(found) < len(facts):
                s.named_facts[id(item)] = found


def _in_log(s: LogState, item: Item, fact: Seen, chain_of_item: tuple[str, str | None]) -> bool:
    key = (EVENTS_TOPIC_OF_PRODUCER[fact.producer], fact.aggregate_id)
    chain = s.verifier.positions.get(key)
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
    s.report(
        "reference",
        "seen-unknown-position",
        f"{problem}: a decision cannot have seen a fact that is not in the log before it",
        item,
        related,
    )
    return False


def named(s: LogState, item: Item, producer: str, aggregate_id: str) -> list[Seen]:
    """The positions in the log that ``item`` names of ``producer``'s ``aggregate_id``."""
    facts = s.named_facts.get(id(item))
    if facts is None:
        assert isinstance(item.fact, SeenFacts)
        facts = list(item.fact.seen)
    return [f for f in facts if f.producer == producer and f.aggregate_id == aggregate_id]


def forbidden(
    s: LogState, item: Item, fact: Seen, reasons: list[str], related: Item | None
) -> None:
    """``item`` was decided at the position ``fact``, where ``reasons`` forbade it."""
    s.report(
        "rule",
        "decided-on-forbidden-state",
        f"decided on {fact.producer}/{fact.aggregate_id} #{fact.sequence}, where "
        + "; ".join(reasons),
        item,
        related,
    )


def phases_named(s: LogState, item: Item, hackathon_id: str) -> Iterator[tuple[Seen, str, Item]]:
    """For each named position of the hackathon: the phase then and the event that set it."""
    history = s.phase_history.get(hackathon_id)
    for fact in named(s, item, "registration", hackathon_id):
        at = history.at(fact.sequence) if history is not None else None
        if at is not None:
            yield fact, at[0], at[1]
