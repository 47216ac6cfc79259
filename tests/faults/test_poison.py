"""Poison on a topic (issue 16): a malformed record, and an event correctly signed by its
producer whose handler always fails (a `HackathonCreated` whose sizes no database integer
holds), published on ``registration.events`` of a running platform. Each consumer of the
topic sends each of them to its dead-letter topic once, with a reason that says what is wrong,
and goes on: the events that follow are applied (the barrier of every later answer passes only
once every partition was read past the poison), and nothing else is dead-lettered."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka import AIOKafkaProducer

from audit.verify import verify
from hackathon_cli.platform import Platform
from hackathon_shared.events.catalogue import HackathonCreated
from hackathon_shared.events.envelope import GENESIS_HASH, Envelope, seal
from hackathon_shared.signing import load_trusted_keys
from hackathon_shared.topics import REGISTRATION_EVENTS, dlq
from tests.faults.trouble_support import (
    RawRecord,
    assert_feeds_and_mails_exact,
    dead_letters,
    describe,
    start_platform,
)
from tests.journey_helpers import (
    create_hackathon,
    create_team,
    enrol_judge,
    join,
    move_to,
    participant,
    platform_log,
    publish,
    read_topics,
    submit,
)
from tests.mail_fixtures import SmtpServer
from tests.platform_fixtures import Api
from tests.polling import wait_until

pytestmark = pytest.mark.faults

TOO_BIG = 2**70  # valid for the event's schema (an integer, at least 1); no column holds it

# The services that consume registration.events, by their consumer group's name.
CONSUMERS = ("submissions", "scoring", "notifications")


@pytest.fixture(scope="module")
def poisoned_platform(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, smtp_server: SmtpServer
) -> Iterator[Platform]:
    running = start_platform(tmp_path_factory.mktemp("poison"), kafka_bootstrap, smtp_server)
    try:
        yield running.platform
    finally:
        running.stop()


@pytest.fixture
async def api(poisoned_platform: Platform) -> AsyncIterator[Api]:
    client = Api(poisoned_platform)
    try:
        yield client
    finally:
        await client.close()


async def _send_raw(platform: Platform, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            platform.config.topic_prefix + REGISTRATION_EVENTS, value, key=key
        )
    finally:
        await producer.stop()


def _unstorable_copy(template: Envelope) -> Envelope:
    """A new hackathon like ``template``, sealed as the first event of its own chain, whose
    sizes are too big for any database integer: valid, but its handlers always fail."""
    assert isinstance(template, HackathonCreated)
    hackathon_id = f"poison-{secrets.token_hex(6)}"
    payload = template.payload.model_copy(
        update={
            "hackathon_id": hackathon_id,
            "min_team_size": TOO_BIG,
            "max_team_size": TOO_BIG,
            "max_teams": TOO_BIG,
            "judges_per_submission": TOO_BIG,
        }
    )
    return seal(
        HackathonCreated,
        payload=payload,
        aggregate_id=hackathon_id,
        sequence=1,
        prev_hash=GENESIS_HASH,
    )


def _group_service(record: RawRecord) -> str:
    return (
        (record.headers.get("x-consumer-group") or "")
        .removeprefix(record.topic.rsplit(dlq(REGISTRATION_EVENTS), 1)[0])
        .split(".", 1)[0]
    )


async def test_poison_is_dead_lettered_once_with_its_reason_and_consumers_go_on(
    api: Api, smtp_server: SmtpServer
) -> None:
    platform = api.platform
    hackathon = await create_hackathon(api, phase="registration")
    hid = hackathon.hackathon_id
    captain = await participant(api, hackathon, "Captain")
    member = await participant(api, hackathon, "Member")
    judge = await participant(api, hackathon, "Judge")
    team = await create_team(api, hackathon, captain)
    template = next(
        e
        for e in await read_topics(platform, [REGISTRATION_EVENTS])
        if isinstance(e, HackathonCreated) and e.aggregate_id == hid
    )

    malformed = b'{"event_id": "not even JSON'
    not_an_event = b'{"hello": "world"}'
    await _send_raw(platform, b"poison-malformed", malformed)
    await _send_raw(platform, b"poison-not-an-event", not_an_event)
    unstorable = _unstorable_copy(template)
    await publish(platform, REGISTRATION_EVENTS, unstorable)

    # The platform goes on: every later answer passes the barrier, which waits until each
    # consumer has read every partition of registration.events past the poison.
    await join(api, team, member)
    await enrol_judge(api, hackathon, judge)
    await move_to(api, hackathon, "hacking")
    submitted = await submit(api, team["team_id"], member)
    assert submitted["version"] == 1
    await move_to(api, hackathon, "judging")
    organizer = await api.organizer()

    async def assigned() -> bool:
        answer = await api.http.post(f"/hackathons/{hid}/assignments", headers=organizer)
        return answer.status_code == 200 and len(answer.json()["assignments"]) == 1

    await wait_until(assigned, timeout=30, message="scoring knows the submission")
    await assert_feeds_and_mails_exact(
        api,
        smtp_server,
        [
            (
                captain,
                Counter(
                    {
                        "welcome": 1,
                        "team_registered": 1,
                        "team_member_joined": 1,
                        "submission_received": 1,
                    }
                ),
            ),
            (
                member,
                Counter({"welcome": 1, "team_member_joined": 1, "submission_received": 1}),
            ),
        ],
    )

    # Each consumer dead-lettered each poison once, saying why, and nothing else.
    poisons = {
        "malformed": malformed,
        "not an event": not_an_event,
        "unstorable": unstorable.to_json().encode(),
    }
    found: list[RawRecord] = []

    async def all_dead_lettered() -> bool:
        found[:] = await dead_letters(platform)
        got = {
            (name, _group_service(r)) for r in found for name, v in poisons.items() if r.value == v
        }
        wanted = {
            (name, service) for name in ("malformed", "not an event") for service in CONSUMERS
        }
        wanted |= {("unstorable", "submissions"), ("unstorable", "scoring")}
        return wanted <= got

    await wait_until(
        all_dead_lettered,
        timeout=30,
        interval=0.5,
        message=lambda: f"poison not dead-lettered by every consumer: {describe(found)}",
    )
    others = [r for r in found if r.value not in poisons.values()]
    assert not others, describe(others)
    copies = Counter((r.value, _group_service(r)) for r in found)
    assert max(copies.values()) == 1, describe(found)
    assert {r.topic for r in found} == {platform.config.topic_prefix + dlq(REGISTRATION_EVENTS)}
    for record in found:
        error = record.headers.get("x-error", "")
        if record.value == poisons["unstorable"]:
            assert error.startswith("handler failed after"), error
            assert "too large" in error or "out of" in error or "Overflow" in error, error
        else:
            assert error.startswith("undecodable event"), error
        assert record.headers.get("x-original-topic") == (
            platform.config.topic_prefix + REGISTRATION_EVENTS
        )

    # The audit names the records that are no events, and nothing of the real hackathon.
    report = verify(
        await platform_log(platform),
        hackathons=[hid],
        keys=load_trusted_keys(platform.keys.trusted),
    )
    kinds = Counter((f.check, f.kind) for f in report.findings)
    assert kinds == Counter({("schema", "invalid-event"): 2}), [str(f) for f in report.findings]
