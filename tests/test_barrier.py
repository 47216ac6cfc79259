"""The consistency plumbing on the real broker and real databases: where the log ends
(``LogEnds``), the barrier that waits for a service's stored positions to reach it, the
positions and sequences a consumer stores with its effects, causal delivery of an event that
names the facts it was decided on, and a write's wait until its outbox rows are in the log.

The service here is the test service of ``tests/support`` (a tally per aggregate), run with
the shared consumer and outbox exactly as the platform's services run them."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from faststream.kafka import KafkaBroker
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.barrier import Barrier
from hackathon_shared.consumer import EventConsumer
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    SeenFact,
    SubmissionReceived,
    SubmissionReceivedPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
    TeamRegistered,
    TeamRegisteredPayload,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.log_end import LogEnds, partition_of
from hackathon_shared.outbox import (
    Outbox,
    OutboxRelay,
    begin_acknowledgement,
    committed_rows,
    end_acknowledgement,
)
from hackathon_shared.positions import Progress, record_positions
from hackathon_shared.problems import ProblemError
from hackathon_shared.topics import REGISTRATION_EVENTS, SUBMISSIONS_EVENTS, Topics
from tests.polling import wait_until
from tests.support.tally import TallyRow, migrate, tallies

# --------------------------------------------------------------------------------------------
# Where the log ends
# --------------------------------------------------------------------------------------------


async def test_the_log_end_is_the_end_of_the_last_batch_not_its_start(
    broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Ten records sent together leave in one batch; the end read is after the tenth (Tansu's
    ListOffsets would say after the first), and every partition is answered."""
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=20)
    await producer.start()
    ends = LogEnds(kafka_bootstrap)
    try:
        partitions = await ends.partitions(topic)
        wanted = [TopicPartition(topic, p) for p in partitions]
        assert await ends.ends(wanted) == dict.fromkeys(wanted, 0)
        sent = [await producer.send(topic, b"x", partition=0) for _ in range(10)]
        acknowledged = await asyncio.gather(*sent)
        assert [m.offset for m in acknowledged] == list(range(10))
        assert (await ends.ends(wanted))[TopicPartition(topic, 0)] == 10
        more = [await producer.send(topic, b"y", partition=2) for _ in range(3)]
        await asyncio.gather(*more)
        assert await ends.ends(wanted) == {wanted[0]: 10, wanted[1]: 0, wanted[2]: 3}
    finally:
        await ends.close()
        await producer.stop()


async def test_callers_at_the_same_time_share_one_fetch(
    broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    ends = LogEnds(kafka_bootstrap)
    try:
        wanted = [TopicPartition(topic, p) for p in await ends.partitions(topic)]
        await ends.ends(wanted)
        before = ends.rounds
        answers = await asyncio.gather(*(ends.ends(wanted) for _ in range(50)))
        assert all(answer == answers[0] for answer in answers)
        assert ends.rounds - before <= 2
    finally:
        await ends.close()


async def test_callers_sharing_a_fetch_each_get_only_their_own_partitions(
    broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """A barrier and the log watch (its own topics, which the service does not consume) may
    share one round: each gets the ends it asked for, never the other's. A barrier that got
    the watch's too waited for positions its service never stores: a 503 every 3 s."""
    topics = Topics(topic_prefix)
    mine, theirs = topics.name(REGISTRATION_EVENTS), topics.name(SUBMISSIONS_EVENTS)
    ends = LogEnds(kafka_bootstrap)
    try:
        wanted = [TopicPartition(mine, p) for p in await ends.partitions(mine)]
        other = [TopicPartition(theirs, p) for p in await ends.partitions(theirs)]
        before = ends.rounds
        first, second = await asyncio.gather(ends.ends(wanted), ends.ends(other))
        assert ends.rounds - before == 1  # one shared round
        assert set(first) == set(wanted)
        assert set(second) == set(other)
    finally:
        await ends.close()


async def test_a_key_partition_is_the_producers(
    broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for number in range(30):
            key = f"team_{uuid.uuid4().hex}_{number}"
            sent = await (await producer.send(topic, b"x", key=key.encode()))
            assert sent.partition == partition_of(key, 3)
    finally:
        await producer.stop()


# --------------------------------------------------------------------------------------------
# The barrier and the positions a consumer stores
# --------------------------------------------------------------------------------------------


def account_created(account_id: str) -> Envelope:
    return seal(
        AccountCreated,
        payload=AccountCreatedPayload(account_id=account_id, roles=["participant"]),
        aggregate_id=account_id,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


async def count_per_aggregate(session: AsyncSession, event: Envelope) -> None:
    row = await session.get(TallyRow, event.aggregate_id)
    row = row or TallyRow(account_id=event.aggregate_id, count=0)
    row.count += 1
    session.add(row)


class Service:
    """The test service's consumers of some topics, with the progress they share."""

    def __init__(
        self,
        db: Database,
        bootstrap: str,
        prefix: str,
        settings: dict[str, Any],
        group: str,
        log_id: str = "log-under-test",
    ) -> None:
        self.db = db
        self.bootstrap = bootstrap
        self.topics = Topics(prefix)
        self.settings = settings
        self.group = group
        self.progress = Progress(log_id)
        self.order: list[str] = []
        self.brokers: list[KafkaBroker] = []

    async def handler(self, session: AsyncSession, event: Envelope) -> None:
        await count_per_aggregate(session, event)
        self.order.append(f"{event.type}#{event.sequence}")

    async def start(
        self,
        topic: str,
        awaits: tuple[str, ...] = (),
        causal_wait: float = 20,
        barrier: Barrier | None = None,
    ) -> EventConsumer:
        broker = KafkaBroker(self.bootstrap, enable_idempotence=False, logger=None)
        name = self.topics.name(topic)
        consumer = EventConsumer(
            name="tally",
            db=self.db,
            broker=broker,
            topics=[name],
            group_id=f"{self.group}.{topic}",
            inbox_group=self.group,
            handler=self.handler,
            backoff=0.02,
            consumer_options={**self.settings, "fetch_max_wait_ms": 10, "batch_timeout_ms": 5},
            progress=self.progress,
            topic_names=self.topics,
            awaits_topics={self.topics.name(t) for t in awaits},
            causal_wait=causal_wait,
            upstream_caught_up=None if barrier is None else self._caught_up(barrier),
        )
        consumer.register()
        await broker.start()
        self.brokers.append(broker)
        return consumer

    def _caught_up(self, barrier: Barrier) -> Any:
        async def on(topics: set[str]) -> None:
            prefix = self.topics.prefix
            await barrier.caught_up(dict.fromkeys(t.removeprefix(prefix) for t in topics))

        return on

    async def stop(self) -> None:
        for broker in self.brokers:
            await broker.stop()


async def test_the_barrier_returns_once_the_service_applied_what_the_log_had(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    service = Service(db, kafka_bootstrap, topic_prefix, dict(kafka_consumer_settings), group_id)
    ends = LogEnds(kafka_bootstrap)
    barrier = Barrier(db, ends, Topics(topic_prefix), service.progress, timeout=10)
    try:
        await service.start(REGISTRATION_EVENTS)
        for round_number in range(5):
            accounts = [f"acc_{round_number}_{n}" for n in range(8)]
            for account in accounts:
                event = account_created(account)
                await broker.publish(event.to_json().encode(), topic, key=account.encode())
            # Right after the writes were accepted by the broker: nothing else to wait for.
            await barrier.caught_up({REGISTRATION_EVENTS: None})
            counted = await tallies(db)
            assert all(counted.get(account) == 1 for account in accounts), counted
    finally:
        await service.stop()
        await ends.close()
        await db.dispose()


async def test_the_barrier_answers_catching_up_when_the_service_is_behind(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    """No consumer runs: the service never reaches the end, and positions stored for another
    log (a broker that lost its log) do not count as progress in this one."""
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    event = account_created("acc_behind")
    await broker.publish(event.to_json().encode(), topic, key=b"acc_behind")
    ends = LogEnds(kafka_bootstrap)
    progress = Progress("the-log-now")
    async with db.transaction() as session:
        far = {TopicPartition(topic, p): 10_000 for p in range(3)}
        await record_positions(session, "a-log-that-is-gone", far)
    barrier = Barrier(db, ends, Topics(topic_prefix), progress, timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(ProblemError) as refused:
            await barrier.caught_up({REGISTRATION_EVENTS: ["acc_behind"]})
        assert refused.value.status == 503
        assert refused.value.kind == "catching-up"
        assert refused.value.headers == {"Retry-After": "1"}
        assert time.monotonic() - started < 3
        # Keys elsewhere are not held up by it: their partitions are empty.
        others = [f"acc_{n}" for n in range(40)]
        empty = next(key for key in others if partition_of(key, 3) != partition_of("acc_behind", 3))
        await barrier.caught_up({REGISTRATION_EVENTS: [empty]})
    finally:
        await ends.close()
        await db.dispose()


# --------------------------------------------------------------------------------------------
# Causal delivery
# --------------------------------------------------------------------------------------------


def team_events(team_id: str) -> list[Envelope]:
    registered = seal(
        TeamRegistered,
        payload=TeamRegisteredPayload(
            team_id=team_id,
            hackathon_id="hck_1",
            name="Otters",
            challenge_id="chl_1",
            captain_id="acc_cap",
            members=["acc_cap"],
        ),
        aggregate_id=team_id,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )
    joined = seal(
        TeamMemberJoined,
        payload=TeamMemberJoinedPayload(team_id=team_id, hackathon_id="hck_1", account_id="acc_b"),
        aggregate_id=team_id,
        sequence=2,
        prev_hash=registered.hash,
    )
    return [registered, joined]


def submission_seeing(team_id: str, team_sequence: int) -> Envelope:
    return seal(
        SubmissionReceived,
        payload=SubmissionReceivedPayload(
            submission_id="sub_1",
            hackathon_id="hck_1",
            team_id=team_id,
            challenge_id="chl_1",
            version=1,
            title="Water for all",
            summary="Sensors",
            kind="technology",
            submitted_by="acc_b",
            first_submitted_at=datetime.now(UTC),
            seen=[SeenFact(producer="registration", aggregate_id=team_id, sequence=team_sequence)],
        ),
        aggregate_id="sub_1",
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


async def test_an_event_is_applied_only_after_the_facts_it_names(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    """The submission names the team as of its second event. It arrives first, on its own
    topic: it is held (not applied, not dead-lettered) until the team's events are applied,
    and then applied after them."""
    db = await migrate(database_url)
    topics = Topics(topic_prefix)
    team_id = f"team_{uuid.uuid4().hex[:8]}"
    service = Service(db, kafka_bootstrap, topic_prefix, dict(kafka_consumer_settings), group_id)
    try:
        submissions = await service.start(SUBMISSIONS_EVENTS, awaits=(REGISTRATION_EVENTS,))
        await service.start(REGISTRATION_EVENTS)
        received = submission_seeing(team_id, 2)
        await broker.publish(
            received.to_json().encode(), topics.name(SUBMISSIONS_EVENTS), key=b"sub_1"
        )

        async def holding() -> bool:
            return bool(submissions.waiting_for)

        await wait_until(holding, timeout=20, message="the submission held for the team")
        assert submissions.waiting_for == {(topics.name(REGISTRATION_EVENTS), team_id): 2}
        assert "sub_1" not in await tallies(db)

        registered, joined = team_events(team_id)
        await broker.publish(
            registered.to_json().encode(), topics.name(REGISTRATION_EVENTS), key=team_id.encode()
        )
        await broker.publish(
            joined.to_json().encode(), topics.name(REGISTRATION_EVENTS), key=team_id.encode()
        )

        async def applied() -> bool:
            return (await tallies(db)).get("sub_1") == 1

        await wait_until(applied, timeout=20, message="the submission applied")
        assert service.order.index("SubmissionReceived#1") > service.order.index(
            "TeamMemberJoined#2"
        )
        assert submissions.dead_lettered == 0
        assert (await tallies(db))[team_id] == 2
    finally:
        await service.stop()
        await db.dispose()


async def test_an_event_naming_a_position_the_log_lacks_is_dead_lettered(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    """A forged or broken event names team event 5 of a team whose log ends at 2: once the
    wait's bound passed and the team's consumer is at the log's end, it goes to the DLQ and
    the consumer goes on with the next event."""
    db = await migrate(database_url)
    topics = Topics(topic_prefix)
    team_id = f"team_{uuid.uuid4().hex[:8]}"
    service = Service(db, kafka_bootstrap, topic_prefix, dict(kafka_consumer_settings), group_id)
    ends = LogEnds(kafka_bootstrap)
    barrier = Barrier(db, ends, topics, service.progress, timeout=5)
    try:
        await service.start(REGISTRATION_EVENTS)
        for event in team_events(team_id):
            await broker.publish(
                event.to_json().encode(), topics.name(REGISTRATION_EVENTS), key=team_id.encode()
            )
        submissions = await service.start(
            SUBMISSIONS_EVENTS, awaits=(REGISTRATION_EVENTS,), causal_wait=0.5, barrier=barrier
        )
        forged = submission_seeing(team_id, 5)
        await broker.publish(
            forged.to_json().encode(), topics.name(SUBMISSIONS_EVENTS), key=b"sub_1"
        )
        fine = account_created("acc_after")  # behind it, on the same partition
        await broker.publish(fine.to_json().encode(), topics.name(SUBMISSIONS_EVENTS), key=b"sub_1")

        async def went_on() -> bool:
            return (await tallies(db)).get("acc_after") == 1

        await wait_until(went_on, timeout=20, message="the consumer went on")
        assert submissions.dead_lettered == 1
        counted = await tallies(db)
        assert "sub_1" not in counted
        assert counted[team_id] == 2
    finally:
        await service.stop()
        await ends.close()
        await db.dispose()


# --------------------------------------------------------------------------------------------
# An acknowledged write is in the log
# --------------------------------------------------------------------------------------------


async def test_a_write_waits_until_its_rows_are_in_the_log(
    database_url: str, broker: KafkaBroker, topic_prefix: str
) -> None:
    db = await migrate(database_url)
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")
    relay = OutboxRelay(db, broker, interval=5.0)  # only a commit wakes it here
    outbox.attach_wakeup(relay.wake)
    token = begin_acknowledgement()
    try:
        async with db.transaction() as session:
            await outbox.append(
                session,
                AccountCreated,
                AccountCreatedPayload(account_id="acc_ack", roles=["participant"]),
                aggregate_id="acc_ack",
            )
        rows = committed_rows()
        assert len(rows) == 1
        # No relay runs yet: the row is committed, not published, and the bound passes.
        assert not await relay.wait_published(rows, timeout=0.3)
        relay.start()
        assert await relay.wait_published(rows, timeout=5)
    finally:
        end_acknowledgement(token)
        await relay.stop()
        await db.dispose()


async def test_rows_of_a_rolled_back_transaction_are_not_counted(
    database_url: str, broker: KafkaBroker, topic_prefix: str
) -> None:
    db = await migrate(database_url)
    outbox = Outbox(Topics(topic_prefix), "registration")
    token = begin_acknowledgement()
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                await outbox.append(
                    session,
                    AccountCreated,
                    AccountCreatedPayload(account_id="acc_no", roles=["participant"]),
                    aggregate_id="acc_no",
                )
                raise RuntimeError("the use case refused after all")
        assert committed_rows() == []
    finally:
        end_acknowledgement(token)
        await db.dispose()
