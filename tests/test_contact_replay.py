"""A contact record cannot be sent again to bring back what it said (issue 15). Each record
registration publishes on ``registration.contacts`` carries the account's version inside the
signed value; notifications keeps the highest version applied and refuses an older one, and
nothing of an account comes after its erasure's tombstone. On the running platform: real
broker, real databases, records signed with registration's own key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from hackathon_shared.db import Database
from hackathon_shared.events.catalogue import ContactDetails
from hackathon_shared.record_versions import version_of, versioned_contact_json
from hackathon_shared.signing import load_signer, record_digest
from hackathon_shared.topics import REGISTRATION_CONTACTS, dlq
from notifications.adapters.tables import ContactRow
from tests.journey_helpers import new_person
from tests.platform_fixtures import Api, live_database_url, unique_email
from tests.polling import wait_until

Record = tuple[bytes | None, list[tuple[str, bytes]]]  # value, headers


async def records_of(api: Api, topic: str, account_id: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record of ``account_id`` now on the platform's ``topic`` (unprefixed)."""
    consumer = AIOKafkaConsumer(
        api.platform.config.topic_prefix + topic,
        bootstrap_servers=api.platform.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[ConsumerRecord[Any, Any]] = []
    try:
        batches = await consumer.getmany(timeout_ms=1000)
        while batches:
            for batch in batches.values():
                found.extend(r for r in batch if r.key == account_id.encode())
            batches = await consumer.getmany(timeout_ms=300)
    finally:
        await consumer.stop()
    return found


async def send(api: Api, account_id: str, value: bytes | None, headers: Any) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=api.platform.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            api.platform.config.topic_prefix + REGISTRATION_CONTACTS,
            value,
            key=account_id.encode(),
            headers=list(headers),
        )
    finally:
        await producer.stop()


async def email_in_notifications(db: Database, account_id: str) -> str | None:
    async with db.sessions() as session:
        row = await session.get(ContactRow, account_id)
        return row.email if row is not None else None


async def refusals(api: Api, account_id: str, count: int) -> list[str]:
    """The ``x-error`` of the account's records on the contacts' dead-letter topic, once
    there are ``count`` of them."""

    async def enough() -> list[str] | None:
        dead = await records_of(api, dlq(REGISTRATION_CONTACTS), account_id)
        errors = [{k: v.decode() for k, v in r.headers}["x-error"] for r in dead]
        return errors if len(errors) >= count else None

    found: list[str] | None = await wait_until(
        enough, timeout=30, message=f"{count} refused contact records of {account_id}"
    )
    assert found is not None
    return found


async def test_an_older_signed_contact_record_sent_again_changes_nothing(api: Api) -> None:
    ada = await new_person(api, "ada")
    notifications = Database(live_database_url(api.platform, "notifications"))
    try:
        [first] = await records_of(api, REGISTRATION_CONTACTS, ada.account_id)
        assert first.value is not None
        assert version_of(first.value) == 1  # registration versions what it publishes
        await wait_until(
            lambda: email_in_notifications(notifications, ada.account_id),
            message="notifications has the details",
        )

        # A newer record, as registration would publish a change of address: signed with
        # its key, version 2.
        address = unique_email("ada-new")
        newer = versioned_contact_json(
            ContactDetails(
                account_id=ada.account_id,
                email=address,
                display_name="Ada",
                updated_at=datetime.now(UTC),
            ),
            2,
        ).encode()
        signer = load_signer(api.platform.keys.signing_key("registration"), "registration")
        digest = record_digest(ada.account_id.encode(), newer)
        newer_headers = [(k, v.encode()) for k, v in signer.headers_for(digest).items()]
        await send(api, ada.account_id, newer, newer_headers)

        async def moved() -> bool:
            return await email_in_notifications(notifications, ada.account_id) == address

        await wait_until(moved, message="the newer address applied")

        # The first record again, exactly as registration signed it: refused, not applied.
        await send(api, ada.account_id, first.value, first.headers)
        [error] = await refusals(api, ada.account_id, 1)
        assert error == (
            "refused, not applied: record version: version 1 is older than version 2, "
            "applied already"
        )
        assert await email_in_notifications(notifications, ada.account_id) == address

        # The same newer record again is a duplicate: nothing changes and nothing is refused.
        await send(api, ada.account_id, newer, newer_headers)

        # Erasure: its tombstone takes the details; no record of the account can bring
        # them back, whichever version it carries.
        assert (await api.http.delete("/me", headers=ada.auth)).status_code == 204

        async def erased() -> bool:
            return await email_in_notifications(notifications, ada.account_id) is None

        await wait_until(erased, timeout=30, message="the tombstone applied")
        await send(api, ada.account_id, newer, newer_headers)
        await send(api, ada.account_id, first.value, first.headers)
        # One key, one partition of the dead-letter topic: the refusals in their order. The
        # duplicate sent before the erasure is not among them.
        errors = await refusals(api, ada.account_id, 3)
        assert errors[1:] == [
            f"refused, not applied: record version: version {version} after the key's "
            "tombstone (the account is erased): an older record sent again"
            for version in (2, 1)
        ]
        assert await email_in_notifications(notifications, ada.account_id) is None
    finally:
        await notifications.dispose()
