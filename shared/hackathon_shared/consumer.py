"""Event consumers with at-least-once delivery, an inbox, bounded retries and a DLQ.

Acknowledgement policy: the subscriber runs in batch mode with FastStream's
``AckPolicy.NACK_ON_ERROR`` and auto-commit off. The offset of a batch is committed only
after :meth:`EventConsumer.handle_records` returns, which happens only after every event of
the batch was either committed by its handler's transaction (together with its inbox row) or
published to the dead-letter topic. If that cannot be done (the database or the broker is
unreachable), the method raises, FastStream seeks back to the batch's first offsets, and the
batch is delivered again; the inbox absorbs the part that had already committed.

Throughput: a batch is handled in one transaction. Its events are claimed in the inbox with
one statement (``hackathon_shared.inbox.claim``), and the handler sees the whole batch
(``hackathon_shared.batch``), so that it can read what the batch needs a table at a time
and write in bulk. If that transaction fails, the batch is replayed one event at a time,
each with bounded retries and exponential backoff, so that one poison message is isolated
and dead-lettered while the others commit.

Consistency (docs/consistency.md): the transaction that applies a batch also stores the
positions it reached and the head (sequence and hash) of each aggregate's chain it applied
(``hackathon_shared.positions``); a record that is dead-lettered counts as passed. An event
that names the positions it was decided on (``seen``) is applied only after the service has
applied them: the batch waits, bounded, and is otherwise redelivered, never applied early.

Integrity: after its signature (``hackathon_shared.signing``), each event must continue its
aggregate's chain, judged in the batch's transaction against the stored head
(``hackathon_shared.chain``); a gap, a fork or a broken link is dead-lettered with the reason
and never applied. A contact record must be newer than the version applied for its account
(``hackathon_shared.record_versions``)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.batch import applying
from hackathon_shared.chain import Chains, Head, Judgement, Verdict
from hackathon_shared.database_errors import database_trouble, sqlstate
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    ContactDetails,
    EventDecodeError,
    decode_contact,
    decode_event,
)
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.inbox import claim, unclaim
from hackathon_shared.metrics import (
    DEAD_LETTERED,
    EVENTS_CONSUMED,
    EVENTS_DUPLICATE,
    HANDLER_ERRORS,
)
from hackathon_shared.positions import (
    Progress,
    applied_sequences,
    chain_heads,
    passed_events,
    record_passed,
    record_positions,
    record_sequences,
)
from hackathon_shared.problems import ProblemError
from hackathon_shared.record_versions import Verdict as RecordVerdict
from hackathon_shared.record_versions import (
    VersionError,
    read_versions,
    version_of,
    write_versions,
)
from hackathon_shared.signing import SignatureRefused, TrustedKeys, record_digest, text_headers
from hackathon_shared.topics import Topics, dlq

log = logging.getLogger(__name__)

EventHandler = Callable[[AsyncSession, Envelope], Awaitable[None]]
ContactHandler = Callable[[AsyncSession, str, ContactDetails | None], Awaitable[None]]
"""Applies one ``registration.contacts`` record: the account id (the message key) and its
contact details, or ``None`` for a tombstone (the account was erased)."""

# Failures of the infrastructure rather than of the message: retrying later can succeed, so
# such a message is never dead-lettered; the batch is redelivered instead.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def _is_transient(error: BaseException) -> bool:
    """Whether retrying later can succeed: the database busy or unavailable
    (``hackathon_shared.database_errors``, shared with the HTTP answers), or any other failure
    of the infrastructure; a transaction rolled back by PostgreSQL (SQLSTATE class 40) too."""
    if database_trouble(error) is not None:
        return True
    if isinstance(error, DBAPIError) and (sqlstate(error) or "").startswith("40"):
        return True
    return isinstance(error, TRANSIENT_ERRORS)


PARALLEL_CHECK_AT = 32
"""A batch of at least this many records is checked in two threads (a smaller one is not
worth the threads' hand-over)."""


def _text_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    """The record with header values FastStream can decode: a null or non-UTF-8 value would
    make its batch parser raise before any acknowledgement logic runs (and the position would
    move past the batch). The originals only matter for the DLQ, which keeps the value."""
    headers = [
        (key, (value or b"").decode("utf-8", "replace").encode("utf-8"))
        for key, value in record.headers
    ]
    return dataclasses.replace(record, headers=headers)


async def _tolerant_parser(
    records: tuple[ConsumerRecord[Any, Any], ...],
    original: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[Any]],
) -> Any:
    return await original(tuple(_text_headers(r) for r in records))


async def _no_body_decoding(_message: Any, _original: Callable[[Any], Awaitable[Any]]) -> None:
    # The handler decodes each record itself (see EventConsumer._decode), so a body that is
    # not what its content-type header claims cannot fail the batch before it is handled.
    return None


@dataclass
class Delivery:
    record: ConsumerRecord[Any, Any]
    envelope: Envelope | None = None
    error: str | None = None
    contact: ContactDetails | None = None
    account_id: str | None = None  # set for a decoded contacts record (or tombstone)
    digest: str | None = None  # a contacts record's signed digest
    version: int | None = None  # a contacts record's version (None: tombstone, or older)
    # Names positions the log does not hold (``error`` says which): dead-lettered, and
    # counted as passed if it continues its chain.
    held_back: bool = False
    # Set by the transaction that judges it: why its chain (or version) refuses it, and
    # whether it continues its chain.
    refused: str | None = None
    linked: bool = False
    dead_lettered: bool = False

    @property
    def chain_key(self) -> tuple[str, str]:
        assert self.envelope is not None
        return (self.record.topic, self.envelope.aggregate_id)

    @property
    def decoded(self) -> bool:
        return self.envelope is not None or self.account_id is not None

    @property
    def kind(self) -> str:
        if self.envelope is not None:
            return self.envelope.type
        return "ContactDetails" if self.contact is not None else "ContactErased"


class EventConsumer:
    """One consumer group reading event topics and applying ``handler`` to each event."""

    def __init__(
        self,
        *,
        name: str,
        db: Database,
        broker: KafkaBroker,
        topics: Sequence[str],
        group_id: str,
        handler: EventHandler,
        batch_size: int = 500,
        retries: int = 3,
        backoff: float = 0.2,
        consumer_options: dict[str, Any] | None = None,
        progress: Progress | None = None,
        inbox_group: str | None = None,
        topic_names: Topics | None = None,
        awaits_topics: Collection[str] = (),
        causal_wait: float = 30.0,
        upstream_caught_up: Callable[[set[str]], Awaitable[None]] | None = None,
        trusted_keys: TrustedKeys | None = None,
    ) -> None:
        self.name = name
        # Checked before anything is applied: the event's producer is its topic's, its hash
        # matches, and a trusted key of that producer signed it (hackathon_shared.signing).
        # None only where a test exercises other parts of the consumer on its own.
        self.trusted_keys = trusted_keys
        self.db = db
        self.broker = broker
        self.topics = list(topics)
        self.group_id = group_id
        self.handler = handler
        self.batch_size = batch_size
        self.retries = retries
        self.backoff = backoff
        self.consumer_options = consumer_options or {}
        self.dead_lettered = 0  # messages this instance sent to a DLQ
        self.progress = progress or Progress()
        # Redeliveries are recognised by this name: the service's, shared by its consumers of
        # each topic (event ids are unique across topics).
        self.inbox_group = inbox_group or group_id
        self.topic_names = topic_names or Topics()
        # Topics whose facts, named by an event's ``seen``, this service applies (through
        # another consumer of its own) and so can wait for.
        self.awaits_topics = frozenset(awaits_topics)
        self.causal_wait = causal_wait
        # The named positions the current batch is waiting for (empty when it waits for none).
        self.waiting_for: dict[tuple[str, str], int] = {}
        # The barrier on the given (prefixed) topics: after a wait's bound, it tells a fact
        # that is late from one that is not in the log at all.
        self.upstream_caught_up = upstream_caught_up

    def register(self) -> None:
        """Attach the subscriber to the broker (before the broker starts)."""

        async def on_batch(body: Any, msg: KafkaMessage) -> None:
            records = msg.raw_message
            if not isinstance(records, tuple):
                records = (records,)
            await self.handle_records(records)

        subscriber = self.broker.subscriber(
            *self.topics,
            group_id=self.group_id,
            batch=True,
            max_records=self.batch_size,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            parser=_tolerant_parser,
            decoder=_no_body_decoding,
            **self.consumer_options,
        )
        subscriber(on_batch)

    async def handle_records(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        deliveries = await self._decode_batch(records)
        good = [d for d in deliveries if d.decoded]
        for delivery in await self._wait_for_seen(good):
            delivery.held_back = True
        positions = _next_offsets(deliveries)
        recorded = False
        try:
            await self._apply_in_one_transaction(good, positions)
            recorded = True
        except Exception as batch_error:
            if _is_transient(batch_error) and len(good) <= 1:
                await self._back_off_and_raise(batch_error)
            log.warning(
                "%s: batch of %d failed (%r); isolating one event at a time",
                self.name,
                len(good),
                batch_error,
            )
            for delivery in good:
                await self._apply_with_retries(delivery)
        for delivery in deliveries:
            if delivery.dead_lettered:
                continue
            if delivery.refused is not None:
                delivery.error = delivery.refused
            if delivery.refused is not None or not delivery.decoded or delivery.held_back:
                await self._dead_letter(delivery)
        if not recorded:
            # Dead-lettered records count as passed: nothing waits for them for ever.
            async with self.db.transaction() as session:
                await record_positions(session, self.progress.log_id, positions)
        self.progress.applied()

    def _requirements(self, deliveries: Sequence[Delivery]) -> dict[tuple[str, str], int]:
        """The positions the batch's events name that this service applies elsewhere."""
        needed: dict[tuple[str, str], int] = {}
        for delivery in deliveries:
            envelope = delivery.envelope
            if envelope is None:
                continue
            for fact in getattr(envelope.payload, "seen", None) or ():
                topic = self.topic_names.events_of(fact.producer)
                if topic not in self.awaits_topics or topic == delivery.record.topic:
                    continue
                key = (topic, fact.aggregate_id)
                needed[key] = max(needed.get(key, 0), fact.sequence)
        return needed

    async def _wait_for_seen(self, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Wait until the service has applied every position the batch's events name.
        Returns the events that name a position the log does not hold (found once the bound
        passed and the other topics' consumers had reached their log's end): forged or
        broken, they go to the dead-letter topic rather than stop the consumer. If the other
        consumers are behind instead, the batch is fetched again later."""
        needed = self._requirements(deliveries)
        if not needed:
            return []
        try:
            missing = await self._wait_until_applied(
                needed, time.monotonic() + self.causal_wait, 0.002
            )
            if not missing:
                return []
            described = ", ".join(f"{t}/{a}#{seq}" for (t, a), seq in sorted(missing.items()))
            if self.upstream_caught_up is None:
                log.error("%s: still waiting for %s; batch will come again", self.name, described)
                raise TimeoutError(f"named positions not applied yet: {described}")
            try:
                await self.upstream_caught_up({topic for topic, _aggregate in missing})
            except ProblemError as behind:
                log.error("%s: still waiting for %s; batch will come again", self.name, described)
                raise TimeoutError(f"named positions not applied yet: {described}") from behind
            missing = await self._wait_until_applied(missing, time.monotonic(), 0.0)
        finally:
            self.waiting_for = {}
        unfounded = [d for d in deliveries if set(self._requirements([d])) & set(missing)]
        for delivery in unfounded:
            delivery.error = "names positions the log does not hold: " + ", ".join(
                f"{t}/{a}#{seq}" for (t, a), seq in sorted(self._requirements([delivery]).items())
            )
        return unfounded

    async def _wait_until_applied(
        self, needed: dict[tuple[str, str], int], deadline: float, delay: float
    ) -> dict[tuple[str, str], int]:
        """Wait, at most until ``deadline``, for the positions; returns those still missing."""
        while True:
            async with self.db.sessions() as session:
                applied = await applied_sequences(session, needed)
            needed = {k: seq for k, seq in needed.items() if applied.get(k, 0) < seq}
            self.waiting_for = needed
            left = deadline - time.monotonic()
            if not needed or left <= 0:
                return needed
            await self.progress.wait_applied(min(delay, left))
            delay = min(delay * 2, 0.05)

    async def _decode_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> list[Delivery]:
        """Each record decoded and checked, in order. Checking a signature (about 64 us of
        Ed25519 each) releases the GIL, so a batch that is checked is split over two worker
        threads: on two cores that halves what signatures cost a catch-up
        (docs/benchmarks.md)."""
        if self.trusted_keys is None or len(records) < PARALLEL_CHECK_AT:
            return [self._decode(record) for record in records]
        middle = len(records) // 2
        first, second = await asyncio.gather(
            asyncio.to_thread(lambda: [self._decode(r) for r in records[:middle]]),
            asyncio.to_thread(lambda: [self._decode(r) for r in records[middle:]]),
        )
        return first + second

    def _decode(self, record: ConsumerRecord[Any, Any]) -> Delivery:
        if record.value is None:
            return Delivery(record, error="empty message (tombstone) on an event topic")
        try:
            envelope = decode_event(record.value)
        except EventDecodeError as error:
            return Delivery(record, error=f"undecodable event: {error}")
        value = record.value
        refused = self._refused(
            record, lambda producer, headers: self._check(envelope, value, headers, producer)
        )
        if refused is not None:
            return Delivery(record, error=refused)
        return Delivery(record, envelope=envelope)

    def _check(
        self, envelope: Envelope, raw: bytes, headers: dict[str, str], producer: str
    ) -> None:
        assert self.trusted_keys is not None
        self.trusted_keys.check(envelope, headers, producer, raw=raw)

    def _refused(
        self,
        record: ConsumerRecord[Any, Any],
        check: Callable[[str, dict[str, str]], None],
    ) -> str | None:
        """Why the record is not applied (signature, producer), or None; None too when this
        consumer checks no signatures."""
        if self.trusted_keys is None:
            return None
        producer = self.topic_names.producer_of(record.topic)
        if producer is None:
            return f"not signed by anyone who publishes on {record.topic}"
        try:
            check(producer, text_headers(record.headers))
        except SignatureRefused as error:
            return f"refused, not applied: {error}"
        except Exception as error:  # anything a crafted record makes the check raise
            return f"refused, not applied: its signature could not be checked: {error!r}"
        return None

    async def _apply(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> int:
        """Claim the events in the inbox, judge each against its chain's head
        (``hackathon_shared.chain``) in order, and apply those that continue it, as one
        batch (``hackathon_shared.batch``): a copy delivered again, or twice in this batch,
        is skipped; an event its chain refuses is marked (``refused``) for the dead-letter
        topic and changes nothing. The heads are read once per batch, after the claim (which
        waits for a replica claiming the same events) and after the positions (whose rows
        the caller has written first, so that two replicas finishing batches of one
        partition take turns): a decision is never taken on a head another replica is
        moving. Returns how many events were applied."""
        for delivery in deliveries:
            delivery.refused, delivery.linked = None, False
        if not deliveries:
            return 0
        claims: dict[str, str] = {}
        for delivery in deliveries:
            assert delivery.envelope is not None
            claims.setdefault(str(delivery.envelope.event_id), delivery.record.topic)
        fresh = await claim(session, self.inbox_group, claims.items())
        heads = await chain_heads(session, {d.chain_key for d in deliveries})
        chains, judged = self._judge(deliveries, fresh, heads, {})
        behind = [d for d, judgement in judged if judgement.behind]
        if behind:
            assert all(d.envelope is not None for d in behind)
            passed = await passed_events(
                session,
                [(*d.chain_key, d.envelope.sequence) for d in behind if d.envelope is not None],
            )
            if passed:
                chains, judged = self._judge(deliveries, fresh, heads, passed)
        events: list[Envelope] = []
        passed_now: list[tuple[str, Envelope]] = []
        taken_back: list[str] = []
        duplicates: Counter[str] = Counter()
        for delivery, judgement in judged:
            envelope = delivery.envelope
            assert envelope is not None
            if judgement.verdict is Verdict.DUPLICATE:
                duplicates[delivery.record.topic] += 1
                continue
            if judgement.verdict is Verdict.REFUSE:
                delivery.refused = f"refused, not applied: {judgement.reason}"
                taken_back.append(str(envelope.event_id))
                continue
            delivery.linked = True
            if delivery.held_back:
                taken_back.append(str(envelope.event_id))
                passed_now.append((delivery.record.topic, envelope))
            else:
                events.append(envelope)
        for topic, count in duplicates.items():
            EVENTS_DUPLICATE.labels(self.name, topic).inc(count)
        await unclaim(session, self.inbox_group, taken_back)
        async with applying(session, events):
            for envelope in events:
                await self.handler(session, envelope)
        await record_sequences(session, chains.moved)
        await record_passed(session, passed_now)
        return len(events)

    @staticmethod
    def _judge(
        deliveries: Sequence[Delivery],
        fresh: set[str],
        heads: dict[tuple[str, str], Head],
        passed: dict[tuple[str, str, int], str],
    ) -> tuple[Chains, list[tuple[Delivery, Judgement]]]:
        chains = Chains(heads, passed)
        seen: set[str] = set()
        judged = []
        for delivery in deliveries:
            envelope = delivery.envelope
            assert envelope is not None
            event_id = str(envelope.event_id)
            applied_before = event_id not in fresh or event_id in seen
            seen.add(event_id)
            judgement = chains.judge(delivery.record.topic, envelope, applied_before=applied_before)
            judged.append((delivery, judgement))
        return chains, judged

    async def _apply_in_one_transaction(
        self, deliveries: Sequence[Delivery], positions: dict[TopicPartition, int]
    ) -> None:
        async with self.db.transaction() as session:
            # First: the positions' rows stay locked until the commit (PostgreSQL), so that a
            # replica that still finishes a batch of these partitions waits, and the chain
            # heads read next include whatever it applied.
            await record_positions(session, self.progress.log_id, positions)
            await self._apply(session, deliveries)
        consumed = Counter((d.record.topic, d.kind) for d in deliveries)
        for (topic, kind), count in consumed.items():
            EVENTS_CONSUMED.labels(self.name, topic, kind).inc(count)

    async def _apply_with_retries(self, delivery: Delivery) -> None:
        attempt = 0
        while True:
            try:
                await self._apply_in_one_transaction([delivery], _next_offsets([delivery]))
                return
            except Exception as error:
                HANDLER_ERRORS.labels(self.name, delivery.record.topic).inc()
                attempt += 1
                if attempt <= self.retries:
                    log.warning(
                        "%s: event at %s[%d]@%d failed (attempt %d): %r",
                        self.name,
                        delivery.record.topic,
                        delivery.record.partition,
                        delivery.record.offset,
                        attempt,
                        error,
                    )
                    await asyncio.sleep(self.backoff * 2 ** (attempt - 1))
                    continue
                if _is_transient(error):
                    await self._back_off_and_raise(error)
                delivery.error = f"handler failed after {attempt} attempts: {error!r}"
                await self._dead_letter(delivery)
                await self._count_as_passed(delivery)
                return

    async def _count_as_passed(self, delivery: Delivery) -> None:
        """A real event whose handler failed for good, dead-lettered: if it continued its
        chain, the chain goes on past it (so the aggregate's next events are not refused for
        a gap), and the same event sent again is applied (``PassedEvent``)."""
        envelope = delivery.envelope
        if envelope is None or not delivery.linked:
            return
        async with self.db.transaction() as session:
            await record_positions(session, self.progress.log_id, _next_offsets([delivery]))
            await record_sequences(
                session, {delivery.chain_key: Head(envelope.sequence, envelope.hash)}
            )
            await record_passed(session, [(delivery.record.topic, envelope)])

    async def _back_off_and_raise(self, error: BaseException) -> None:
        # The infrastructure, not the message, is at fault: leave the offset uncommitted so
        # the batch comes again, after a pause rather than in a hot loop.
        log.error("%s: transient failure, batch will be redelivered: %r", self.name, error)
        await asyncio.sleep(self.backoff * 2**self.retries)
        raise error

    async def _dead_letter(self, delivery: Delivery) -> None:
        record = delivery.record
        error = delivery.error or "unknown error"
        # The record's own headers (its signature and key id among them) go along, so that
        # a real event can be sent again from the DLQ and the DLQ shows who signed what.
        original = {
            name: value
            for name, value in text_headers(record.headers).items()
            if not name.startswith("x-")
        }
        headers = {
            **original,
            "x-original-topic": record.topic,
            "x-original-partition": str(record.partition),
            "x-original-offset": str(record.offset),
            "x-consumer-group": self.group_id,
            "x-error": error[:2000],
            "x-failed-at": datetime.now(UTC).isoformat(),
        }
        await self.broker.publish(
            record.value if record.value is not None else b"",
            dlq(record.topic),
            key=record.key,
            headers=headers,
        )
        DEAD_LETTERED.labels(self.name, record.topic).inc()
        self.dead_lettered += 1
        delivery.dead_lettered = True
        log.error(
            "%s: %s[%d]@%d dead-lettered: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            error,
        )


def _next_offsets(deliveries: Sequence[Delivery]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last record of ``deliveries``."""
    positions: dict[TopicPartition, int] = {}
    for delivery in deliveries:
        record = delivery.record
        tp = TopicPartition(record.topic, record.partition)
        positions[tp] = max(positions.get(tp, 0), record.offset + 1)
    return positions


class ContactConsumer(EventConsumer):
    """A consumer group on the compacted ``registration.contacts`` topic. Its records are not
    events (no envelope, no event id): the key is the account id and the value the latest
    contact details or a tombstone, so applying one is an idempotent upsert or delete and no
    inbox is kept. A record without a key or with an invalid value goes to the DLQ, and so
    does one that its version shows to be older than what was applied
    (``hackathon_shared.record_versions``)."""

    def __init__(self, *, contact_handler: ContactHandler, **kwargs: Any) -> None:
        super().__init__(handler=_no_event_handler, **kwargs)
        self.contact_handler = contact_handler

    def _decode(self, record: ConsumerRecord[Any, Any]) -> Delivery:
        key = record.key
        if isinstance(key, bytes | bytearray):
            key = bytes(key).decode("utf-8", "replace")
        if not key:
            return Delivery(record, error="contact record without an account id key")
        try:
            contact = decode_contact(record.value)
            version = version_of(record.value)
        except (EventDecodeError, VersionError) as error:
            return Delivery(record, error=f"undecodable contact record: {error}")
        digest = record_digest(key.encode(), record.value)
        refused = self._refused(
            record,
            lambda producer, headers: self._check_record(digest, headers, producer),
        )
        if refused is not None:
            return Delivery(record, error=refused)
        if contact is not None and contact.account_id != key:
            return Delivery(record, error="contact record's account id differs from its key")
        return Delivery(record, contact=contact, account_id=key, digest=digest, version=version)

    def _check_record(self, digest: str, headers: dict[str, str], producer: str) -> None:
        assert self.trusted_keys is not None
        self.trusted_keys.check_signature(digest, headers, producer)

    async def _apply(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> int:
        """Judge each record against its key's version (read once per batch, after the
        positions' rows, as events' chains are) and apply, in order, those it lets through."""
        for delivery in deliveries:
            delivery.refused = None
        applied: list[Delivery] = []
        duplicates: Counter[str] = Counter()
        for topic in dict.fromkeys(d.record.topic for d in deliveries):
            mine = [d for d in deliveries if d.record.topic == topic]
            versions = await read_versions(session, topic, {d.account_id or "" for d in mine})
            for delivery in mine:
                assert delivery.account_id is not None and delivery.digest is not None
                verdict, reason = versions.judge(
                    delivery.account_id,
                    tombstone=delivery.contact is None,
                    version=delivery.version,
                    digest=delivery.digest,
                )
                if verdict is RecordVerdict.REFUSE:
                    delivery.refused = f"refused, not applied: {reason}"
                elif verdict is RecordVerdict.DUPLICATE:
                    duplicates[topic] += 1
                else:
                    applied.append(delivery)
            await write_versions(session, topic, versions)
        for topic, count in duplicates.items():
            EVENTS_DUPLICATE.labels(self.name, topic).inc(count)
        contacts = [(d.account_id, d.contact) for d in applied]
        async with applying(session, contacts):
            for account_id, contact in contacts:
                assert account_id is not None
                await self.contact_handler(session, account_id, contact)
        return len(applied)


async def _no_event_handler(_session: AsyncSession, _event: Envelope) -> None:
    raise AssertionError("a contacts consumer receives no events")
