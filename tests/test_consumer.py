"""Consumers: inbox, acknowledgement after commit, bounded retries, dead-letter topic.
Real broker, real databases."""

from __future__ import annotations

import json

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.events.catalogue import AccountCreated, AccountCreatedPayload
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.topics import REGISTRATION_EVENTS, Topics, dlq
from tests.messaging_helpers import RunningConsumer, read_records, wait_for_committed
from tests.polling import wait_until
from tests.support.tally import count_event, count_rows, migrate, tallies


def event_for(account_id: str) -> Envelope:
    return seal(
        AccountCreated,
        payload=AccountCreatedPayload(account_id=account_id, roles=["participant"]),
        aggregate_id=account_id,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


async def publish(broker: KafkaBroker, topic: str, value: bytes, key: str = "k") -> None:
    await broker.publish(value, topic, key=key.encode())


async def test_event_delivered_twice_changes_state_once(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    event = event_for("acc_twice")
    async with running_consumer(topic, db, count_event) as consumer:
        await publish(broker, topic, event.to_json().encode(), key="acc_twice")
        await wait_for_committed(kafka_bootstrap, group_id, topic, 1)
        # The same event again, in a later batch: only the inbox can tell it was applied.
        await publish(broker, topic, event.to_json().encode(), key="acc_twice")
        await wait_for_committed(kafka_bootstrap, group_id, topic, 2)
        assert consumer.dead_lettered == 0  # absorbed, not rejected
    assert await tallies(db) == {"acc_twice": 1}
    assert await count_rows(db, "inbox") == 1
    await db.dispose()


async def test_handler_failing_within_retries_still_processes(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    failures = {"acc_flaky": 2}

    async def flaky(session: AsyncSession, event: Envelope) -> None:
        account = event.payload.account_id
        if account == "acc_poison":
            raise ValueError("poison always fails")
        if failures.get(account, 0) > 0:
            failures[account] -= 1
            raise RuntimeError("passing fault")
        await count_event(session, event)

    await publish(broker, topic, event_for("acc_flaky").to_json().encode(), key="same")
    # Then one that always fails: it must be the first thing on the DLQ, so nothing before it
    # (the flaky event) was dead-lettered.
    await publish(broker, topic, event_for("acc_poison").to_json().encode(), key="same")
    async with running_consumer(topic, db, flaky, retries=3):
        [dead] = await read_records(kafka_bootstrap, dlq(topic), 1)
        await wait_for_committed(kafka_bootstrap, group_id, topic, 2)
    assert json.loads(dead.value)["payload"]["account_id"] == "acc_poison"
    assert await tallies(db) == {"acc_flaky": 1}
    assert failures["acc_flaky"] == 0
    await db.dispose()


async def test_message_that_always_fails_goes_to_dlq_and_consumer_goes_on(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)

    async def refuses_poison(session: AsyncSession, event: Envelope) -> None:
        if event.payload.account_id == "acc_poison":
            raise ValueError("cannot handle acc_poison")
        await count_event(session, event)

    poison = event_for("acc_poison")
    await publish(broker, topic, poison.to_json().encode(), key="same")
    await publish(broker, topic, event_for("acc_next").to_json().encode(), key="same")
    async with running_consumer(topic, db, refuses_poison):
        [dead] = await read_records(kafka_bootstrap, dlq(topic), 1)
        await wait_until(lambda: tallies(db), message="the next event was processed")
        await wait_for_committed(kafka_bootstrap, group_id, topic, 2)
    headers = {k: v.decode() for k, v in dead.headers}
    assert json.loads(dead.value)["event_id"] == str(poison.event_id)
    assert headers["x-original-topic"] == topic
    assert headers["x-original-offset"] == "0"
    assert headers["x-original-partition"].isdigit()
    assert "cannot handle acc_poison" in headers["x-error"]
    assert await tallies(db) == {"acc_next": 1}
    await db.dispose()


async def test_malformed_messages_go_to_dlq_and_consumer_goes_on(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    invalid_payload = json.loads(event_for("acc_x").to_json())
    del invalid_payload["payload"]["account_id"]
    unknown_type = json.loads(event_for("acc_y").to_json()) | {"type": "TeamDissolvedByMagic"}
    json_header = [("content-type", b"application/json")]
    malformed: list[tuple[bytes | None, list[tuple[str, bytes]]]] = [
        (b"this is not json", []),
        (b"{not json either, though the header says so", json_header),
        (event_for("acc_bad_header").to_json().encode(), [("trace", b"\xff\xfe not utf-8")]),
        (json.dumps(unknown_type).encode(), json_header),
        (json.dumps(invalid_payload).encode(), json_header),
        (None, []),  # a tombstone has no place on an event topic
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for value, headers in malformed:
            await producer.send_and_wait(topic, value, key=b"same", headers=headers)
    finally:
        await producer.stop()
    await publish(broker, topic, event_for("acc_good").to_json().encode(), key="same")
    async with running_consumer(topic, db, count_event):
        dead = await read_records(kafka_bootstrap, dlq(topic), 5)
        await wait_for_committed(kafka_bootstrap, group_id, topic, len(malformed) + 1)
    # Everything undecodable is dead-lettered with its reason; the event whose only fault is
    # a header FastStream could not read is processed like any other.
    assert [record.value for record in dead] == [
        malformed[0][0],
        malformed[1][0],
        malformed[3][0],
        malformed[4][0],
        b"",
    ]
    errors = [dict(record.headers)["x-error"].decode() for record in dead]
    assert "json" in errors[0].lower() and "json" in errors[1].lower()
    assert "TeamDissolvedByMagic" in errors[2]
    assert "account_id" in errors[3]
    assert "tombstone" in errors[4]
    assert await tallies(db) == {"acc_bad_header": 1, "acc_good": 1}
    await db.dispose()


async def test_message_is_not_lost_while_the_database_fails_and_processed_once_it_clears(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    outage = {"down": True, "attempts": 0}

    async def needs_database(session: AsyncSession, event: Envelope) -> None:
        if outage["down"]:
            outage["attempts"] += 1
            raise OperationalError("INSERT ...", {}, ConnectionRefusedError("database is down"))
        await count_event(session, event)

    await publish(broker, topic, event_for("acc_patient").to_json().encode(), key="same")
    async with running_consumer(topic, db, needs_database, retries=1):
        # Far more attempts than the retry bound: the message was redelivered, not dropped.
        await wait_until(lambda: outage["attempts"] >= 6, timeout=30, message="redeliveries")
        assert await tallies(db) == {}
        outage["down"] = False
        await wait_until(lambda: tallies(db), timeout=30, message="processed after recovery")
        await wait_for_committed(kafka_bootstrap, group_id, topic, 1)
    assert await tallies(db) == {"acc_patient": 1}
    await db.dispose()
