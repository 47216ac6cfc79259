"""The whole platform as real processes, shared by the end-to-end tests of one run.

``platform`` is session-scoped and parametrised: the services on SQLite files, and (where
PostgreSQL answers) on one PostgreSQL database per service. Tests share it, so each test makes
its own accounts and hackathons (``unique_email``) instead of assuming an empty platform."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from hackathon_cli.platform import SERVICES, Platform, PlatformConfig
from hackathon_shared.events.catalogue import decode_event
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.ports import free_port
from tests.database_fixtures import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    require_postgres,
)
from tests.mail_fixtures import SmtpServer
from tests.polling import wait_until

ORGANIZER = ("organizer@example.org", "organizer-password-1")
PASSWORD = "a good long password"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def platform(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_server: SmtpServer,
) -> Iterator[Platform]:
    data_dir: Path = tmp_path_factory.mktemp(f"platform-{request.param}")
    databases: dict[str, str] = {}
    if request.param == "postgresql":
        require_postgres()
        databases = {name: postgres_url(create_postgres_database()) for name in SERVICES}
    config = PlatformConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        bootstrap_servers=kafka_bootstrap,
        topic_prefix=f"{data_dir.name}.",
        organizer_email=ORGANIZER[0],
        organizer_password=ORGANIZER[1],
        database_urls=databases,
        extra_env={
            "SMTP_HOST": smtp_server.host,
            "SMTP_PORT": str(smtp_server.port),
            # Quick retries, so that a test sees a failed delivery retried within seconds.
            "DELIVERY_BACKOFF_SECONDS": "0.3",
            "DELIVERY_MAX_ATTEMPTS": "4",
            "DELIVERY_INTERVAL_SECONDS": "0.2",
            # The tests' webhook receivers listen on loopback.
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
            # Low caps, so that a test reaches them quickly.
            "WEBHOOK_MAX_PER_HACKATHON": "3",
            "STREAM_MAX_PER_ACCOUNT": "2",
            # Every test of the session signs up and in from one address; the limits
            # themselves are tested on a gateway of their own (test_gateway_edge.py).
            "RATE_LIMIT_SIGN_UP": "100000/minute",
            "RATE_LIMIT_SIGN_IN": "100000/minute",
            "RATE_LIMIT_WRITES": "100000/minute",
        },
    )
    running = Platform(config)
    running.start()
    try:
        yield running
    finally:
        running.stop()
        for url in databases.values():
            drop_postgres_database(url.rsplit("/", 1)[1])


def live_database_url(platform: Platform, service: str) -> str:
    """The URL of ``service``'s database in the running platform."""
    url = platform.config.database_urls.get(service)
    return url or f"sqlite:///{(platform.config.data_dir / f'{service}.db').resolve()}"


def unique_email(name: str = "person") -> str:
    return f"{name}-{uuid.uuid4().hex[:10]}@example.org"


class Api:
    """A client of the gateway's API v1, with helpers for the steps most tests need."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.http = httpx.AsyncClient(base_url=platform.gateway_url + "/api/v1", timeout=15)

    async def close(self) -> None:
        await self.http.aclose()

    async def sign_in(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        answer = await self.http.post("/auth/token", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    async def new_person(self, name: str = "person") -> tuple[str, dict[str, str]]:
        """Sign up someone new; returns (account_id, auth headers)."""
        email = unique_email(name)
        answer = await self.http.post(
            "/accounts", json={"email": email, "password": PASSWORD, "display_name": name}
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["account_id"], await self.sign_in(email)

    async def organizer(self) -> dict[str, str]:
        return await self.sign_in(*ORGANIZER)


@pytest.fixture
async def api(platform: Platform) -> Any:
    client = Api(platform)
    yield client
    await client.close()


async def events_on(
    platform: Platform,
    topic: str,
    match: Callable[[Envelope], bool],
    count: int = 1,
    timeout: float = 20,
) -> list[Envelope]:
    """The platform's events on ``topic`` (unprefixed) that ``match``, read from the start of
    the topic until ``count`` of them have arrived (one aggregate's events in their order)."""
    consumer = AIOKafkaConsumer(
        platform.config.topic_prefix + topic,
        bootstrap_servers=platform.bootstrap_servers,
        auto_offset_reset="earliest",
        group_id=None,
    )
    await consumer.start()
    found: list[Envelope] = []
    try:

        async def enough() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if record.value is None:
                        continue
                    event = decode_event(record.value)
                    if match(event):
                        found.append(event)
            return len(found) >= count

        await wait_until(enough, timeout=timeout, message=f"{count} matching events on {topic}")
    finally:
        await consumer.stop()
    return found
