"""Pytest plugin: a real Kafka-protocol broker for the test session, and per-test names.

The broker is chosen once per session, in this order:

1. ``KAFKA_BOOTSTRAP_SERVERS`` when set (checked to answer before any test runs);
2. a testcontainers Kafka (KRaft) when a Docker engine answers; the image can be overridden
   with ``KAFKA_TEST_IMAGE``;
3. the embedded Tansu broker (`hackathon_cli.embedded_broker.EmbeddedBroker`).

Tests share the broker, so they isolate themselves with the ``topic_prefix`` and ``group_id``
fixtures instead of cleaning up. ``kafka_consumer_settings`` gives consumer timing arguments
that make group joins fast on Tansu and are safe on Apache Kafka (which rejects short session
timeouts): pass them to `AIOKafkaConsumer(...)` or FastStream's `broker.subscriber(...)`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import pytest

from hackathon_cli.embedded_broker import EmbeddedBroker
from hackathon_shared.kafka_admin import (
    FAST_CONSUMER_SETTINGS,
    ConsumerTimings,
    consumer_timings_for,
    wait_for_broker,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

DOCKER_PING_TIMEOUT_S = 2
BROKER_READY_TIMEOUT_S = 30.0
DEFAULT_KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"


def _run_coroutine_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a private event loop in a helper thread.

    Sync fixtures must not touch the main thread's event loop, which pytest-asyncio manages.
    """
    outcome: dict[str, Any] = {}

    def runner() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=runner, name="kafka-fixture-check", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def docker_engine_answers(timeout: int = DOCKER_PING_TIMEOUT_S) -> bool:
    """True when a Docker engine answers a ping within ``timeout`` seconds."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=timeout)
    except Exception:
        return False
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def _kafka_container_class() -> Any:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # older testcontainers releases
        from testcontainers.kafka import KafkaContainer
    return KafkaContainer


@dataclass(frozen=True)
class KafkaTarget:
    """The session's broker: where it is, where it came from, how consumers should time."""

    bootstrap_servers: str
    source: Literal["env", "container", "embedded"]
    consumer_timings: ConsumerTimings = field(default_factory=ConsumerTimings)


@pytest.fixture(scope="session")
def kafka_target() -> Iterator[KafkaTarget]:
    """The session's broker (see the module docstring for how it is chosen)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "").strip()
    if configured:
        log.info("using the Kafka broker at %s (KAFKA_BOOTSTRAP_SERVERS)", configured)
        yield KafkaTarget(configured, "env", _checked_timings(configured))
        return

    if docker_engine_answers():
        image = os.environ.get("KAFKA_TEST_IMAGE", DEFAULT_KAFKA_IMAGE)
        log.info("starting a Kafka container (%s) with testcontainers", image)
        with _kafka_container_class()(image).with_kraft() as container:
            bootstrap: str = container.get_bootstrap_server()
            yield KafkaTarget(bootstrap, "container", _checked_timings(bootstrap))
        return

    log.info("no KAFKA_BOOTSTRAP_SERVERS and no Docker engine: starting the embedded broker")
    with EmbeddedBroker() as broker:
        yield KafkaTarget(
            broker.bootstrap_servers, "embedded", ConsumerTimings(**FAST_CONSUMER_SETTINGS)
        )


def _checked_timings(bootstrap: str) -> ConsumerTimings:
    """Wait for a broker we did not start, then pick consumer timings that suit it."""

    async def check() -> ConsumerTimings:
        await wait_for_broker(bootstrap, timeout=BROKER_READY_TIMEOUT_S)
        return await consumer_timings_for(bootstrap)

    return _run_coroutine_in_thread(check())


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_target: KafkaTarget) -> str:
    """Bootstrap servers (``"host:port"``) of the session's broker."""
    return kafka_target.bootstrap_servers


@pytest.fixture
def kafka_consumer_settings(kafka_target: KafkaTarget) -> ConsumerTimings:
    """Consumer timing arguments for this broker (a fresh dict: tests may add to it)."""
    return ConsumerTimings(**kafka_target.consumer_timings)


def _slug(text: str, limit: int = 40) -> str:
    """Keep only characters legal in Kafka topic and group names."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:limit] or "test"


@pytest.fixture
def topic_prefix() -> str:
    """A prefix unique to this test, e.g. ``"t-1a2b3c4d."``: prepend it to every topic name."""
    return f"t-{uuid.uuid4().hex[:8]}."


@pytest.fixture
def group_id(request: pytest.FixtureRequest) -> str:
    """A consumer group id unique to this test (it names the test, for broker-side debugging)."""
    return f"g-{_slug(request.node.name)}-{uuid.uuid4().hex[:8]}"
