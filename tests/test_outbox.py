"""The transactional outbox and its relay, on a real broker and real databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from hackathon_shared.events.catalogue import AccountCreated, AccountCreatedPayload, decode_event
from hackathon_shared.events.envelope import GENESIS_HASH, verify_chain
from hackathon_shared.outbox import Outbox, OutboxRelay
from hackathon_shared.topics import REGISTRATION_EVENTS, Topics
from tests.messaging_helpers import RunningConsumer, read_records, wait_for_committed
from tests.support.tally import TallyRow, count_event, count_rows, migrate, tallies


async def read_topic(bootstrap: str, topic: str, expected: int) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in await read_records(bootstrap, topic, expected)]


def created(account_id: str) -> AccountCreatedPayload:
    return AccountCreatedPayload(account_id=account_id, roles=["participant"])


async def test_state_change_and_event_commit_together(
    database_url: str, broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    db = await migrate(database_url)
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")
    async with db.transaction() as session:
        session.add(TallyRow(account_id="acc_1", count=0))
        envelope = await outbox.append(
            session, AccountCreated, created("acc_1"), aggregate_id="acc_1"
        )
    relay = OutboxRelay(db, broker)
    assert await relay.publish_pending() == 1
    assert await relay.backlog() == 0

    [published] = await read_topic(kafka_bootstrap, topics.name(REGISTRATION_EVENTS), 1)
    assert published["event_id"] == str(envelope.event_id)
    assert published["sequence"] == 1
    assert published["prev_hash"] == GENESIS_HASH
    assert published["aggregate_id"] == "acc_1"
    assert await tallies(db) == {"acc_1": 0}
    await db.dispose()


async def test_rolled_back_transaction_publishes_nothing(
    database_url: str, broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str
) -> None:
    db = await migrate(database_url)
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        async with db.transaction() as session:
            session.add(TallyRow(account_id="acc_rolled_back", count=0))
            await outbox.append(
                session, AccountCreated, created("acc_rolled_back"), aggregate_id="acc_rolled_back"
            )
            raise Refused
    # A later, committed event shows the relay ran and what reached the topic.
    async with db.transaction() as session:
        await outbox.append(session, AccountCreated, created("acc_kept"), aggregate_id="acc_kept")
    relay = OutboxRelay(db, broker)
    assert await relay.publish_pending() == 1
    messages = await read_topic(kafka_bootstrap, topics.name(REGISTRATION_EVENTS), 1)
    assert [m["aggregate_id"] for m in messages] == ["acc_kept"]
    assert await tallies(db) == {}
    assert await count_rows(db, "outbox") == 1
    await db.dispose()


async def test_relay_crash_before_marking_republishes_and_inbox_absorbs(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    producer_db = await migrate(database_url)
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")
    async with producer_db.transaction() as session:
        await outbox.append(session, AccountCreated, created("acc_2"), aggregate_id="acc_2")

    class Crash(Exception):
        pass

    crashing = OutboxRelay(producer_db, broker)

    async def crash_before_marking(_rows: object, _session: object = None) -> None:
        raise Crash

    crashing.mark_published = crash_before_marking  # type: ignore[method-assign]
    with pytest.raises(Crash):
        await crashing.publish_pending()
    assert await crashing.backlog() == 1  # published, but not marked

    # A consumer with its own database applies the first copy and commits its offset ...
    topic = topics.name(REGISTRATION_EVENTS)
    consumer_url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('consumer') / 'c.db'}"
    consumer_db = await migrate(consumer_url)
    async with running_consumer(topic, consumer_db, count_event) as consumer:
        await wait_for_committed(kafka_bootstrap, group_id, topic, 1)
        assert await tallies(consumer_db) == {"acc_2": 1}

        # ... then the restarted relay publishes the row again, in a later batch of its own,
        # and only the inbox stands between the duplicate and a second count.
        restarted = OutboxRelay(producer_db, broker)
        assert await restarted.publish_pending() == 1
        assert await restarted.backlog() == 0
        copies = await read_topic(kafka_bootstrap, topic, 2)
        assert len(copies) == 2 and copies[0]["event_id"] == copies[1]["event_id"]
        await wait_for_committed(kafka_bootstrap, group_id, topic, 2)
        assert await tallies(consumer_db) == {"acc_2": 1}
        assert await count_rows(consumer_db, "inbox") == 1
        assert consumer.dead_lettered == 0  # absorbed, not rejected
    await consumer_db.dispose()
    await producer_db.dispose()


async def test_sequences_and_hash_chain_per_aggregate(database_url: str, topic_prefix: str) -> None:
    db = await migrate(database_url)
    outbox = Outbox(Topics(topic_prefix), "registration")
    for _ in range(3):
        async with db.transaction() as session:
            await outbox.append(session, AccountCreated, created("acc_a"), aggregate_id="acc_a")
            await outbox.append(session, AccountCreated, created("acc_b"), aggregate_id="acc_b")
    async with db.transaction() as session:
        await outbox.append(session, AccountCreated, created("acc_a"), aggregate_id="acc_a")

    async with db.sessions() as session:
        rows = (
            await session.exec(  # type: ignore[call-overload]
                text("SELECT value FROM outbox ORDER BY id")
            )
        ).all()
    events = [decode_event(row[0]) for row in rows]
    assert [e.sequence for e in events if e.aggregate_id == "acc_a"] == [1, 2, 3, 4]
    assert [e.sequence for e in events if e.aggregate_id == "acc_b"] == [1, 2, 3]
    assert verify_chain(events) == []

    edited_payload = events[0].payload.model_copy(update={"roles": ["organizer"]})
    edited = [events[0].model_copy(update={"payload": edited_payload}), *events[1:]]
    assert any("hash" in b.problem for b in verify_chain(edited))

    a_events = [e for e in events if e.aggregate_id == "acc_a"]
    deleted = [a_events[0], a_events[2], a_events[3]]
    assert any("gap" in b.problem for b in verify_chain(deleted))

    swapped = [a_events[1], a_events[0], a_events[2], a_events[3]]
    assert verify_chain(swapped)
    await db.dispose()


async def test_a_relay_that_cannot_mark_sends_each_row_once_and_backs_off(
    broker: KafkaBroker, kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    db = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}")
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")
    async with db.transaction() as session:
        await outbox.append(session, AccountCreated, created("acc_3"), aggregate_id="acc_3")
    # The database stops accepting writes (as a read-only file system or a full disk would):
    # every connection the relay takes from the pool refuses to write.
    read_only = True

    @sa_event.listens_for(db.engine.sync_engine, "checkout")
    def _refuse_writes(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA query_only = {int(read_only)}")
        cursor.close()

    relay = OutboxRelay(db, broker)
    for _round in range(3):  # the broker accepts the row, the mark fails, round after round
        with pytest.raises(OperationalError, match="readonly database"):
            await relay.publish_pending()
    assert await relay.backlog() == 1
    assert relay.failures == 0  # counted by the relay's loop (run), not by a single round
    waits = []
    for failures in (1, 2, 3, 10):
        relay.failures = failures
        waits.append(relay.backoff())
    assert waits == [0.2, 0.4, 0.8, 5.0]
    relay.failures = 0

    read_only = False  # the database recovers: the row is marked, and not sent again
    assert await relay.publish_pending() == 1
    assert await relay.backlog() == 0
    # A later event of the same account, so on the same partition, right behind: had the
    # first been sent twice, the second record read would be its copy.
    async with db.transaction() as session:
        await outbox.append(session, AccountCreated, created("acc_3"), aggregate_id="acc_3")
    assert await relay.publish_pending() == 1
    messages = await read_topic(kafka_bootstrap, topics.name(REGISTRATION_EVENTS), 2)
    assert [(m["aggregate_id"], m["sequence"]) for m in messages] == [("acc_3", 1), ("acc_3", 2)]
    await db.dispose()
