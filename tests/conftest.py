from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from faststream.kafka import KafkaBroker

from hackathon_shared.kafka_admin import ensure_topics
from hackathon_shared.topics import Topics

pytest_plugins = ["tests.kafka_fixtures", "tests.database_fixtures"]


@pytest.fixture
async def broker(kafka_bootstrap: str, topic_prefix: str) -> AsyncIterator[KafkaBroker]:
    """A started FastStream broker for publishing, with this test's topics created."""
    await ensure_topics(kafka_bootstrap, Topics(topic_prefix).all_with_dlq())
    broker = KafkaBroker(kafka_bootstrap, enable_idempotence=False, logger=None)
    await broker.start()
    yield broker
    await broker.stop()
