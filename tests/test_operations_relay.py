"""The outbox relay with several replicas of a service on one PostgreSQL database: every row
is published, by one replica, in per-aggregate order, and a consumer applies each event once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import AccountCreated, AccountCreatedPayload
from hackathon_shared.messaging_tables import OutboxRecord
from hackathon_shared.outbox import Outbox, OutboxRelay
from hackathon_shared.topics import REGISTRATION_EVENTS, Topics
from tests.database_fixtures import fresh_postgres_database
from tests.messaging_helpers import RunningConsumer, read_records, wait_for_committed
from tests.polling import wait_until
from tests.support.tally import count_event, count_rows, migrate, tallies


@pytest.fixture
def postgres_database() -> Iterator[str]:
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def second_broker(kafka_bootstrap: str) -> AsyncIterator[KafkaBroker]:
    """Another replica's broker connection."""
    broker = KafkaBroker(kafka_bootstrap, enable_idempotence=False, logger=None)
    await broker.start()
    yield broker
    await broker.stop()


def created(account_id: str) -> AccountCreatedPayload:
    return AccountCreatedPayload(account_id=account_id, roles=["participant"])


async def append(db: Database, outbox: Outbox, *aggregates: str) -> None:
    async with db.transaction() as session:
        for aggregate in aggregates:
            await outbox.append(session, AccountCreated, created(aggregate), aggregate_id=aggregate)


def sequences_by_aggregate(messages: Sequence[dict[str, Any]]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        found[message["aggregate_id"]].append(message["sequence"])
    return dict(found)


async def test_two_replicas_relays_publish_every_row_once_in_aggregate_order(
    postgres_database: str,
    broker: KafkaBroker,
    second_broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
    tmp_path: Path,
) -> None:
    writer = await migrate(postgres_database)
    replicas = [Database(postgres_database), Database(postgres_database)]
    relays = [
        OutboxRelay(db, connection, batch_size=7, interval=0.02)
        for db, connection in zip(replicas, (broker, second_broker), strict=True)
    ]
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")
    aggregates = [f"acc_{n:02d}" for n in range(12)]
    rounds = 10
    for relay in relays:
        relay.start()
    try:
        # Written while both relays run, by concurrent transactions (one per aggregate at a
        # time, as a service's unique sequence per aggregate demands), one or two events each.
        half = len(aggregates) // 2
        for _ in range(rounds // 2):
            await asyncio.gather(
                *(append(writer, outbox, a, a) for a in aggregates[:half]),
                *(append(writer, outbox, a) for a in aggregates[half:]),
            )
            await asyncio.gather(*(append(writer, outbox, a) for a in aggregates[half:]))
        total = rounds * len(aggregates)
        assert await count_rows(writer, "outbox") == total

        async def drained() -> bool:
            return await relays[0].backlog() == 0

        await wait_until(drained, timeout=30, message="both relays drained the outbox")
    finally:
        for relay in relays:
            await relay.stop()
    assert sum(relay.published_total for relay in relays) == total  # no row published twice

    topic = topics.name(REGISTRATION_EVENTS)
    messages = [json.loads(r.value) for r in await read_records(kafka_bootstrap, topic, total)]
    assert len(messages) == total
    assert len({m["event_id"] for m in messages}) == total
    expected = list(range(1, rounds + 1))
    assert sequences_by_aggregate(messages) == {a: expected for a in aggregates}

    consumer_db = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'consumer.db'}")
    async with running_consumer(topic, consumer_db, count_event):
        await wait_for_committed(kafka_bootstrap, group_id, topic, total)
    assert await tallies(consumer_db) == {a: rounds for a in aggregates}
    assert await count_rows(consumer_db, "inbox") == total
    for db in (writer, consumer_db, *replicas):
        await db.dispose()


async def test_a_relay_skips_rows_another_replica_holds_and_waits_behind_them(
    postgres_database: str,
    broker: KafkaBroker,
    second_broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
) -> None:
    writer = await migrate(postgres_database)
    topics = Topics(topic_prefix)
    outbox = Outbox(topics, "registration")
    await append(writer, outbox, "acc_a", "acc_b")
    await append(writer, outbox, "acc_a", "acc_c")  # acc_a's second event, behind the first

    first_db, second_db = Database(postgres_database), Database(postgres_database)
    holding = OutboxRelay(first_db, broker, batch_size=1)
    other = OutboxRelay(second_db, second_broker, batch_size=10)
    claimed, release = asyncio.Event(), asyncio.Event()
    publish = holding.publish

    async def slow_publish(rows: Sequence[OutboxRecord]) -> int:
        claimed.set()
        await release.wait()
        return await publish(rows)

    holding.publish = slow_publish  # type: ignore[method-assign]
    held_round = asyncio.create_task(holding.publish_pending())
    await asyncio.wait_for(claimed.wait(), timeout=10)  # acc_a#1 is locked, being published

    # The other replica skips the held row, publishes what does not depend on it, and leaves
    # acc_a#2 for later, so that it cannot overtake acc_a#1.
    assert await other.publish_pending() == 2
    assert await other.backlog() == 2
    release.set()
    assert await held_round == 1
    assert await other.publish_pending() == 1
    assert await other.backlog() == 0

    topic = topics.name(REGISTRATION_EVENTS)
    messages = [json.loads(r.value) for r in await read_records(kafka_bootstrap, topic, 4)]
    assert Counter(m["event_id"] for m in messages).most_common(1)[0][1] == 1
    assert sequences_by_aggregate(messages) == {"acc_a": [1, 2], "acc_b": [1], "acc_c": [1]}
    for db in (writer, first_db, second_db):
        await db.dispose()
