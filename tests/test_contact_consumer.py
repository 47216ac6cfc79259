"""The consumer of the compacted ``registration.contacts`` topic, with the notifications
service's handler: key = account id, value = contact details or a tombstone. Real broker,
real databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker
from sqlmodel import select

from hackathon_shared.consumer import ContactConsumer
from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import ContactDetails
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.topics import REGISTRATION_CONTACTS, Topics, dlq
from notifications.adapters.tables import ContactRow, NotificationRow
from notifications.app import MIGRATIONS
from notifications.service.view import apply_contact
from tests.messaging_helpers import read_records, wait_for_committed
from tests.polling import wait_until

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def contact(account_id: str, name: str, updated_at: datetime) -> bytes:
    details = ContactDetails(
        account_id=account_id,
        email=f"{account_id}@example.org",
        display_name=name,
        updated_at=updated_at,
    )
    return details.to_json().encode()


async def migrated(database_url: str) -> Database:
    await upgrade_to_head(database_url, MIGRATIONS)
    return Database(database_url)


async def contacts(db: Database) -> dict[str, tuple[str, str, datetime]]:
    async with db.sessions() as session:
        rows = (await session.exec(select(ContactRow))).all()
    return {r.account_id: (r.display_name, r.email, r.updated_at) for r in rows}


async def name_of(db: Database, account_id: str) -> str | None:
    return (await contacts(db)).get(account_id, (None,))[0]


async def has_name(db: Database, account_id: str, name: str) -> bool:
    return await name_of(db, account_id) == name


async def absent(db: Database, account_id: str) -> bool:
    return account_id not in await contacts(db)


async def send(
    bootstrap: str,
    topic: str,
    records: Sequence[tuple[bytes | None, bytes | None]],
) -> None:
    """Produce (key, value) records as they are, tombstones and key-less ones included."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


@asynccontextmanager
async def running_contacts_consumer(
    bootstrap: str,
    topic: str,
    db: Database,
    group_id: str,
    consumer_settings: dict[str, Any],
) -> AsyncIterator[ContactConsumer]:
    """Built as ServiceRuntime.consume_contacts builds it, with notifications' handler."""
    broker = KafkaBroker(bootstrap, enable_idempotence=False, logger=None)
    consumer = ContactConsumer(
        contact_handler=apply_contact,
        name="notifications.contacts",
        db=db,
        broker=broker,
        topics=[topic],
        group_id=group_id,
        batch_size=500,
        retries=1,
        backoff=0.02,
        consumer_options=dict(consumer_settings),
    )
    consumer.register()
    await broker.start()
    try:
        yield consumer
    finally:
        await broker.stop()


async def test_contacts_are_stored_updated_by_newer_only_and_erased_by_tombstone(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    db = await migrated(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_CONTACTS)
    # The account has an in-app notification, which erasure must take with it.
    async with db.transaction() as session:
        session.add(
            NotificationRow(
                notification_id="ntf_ada",
                account_id="acc_ada",
                kind="welcome",
                causing_event_id="evt_1",
                created_at=T0,
                stored_at=T0,
            )
        )
    sent = 0
    async with running_contacts_consumer(
        kafka_bootstrap, topic, db, group_id, kafka_consumer_settings
    ) as consumer:
        await send(kafka_bootstrap, topic, [(b"acc_ada", contact("acc_ada", "Ada", T0))])
        sent += 1
        await wait_until(
            lambda: name_of(db, "acc_ada"), timeout=30, message="the contact was stored"
        )
        assert (await contacts(db))["acc_ada"] == ("Ada", "acc_ada@example.org", T0)

        later = T0 + timedelta(hours=1)
        await send(kafka_bootstrap, topic, [(b"acc_ada", contact("acc_ada", "Ada L.", later))])
        sent += 1
        await wait_until(
            lambda: has_name(db, "acc_ada", "Ada L."), message="the newer details replaced"
        )

        # Older details (a stale replay) arrive last: they must not win.
        await send(
            kafka_bootstrap, topic, [(b"acc_ada", contact("acc_ada", "Stale", T0 - timedelta(1)))]
        )
        sent += 1
        await wait_for_committed(kafka_bootstrap, group_id, topic, sent)
        assert (await contacts(db))["acc_ada"] == ("Ada L.", "acc_ada@example.org", later)

        # The same details again (a redelivery) change nothing.
        await send(kafka_bootstrap, topic, [(b"acc_ada", contact("acc_ada", "Ada L.", later))])
        sent += 1
        await wait_for_committed(kafka_bootstrap, group_id, topic, sent)
        assert (await contacts(db))["acc_ada"] == ("Ada L.", "acc_ada@example.org", later)

        await send(kafka_bootstrap, topic, [(b"acc_ada", None)])
        sent += 1
        await wait_until(lambda: absent(db, "acc_ada"), message="the tombstone erased the contact")
        # A tombstone for an account never seen is harmless.
        await send(kafka_bootstrap, topic, [(b"acc_never_seen", None)])
        sent += 1
        await wait_for_committed(kafka_bootstrap, group_id, topic, sent)
        assert consumer.dead_lettered == 0
    assert await contacts(db) == {}
    async with db.sessions() as session:
        assert await session.get(NotificationRow, "ntf_ada") is None
    await db.dispose()


async def test_records_of_one_batch_apply_in_order_and_the_newest_wins(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    """Everything is on the topic before the consumer starts, so it arrives in one batch and
    is applied in one transaction: insert, update, stale; and for a second account insert,
    erase, then details again, which are dropped: an erased account stays erased (its ids are
    never reused; such a record could only be a late copy from before the erasure)."""
    db = await migrated(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_CONTACTS)
    records: list[tuple[bytes | None, bytes | None]] = [
        (b"acc_bo", contact("acc_bo", "Bo", T0)),
        (b"acc_bo", contact("acc_bo", "Bo B.", T0 + timedelta(minutes=5))),
        (b"acc_bo", contact("acc_bo", "Stale Bo", T0 + timedelta(minutes=1))),
        (b"acc_cy", contact("acc_cy", "Cy", T0)),
        (b"acc_cy", None),
        (b"acc_cy", contact("acc_cy", "Cy again", T0 + timedelta(days=1))),
        (b"acc_di", contact("acc_di", "Di", T0)),
        (b"acc_di", None),
    ]
    await send(kafka_bootstrap, topic, records)
    async with running_contacts_consumer(
        kafka_bootstrap, topic, db, group_id, kafka_consumer_settings
    ) as consumer:
        await wait_for_committed(kafka_bootstrap, group_id, topic, len(records))
        assert consumer.dead_lettered == 0
    assert {account: row[0] for account, row in (await contacts(db)).items()} == {
        "acc_bo": "Bo B.",
    }
    await db.dispose()


async def test_bad_contact_records_go_to_the_dlq_and_the_consumer_goes_on(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    kafka_consumer_settings: dict[str, Any],
) -> None:
    db = await migrated(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_CONTACTS)
    no_key = contact("acc_nokey", "Nobody", T0)
    not_json = b"this is not json"
    mismatch = contact("acc_someone_else", "Mallory", T0)
    invalid = b'{"account_id": "acc_bad_mail", "email": "no at sign", "display_name": "X", ' + (
        b'"updated_at": "2026-11-01T09:00:00Z"}'
    )
    bad: list[tuple[bytes | None, bytes | None]] = [
        (None, no_key),
        (b"acc_notjson", not_json),
        (b"acc_victim", mismatch),
        (b"acc_bad_mail", invalid),
    ]
    good = (b"acc_good", contact("acc_good", "Good", T0))
    await send(kafka_bootstrap, topic, [*bad, good])
    async with running_contacts_consumer(
        kafka_bootstrap, topic, db, group_id, kafka_consumer_settings
    ) as consumer:
        dead = await read_records(kafka_bootstrap, dlq(topic), len(bad))
        await wait_until(lambda: name_of(db, "acc_good"), message="the good record was applied")
        await wait_for_committed(kafka_bootstrap, group_id, topic, len(bad) + 1)
        assert consumer.dead_lettered == len(bad)
    # The DLQ's partitions hold them in no global order: match them by value.
    errors = {
        record.value: {k: v.decode() for k, v in record.headers}["x-error"] for record in dead
    }
    assert set(errors) == {value for _, value in bad}
    assert "without an account id key" in errors[no_key]
    assert "json" in errors[not_json].lower()
    assert "differs from its key" in errors[mismatch]
    assert "email" in errors[invalid]
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["x-original-topic"] == topic
        assert headers["x-consumer-group"] == group_id
    keys = {record.value: record.key for record in dead}
    assert keys[mismatch] == b"acc_victim"
    # Nothing of a bad record was stored: above all, not the mismatched one under its key.
    assert set(await contacts(db)) == {"acc_good"}
    await db.dispose()
