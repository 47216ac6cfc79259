"""Consumers apply an event only if it continues its aggregate's chain (issue 15): the next
sequence, linked by ``prev_hash`` to the last event applied. A gap, a fork or a broken link
goes to the dead-letter topic with the reason and is never applied; an exact copy of an
applied event is skipped quietly; the real chain goes on. Real broker, real databases.

First with the shared consumer on its own (SQLite and PostgreSQL): within a batch, across
batches, and after a real event was dead-lettered because its handler failed (the chain goes
on past it, and the same event sent again is applied). Then on the running platform, with
events signed by registration's own key: the signature is real, only the chain is wrong."""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.events.catalogue import (
    AccountCreated,
    AccountCreatedPayload,
    TeamMemberJoined,
    TeamMemberJoinedPayload,
)
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.topics import REGISTRATION_EVENTS, Topics, dlq
from tests.journey_helpers import (
    assert_problem,
    create_hackathon,
    create_team,
    join,
    move_to,
    participant,
    publish,
    put_submission,
    read_topics,
    submission_body,
)
from tests.messaging_helpers import RunningConsumer, read_records, wait_for_committed
from tests.platform_fixtures import Api
from tests.polling import wait_until
from tests.support.tally import count_event, migrate, tallies

ACCOUNT = "acc_chained"


def link(sequence: int, prev_hash: str, account: str = ACCOUNT) -> Envelope:
    """An event of ``account``'s chain (the tally service counts each one it applies)."""
    return seal(
        AccountCreated,
        payload=AccountCreatedPayload(account_id=account, roles=["participant"]),
        aggregate_id=account,
        sequence=sequence,
        prev_hash=prev_hash,
    )


def chain(length: int) -> list[Envelope]:
    events = [link(1, GENESIS_HASH)]
    while len(events) < length:
        events.append(link(len(events) + 1, events[-1].hash))
    return events


async def send(broker: KafkaBroker, topic: str, *events: Envelope) -> None:
    for event in events:
        await broker.publish(event.to_json().encode(), topic, key=event.aggregate_id.encode())


def errors_by_event(records: list[Any]) -> dict[str, str]:
    return {
        json.loads(r.value)["event_id"]: {k: v.decode() for k, v in r.headers}["x-error"]
        for r in records
    }


async def test_gaps_forks_and_broken_links_are_dead_lettered_and_the_chain_goes_on(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    real = chain(5)
    gap = link(5, real[3].hash)  # claims to follow 4 while 2 is the last applied
    fork = link(2, real[0].hash)  # a second, different event at sequence 2
    unlinked = link(3, "e" * 64)  # the right sequence, linked to nothing applied
    async with running_consumer(topic, db, count_event) as consumer:
        await send(broker, topic, real[0], real[1])
        await wait_for_committed(kafka_bootstrap, group_id, topic, 2)
        # One partition, back to back: one batch or a few, each judged against the head
        # the earlier records left (in the database, or in the batch itself).
        await send(broker, topic, gap, fork, unlinked, real[2], real[1], real[3], real[4])
        dead = await read_records(kafka_bootstrap, dlq(topic), 3)
        await wait_for_committed(kafka_bootstrap, group_id, topic, 9)
        assert consumer.dead_lettered == 3
    errors = errors_by_event(dead)
    assert set(errors) == {str(e.event_id) for e in (gap, fork, unlinked)}
    assert (
        errors[str(gap.event_id)]
        == "refused, not applied: chain: expected sequence 3 after 2, got 5"
    )
    assert "chain: sequence 2 is taken already by another event" in errors[str(fork.event_id)]
    assert errors[str(unlinked.event_id)] == (
        "refused, not applied: chain: prev_hash of sequence 3 does not link to sequence 2"
    )
    # Each real event once (the copy of the second one skipped quietly), nothing refused.
    assert await tallies(db) == {ACCOUNT: 5}
    await db.dispose()


async def test_a_dead_lettered_real_event_counts_as_passed_and_applies_when_sent_again(
    database_url: str,
    broker: KafkaBroker,
    kafka_bootstrap: str,
    topic_prefix: str,
    group_id: str,
    running_consumer: RunningConsumer,
) -> None:
    """Its handler failed for good: the event goes to the DLQ, and its chain goes on past it
    (the next events are no gap). Once the cause is fixed, the same event re-published from
    the DLQ is applied, while a fork at its sequence is still refused."""
    db = await migrate(database_url)
    topic = Topics(topic_prefix).name(REGISTRATION_EVENTS)
    real = chain(4)
    failing = {str(real[1].event_id)}

    async def handler(session: AsyncSession, event: Envelope) -> None:
        if str(event.event_id) in failing:
            raise ValueError("this handler cannot take the second event yet")
        await count_event(session, event)

    async with running_consumer(topic, db, handler, retries=1) as consumer:
        await send(broker, topic, *real)
        [dead] = await read_records(kafka_bootstrap, dlq(topic), 1)
        await wait_for_committed(kafka_bootstrap, group_id, topic, 4)
        assert await tallies(db) == {ACCOUNT: 3}
        assert consumer.dead_lettered == 1
        assert "handler failed" in errors_by_event([dead])[str(real[1].event_id)]

        failing.clear()  # the cause is fixed; the event is sent again, as it was
        fork = link(2, real[0].hash)
        await broker.publish(dead.value, topic, key=dead.key)
        await send(broker, topic, fork)
        await wait_for_committed(kafka_bootstrap, group_id, topic, 6)
        assert await tallies(db) == {ACCOUNT: 4}
        dead_letters = await read_records(kafka_bootstrap, dlq(topic), 2)
        assert consumer.dead_lettered == 2
    errors = errors_by_event(dead_letters)
    assert "chain: sequence 2 is taken already" in errors[str(fork.event_id)]
    await db.dispose()


# --------------------------------------------------------------------------------------------
# The running platform, with registration's real key
# --------------------------------------------------------------------------------------------


async def _dead_letter_errors(api: Api, event_ids: set[str]) -> dict[str, list[str]]:
    """Every ``x-error`` given for these events on registration.events' dead-letter topic
    (one per consuming service), by event id."""
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
                    event_id = json.loads(record.value or b"{}").get("event_id")
                    if event_id in event_ids:
                        headers = {k: v.decode() for k, v in record.headers}
                        errors.setdefault(event_id, []).append(headers["x-error"])
            batches = await consumer.getmany(timeout_ms=300)
    finally:
        await consumer.stop()
    return errors


async def test_a_really_signed_event_that_skips_or_forks_the_chain_is_not_applied(
    api: Api,
) -> None:
    hackathon = await create_hackathon(api, phase="registration")
    captain = await participant(api, hackathon, "captain")
    outsider = await participant(api, hackathon, "outsider")
    intruder = await participant(api, hackathon, "intruder")
    newcomer = await participant(api, hackathon, "newcomer")
    team = await create_team(api, hackathon, captain)
    team_id = team["team_id"]
    events = [
        e
        for e in await read_topics(api.platform, [REGISTRATION_EVENTS])
        if e.aggregate_id == team_id
    ]
    last = events[-1]

    def joined(person_id: str, sequence: int, prev_hash: str) -> Envelope:
        return seal(
            TeamMemberJoined,
            payload=TeamMemberJoinedPayload(
                team_id=team_id, hackathon_id=hackathon.hackathon_id, account_id=person_id
            ),
            aggregate_id=team_id,
            sequence=sequence,
            prev_hash=prev_hash,
        )

    # Signed with registration's own key (what a leaked key, or a producer's database
    # restored from an old backup, could write): only the chain shows they do not belong.
    skipping = joined(outsider.account_id, last.sequence + 2, last.hash)
    before = events[-2].hash if len(events) > 1 else GENESIS_HASH
    forking = joined(intruder.account_id, last.sequence, before)
    await publish(api.platform, REGISTRATION_EVENTS, skipping)
    await publish(api.platform, REGISTRATION_EVENTS, forking)

    wanted = {str(skipping.event_id), str(forking.event_id)}
    consumers = {"submissions", "scoring", "notifications"}  # each reads registration.events

    async def every_consumer_refused() -> dict[str, list[str]] | None:
        found = await _dead_letter_errors(api, wanted)
        complete = set(found) == wanted and all(len(v) >= len(consumers) for v in found.values())
        return found if complete else None

    errors: Any = await wait_until(
        every_consumer_refused, timeout=30, message="both events dead-lettered by every consumer"
    )
    gap_reason = (
        f"chain: expected sequence {last.sequence + 1} after {last.sequence}, "
        f"got {last.sequence + 2}"
    )
    assert all(gap_reason in e for e in errors[str(skipping.event_id)])
    assert all(
        f"chain: sequence {last.sequence} is taken already by another event" in e
        for e in errors[str(forking.event_id)]
    )

    # Not applied: submissions, brought up to the log's end, knows neither as a member.
    await move_to(api, hackathon, "hacking")
    for person in (outsider, intruder):
        refused = await put_submission(api, team_id, person.auth, submission_body())
        assert_problem(refused, 403, "not-a-member")

    # The real chain goes on: the next real join has the sequence the gap skipped past.
    grown = await join(api, team, newcomer)
    assert newcomer.account_id in [m["account_id"] for m in grown["members"]]
    written = await put_submission(api, team_id, newcomer.auth, submission_body())
    assert written.status_code in (200, 201), written.text
    after = [
        e
        for e in await read_topics(api.platform, [REGISTRATION_EVENTS])
        if e.aggregate_id == team_id and e.type == "TeamMemberJoined"
    ]
    real_join = [e for e in after if e.payload.account_id == newcomer.account_id]
    assert [e.sequence for e in real_join] == [last.sequence + 1]
