"""Who wrote each event, as ``audit verify`` and ``audit rebuild`` both decide it: the
signature in a record's headers must be a trusted key's of the service whose topic the record
is on (docs/event-signing.md, :mod:`hackathon_shared.signing`). The keys are public ones only;
an event that fails is refused: reported, and taken for nothing else."""

from __future__ import annotations

from collections.abc import Sequence

from hackathon_shared.events.envelope import Envelope
from hackathon_shared.signing import SignatureRefused, TrustedKeys, text_headers
from hackathon_shared.topics import EVENTS_TOPIC_OF_PRODUCER

# The producer that publishes on each (logical) event topic.
PRODUCER_OF_TOPIC = {topic: producer for producer, topic in EVENTS_TOPIC_OF_PRODUCER.items()}


def producer_of(topic: str) -> str:
    """The service that publishes on the logical event topic ``topic`` ("" for none)."""
    return PRODUCER_OF_TOPIC.get(topic, "")


def signer_of(
    keys: TrustedKeys, event_hash: str, headers: Sequence[tuple[str, bytes]], topic: str
) -> str:
    """The key id whose signature over ``event_hash`` (the hash as read from the log, already
    checked to match the event's content) the record's ``headers`` carry, once checked to be
    a trusted key of the producer of ``topic``; raises :class:`SignatureRefused` otherwise."""
    return keys.check_signature(event_hash, text_headers(headers), producer_of(topic))


def refusal_message(topic: str, refused: SignatureRefused) -> str:
    """How a refused event is named in a report."""
    return f"not written by {producer_of(topic)}: {refused}"


def applied_by_consumers(
    keys: TrustedKeys,
    event: Envelope,
    value: bytes,
    headers: Sequence[tuple[str, bytes]],
    topic: str,
) -> str:
    """The key id that signed ``event`` (decoded from ``value``), checked as the consumers
    check it before applying anything (``TrustedKeys.check``): the producer is the topic's,
    the hash matches the JSON as read, and a trusted key of that producer signed the hash.
    Raises :class:`SignatureRefused` naming the first check that failed."""
    return keys.check(event, text_headers(headers), producer_of(topic), raw=value)
