"""How long a live notification takes: from the write that causes it to the Server-Sent Event
on the person's open stream, through the gateway, on the platform the run command starts.

Baseline, measured in the same run: the causing event's own arrival on the broker (a consumer
of registration.events), i.e. what the platform cannot go below. The figures printed are the
median and the worst of both, and the stream's delay over the event.

    .venv/bin/python bench/notification_latency.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from table import Row, print_rows

from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.events.catalogue import decode_event
from hackathon_shared.ports import free_port
from hackathon_shared.settings import ServiceSettings

BENCH = "notification latency"

ORGANIZER = ("bench-organizer@example.org", "bench-organizer-password")
# Every round signs up and in: the gateway's limits would answer 429 after a few rounds.
RAISED_LIMITS = {
    "RATE_LIMIT_SIGN_UP": "100000/minute",
    "RATE_LIMIT_SIGN_IN": "100000/minute",
    "RATE_LIMIT_WRITES": "100000/minute",
}
PASSWORD = "bench password 1234"


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    answer = await http.post("/auth/token", json={"email": email, "password": password})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def event_arrival(consumer: AIOKafkaConsumer, team_name: str) -> float:
    while True:
        batches = await consumer.getmany(timeout_ms=100)
        for records in batches.values():
            for record in records:
                if record.value is None:
                    continue
                event = decode_event(record.value)
                if event.type == "TeamRegistered" and event.payload.name == team_name:
                    return time.perf_counter()


async def stream_arrival(stream: httpx.Response, opened: asyncio.Event) -> float:
    """When the team's notification arrives (the welcome may come first: it is skipped)."""
    async for line in stream.aiter_lines():
        opened.set()
        if line.startswith("data:") and json.loads(line[5:])["kind"] == "team_registered":
            return time.perf_counter()
    raise RuntimeError("the stream ended")


async def one_round(
    http: httpx.AsyncClient, hackathon: dict[str, object], consumer: AIOKafkaConsumer
) -> tuple[float, float]:
    email = f"bench-{secrets.token_hex(5)}@example.org"
    created = await http.post(
        "/accounts", json={"email": email, "password": PASSWORD, "display_name": "Bench"}
    )
    created.raise_for_status()
    auth = await sign_in(http, email, PASSWORD)
    hid = hackathon["hackathon_id"]
    registered = await http.post(
        f"/hackathons/{hid}/registrations", headers=auth, json={"sector": "other", "consent": True}
    )
    registered.raise_for_status()
    challenges = hackathon["challenges"]
    assert isinstance(challenges, list)
    team_name = f"Bench {secrets.token_hex(4)}"
    opened = asyncio.Event()
    async with http.stream(
        "GET", "/notifications/stream", headers=auth, timeout=httpx.Timeout(10, read=None)
    ) as stream:
        streamed = asyncio.create_task(stream_arrival(stream, opened))
        await asyncio.wait_for(opened.wait(), 10)
        started = time.perf_counter()
        arrived = asyncio.create_task(event_arrival(consumer, team_name))
        answer = await http.post(
            f"/hackathons/{hid}/teams",
            headers=auth,
            json={"name": team_name, "challenge_id": challenges[0]["challenge_id"]},
        )
        answer.raise_for_status()
        event_at = await asyncio.wait_for(arrived, 30)
        stream_at = await asyncio.wait_for(streamed, 30)
    return event_at - started, stream_at - started


async def measure(platform: Platform, rounds: int) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url + "/api/v1", timeout=30) as http:
        organizer = await sign_in(http, *ORGANIZER)
        hackathon = (
            await http.post(
                "/hackathons",
                headers=organizer,
                json={
                    "name": f"Bench {secrets.token_hex(3)}",
                    "challenges": [{"title": "Latency"}],
                    "min_team_size": 1,
                    "max_team_size": 3,
                    "max_teams": 200,
                    "submission_deadline": "2099-01-01T00:00:00Z",
                    "rubric": {"criteria": [{"key": "speed", "weight": 1}]},
                    "judges_per_submission": 1,
                    "awards": [],
                },
            )
        ).json()
        await http.post(
            f"/hackathons/{hackathon['hackathon_id']}/phase",
            headers=organizer,
            json={"phase": "registration"},
        )
        # The baseline consumer fetches as promptly as the services' consumers do, otherwise
        # its "event" time would measure its own fetch hold.
        consumer = AIOKafkaConsumer(
            platform.config.topic_prefix + "registration.events",
            bootstrap_servers=platform.bootstrap_servers,
            auto_offset_reset="latest",
            group_id=None,
            fetch_max_wait_ms=ServiceSettings().fetch_max_wait_ms_for(tansu=True),
        )
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=500)  # joined and positioned at the end
            results = [await one_round(http, hackathon, consumer) for _ in range(rounds)]
        finally:
            await consumer.stop()
    events = [r[0] * 1000 for r in results]
    streams = [r[1] * 1000 for r in results]
    extra = [(s - e) for e, s in zip(events, streams, strict=True)]
    print(f"rounds: {rounds}; the platform's rate limits are raised for the run: {RAISED_LIMITS}")
    print(
        f"baseline, event on the broker: median {statistics.median(events):7.1f} ms, "
        f"worst {max(events):7.1f} ms"
    )
    print(
        f"notification on the stream:     median {statistics.median(streams):7.1f} ms, "
        f"worst {max(streams):7.1f} ms"
    )
    print(
        f"stream over baseline:           median {statistics.median(extra):7.1f} ms, "
        f"worst {max(extra):7.1f} ms"
    )
    print(json.dumps({"event_ms": events, "stream_ms": streams}))
    print()
    base = "event on the broker"
    print_rows(
        [
            Row(BENCH, "notification on the stream, median", statistics.median(streams), "ms",
                statistics.median(events), base),
            Row(BENCH, "notification on the stream, worst", max(streams), "ms", max(events),
                base),
        ]
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        config = PlatformConfig(
            data_dir=Path(data_dir),
            gateway_port=free_port(),
            broker_port=free_port(),
            organizer_email=ORGANIZER[0],
            organizer_password=ORGANIZER[1],
            extra_env=RAISED_LIMITS,
        )
        platform = Platform(config)
        platform.start()
        try:
            assert set(SERVICES) <= {p.name for p in platform.processes}
            asyncio.run(measure(platform, args.rounds))
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
