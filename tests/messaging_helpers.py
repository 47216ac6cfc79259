"""Helpers for tests that read topics and consumer-group offsets on the real broker."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from hackathon_shared.consumer import EventConsumer
from tests.polling import wait_until

# The ``running_consumer`` fixture's type: (topic, db, handler, retries=2) -> async context.
RunningConsumer = Callable[..., AbstractAsyncContextManager[EventConsumer]]


async def read_records(bootstrap: str, topic: str, expected: int) -> list[ConsumerRecord[Any, Any]]:
    """Read a topic from the start (no consumer group) until ``expected`` records came."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[ConsumerRecord[Any, Any]] = []
    try:

        async def enough() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                found.extend(records)
            return len(found) >= expected

        await wait_until(enough, timeout=20, message=f"{expected} records on {topic}")
    finally:
        await consumer.stop()
    return found


async def wait_for_committed(bootstrap: str, group_id: str, topic: str, total: int) -> None:
    """Wait until the group's committed offsets on ``topic`` cover ``total`` messages over all
    partitions. (Read through a consumer that joins no group: the embedded broker does not
    answer the admin client's offset-fetch request.)"""
    probe = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False
    )
    await probe.start()
    try:
        partitions = probe.partitions_for_topic(topic) or set()
        if not partitions:
            await probe._client.force_metadata_update()  # first look at this topic
            partitions = probe.partitions_for_topic(topic) or set()

        async def covered() -> bool:
            done = 0
            for partition in partitions:
                done += await probe.committed(TopicPartition(topic, partition)) or 0
            return done >= total

        await wait_until(covered, timeout=30, message=f"group {group_id} committed {total}")
    finally:
        await probe.stop()
