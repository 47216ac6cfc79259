"""Events forged on the broker are never acted on (issue 15).

Whoever can write to the broker can append an event that continues an aggregate's hash
chain: the chain's SHA-256 has no key. Only a signature by the producer's own key shows who
wrote an event (hackathon_shared.signing). Here an outsider's `TeamMemberJoined`, chain-valid
and placed as registration would place it, is published three ways, and not one makes them a
member: unsigned, signed by a key that merely claims a registration key id, and signed by a
real key of another service. Each goes to the dead-letter topic with the reason, and the team
goes on as before: its next real join still comes through. The audit, given the public keys
only, names each forgery by what is wrong with its signature."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.verify import verify
from hackathon_shared.events.catalogue import TeamMemberJoined, TeamMemberJoinedPayload
from hackathon_shared.events.envelope import Envelope, seal
from hackathon_shared.signing import EventSigner, load_signer, load_trusted_keys
from hackathon_shared.topics import REGISTRATION_EVENTS, dlq
from tests.journey_helpers import (
    assert_problem,
    create_hackathon,
    create_team,
    join,
    move_to,
    participant,
    platform_log,
    put_submission,
    read_topics,
    submission_body,
)
from tests.platform_fixtures import Api
from tests.polling import wait_until


async def _send(api: Api, event: Envelope, headers: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=api.platform.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            api.platform.config.topic_prefix + REGISTRATION_EVENTS,
            event.to_json().encode(),
            key=event.aggregate_id.encode(),
            headers=[("content-type", b"application/json"), *headers],
        )
    finally:
        await producer.stop()


async def _send_raw(api: Api, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=api.platform.bootstrap_servers)
    await producer.start()
    try:
        topic = api.platform.config.topic_prefix + REGISTRATION_EVENTS
        await producer.send_and_wait(topic, value, key=key.encode())
    finally:
        await producer.stop()


def _headers(signer: EventSigner, event: Envelope) -> list[tuple[str, bytes]]:
    return [(name, value.encode()) for name, value in signer.headers_for(event.hash).items()]


async def _dead_letters(api: Api, event_ids: set[str]) -> dict[str, list[str]]:
    """The errors the consumers gave when they dead-lettered these events, by event id."""
    consumer = AIOKafkaConsumer(
        api.platform.config.topic_prefix + dlq(REGISTRATION_EVENTS),
        bootstrap_servers=api.platform.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    errors: dict[str, list[str]] = {}
    try:
        batches = await consumer.getmany(timeout_ms=1000)
        while batches:
            for batch in batches.values():
                for record in batch:
                    value = (record.value or b"").decode()
                    for event_id in event_ids:
                        if event_id in value:
                            headers = {k: v.decode() for k, v in record.headers}
                            errors.setdefault(event_id, []).append(headers["x-error"])
            batches = await consumer.getmany(timeout_ms=300)
    finally:
        await consumer.stop()
    return errors


async def test_a_chain_valid_forged_join_is_refused_whoever_seems_to_sign_it(api: Api) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "captain")
    outsider = await participant(api, hackathon, "outsider")
    newcomer = await participant(api, hackathon, "newcomer")
    team = await create_team(api, hackathon, captain)
    team_id = team["team_id"]

    chain = [
        e
        for e in await read_topics(api.platform, [REGISTRATION_EVENTS])
        if e.aggregate_id == team_id
    ]
    last = chain[-1]

    def forged_join() -> Envelope:
        return seal(
            TeamMemberJoined,
            payload=TeamMemberJoinedPayload(
                team_id=team_id, hackathon_id=hackathon.hackathon_id, account_id=outsider.account_id
            ),
            aggregate_id=team_id,
            sequence=last.sequence + 1,
            prev_hash=last.hash,
        )

    platform_keys = api.platform.keys
    real_registration = load_signer(platform_keys.signing_key("registration"), "registration")
    impostor = EventSigner("registration", real_registration.key_id, Ed25519PrivateKey.generate())
    other_service = load_signer(platform_keys.signing_key("submissions"), "submissions")
    unsigned, false_key, wrong_service = forged_join(), forged_join(), forged_join()
    await _send(api, unsigned, [])
    await _send(api, false_key, _headers(impostor, false_key))
    await _send(api, wrong_service, _headers(other_service, wrong_service))
    # A record made to break the check itself (an unpaired surrogate in an unknown payload
    # field: valid JSON, not encodable as UTF-8) is dead-lettered too, not retried for ever.
    unreadable = forged_join()
    crafted = unreadable.to_json().replace('"payload":{', '"payload":{"note":"\\ud800",', 1)
    await _send_raw(api, unreadable.aggregate_id, crafted.encode())

    # Submissions decides on its copy of the team, brought up to the log's end first: the
    # forgeries are behind it, and the outsider is no member.
    await move_to(api, hackathon, "hacking")
    refused = await put_submission(api, team_id, outsider.auth, submission_body())
    assert_problem(refused, 403, "not-a-member")

    wanted = {str(e.event_id) for e in (unsigned, false_key, wrong_service, unreadable)}

    async def all_dead_lettered() -> dict[str, list[str]] | None:
        found = await _dead_letters(api, wanted)
        return found if set(found) == wanted else None

    errors: Any = await wait_until(all_dead_lettered, timeout=30, message="forgeries in the DLQ")
    assert all("unsigned" in e for e in errors[str(unsigned.event_id)])
    assert all("does not verify" in e for e in errors[str(false_key.event_id)])
    assert all(
        "of submissions, not of registration" in e for e in errors[str(wrong_service.event_id)]
    )

    # The team's chain goes on: the next real event has the forgeries' sequence.
    joined = await join(api, team, newcomer)
    assert newcomer.account_id in [m["account_id"] for m in joined["members"]]
    written = await put_submission(api, team_id, newcomer.auth, submission_body())
    assert written.status_code in (200, 201), written.text

    # The audit, with the public keys only, names each forgery and no real event.
    records = await platform_log(api.platform)
    keys = load_trusted_keys(api.platform.keys.trusted)
    report = verify(records, hackathons=[hackathon.hackathon_id], keys=keys)
    named = {(f.event.event_id, f.kind) for f in report.findings if f.check == "signature"}
    assert {
        (str(unsigned.event_id), "unsigned"),
        (str(false_key.event_id), "bad-signature"),
        (str(wrong_service.event_id), "wrong-producer"),
    } <= named
    # Nothing else: the forgeries take no part in the chain, the rules or the results, so
    # the real join that followed them is no fork and no duplicate.
    # The crafted record is named for what it is (its text is not Unicode), not a crash.
    others = [f for f in report.findings if f.check != "signature"]
    assert [(f.check, f.kind) for f in others] == [("schema", "invalid-event")], others
    assert report.signed_by.get(real_registration.key_id, 0) > 0
    assert not report.clean
