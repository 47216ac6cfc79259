from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from faststream.kafka import KafkaBroker

from hackathon_shared.consumer import EventConsumer, EventHandler
from hackathon_shared.db import Database
from hackathon_shared.kafka_admin import ensure_topics
from hackathon_shared.topics import Topics
from tests.messaging_helpers import RunningConsumer


@pytest.fixture
async def broker(kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[KafkaBroker]:
    """A started FastStream broker for publishing, with this test's topics created."""
    await ensure_topics(kafka_bootstrap, Topics(topic_prefix).all_with_dlq())
    broker = KafkaBroker(kafka_bootstrap, enable_idempotence=False, logger=None)
    await broker.start()
    yield broker
    await broker.stop()


@pytest.fixture
def running_consumer(
    kafka_bootstrap: str, group_id: str, kafka_consumer_settings: dict[str, Any]
) -> RunningConsumer:
    """Start a consumer of ``topic`` in this test's group, as a context manager."""

    @asynccontextmanager
    async def start(
        topic: str, db: Database, handler: EventHandler, retries: int = 2
    ) -> AsyncIterator[EventConsumer]:
        broker = KafkaBroker(kafka_bootstrap, enable_idempotence=False, logger=None)
        consumer = EventConsumer(
            name="tally",
            db=db,
            broker=broker,
            topics=[topic],
            group_id=group_id,
            handler=handler,
            retries=retries,
            backoff=0.02,
            consumer_options=dict(kafka_consumer_settings),
        )
        consumer.register()
        await broker.start()
        try:
            yield consumer
        finally:
            await broker.stop()

    return start
