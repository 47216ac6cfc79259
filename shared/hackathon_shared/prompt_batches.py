"""Batch subscribers that wait for records in the fetch, not in a sleep.

FastStream's Kafka batch subscriber asks aiokafka for records with ``batch_timeout_ms`` and,
when none came, sleeps ``batch_timeout_ms`` again before asking anew. So the timeout is both
how long a record may wait unseen (during the sleep) and how often an idle consumer loops:
2 ms meant prompt delivery and about 250 idle rounds a second per consumer, a service having
one consumer per topic. aiokafka's ``getmany`` already returns the moment a fetch brings
records, so here the subscriber waits in ``getmany`` alone, up to its ``batch_timeout_ms``
(``CONSUMER_BATCH_TIMEOUT_MS``, 1000 by default), and never sleeps: records are handed on as
soon as they are fetched, and an idle consumer loops about once a second."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain
from typing import Any

from faststream.kafka.subscriber.usecase import BatchSubscriber


def wait_in_fetch(subscribers: Iterable[Any]) -> int:
    """Make each batch subscriber among ``subscribers`` wait in the fetch (before the broker
    starts them). Returns how many were changed."""
    changed = 0
    for subscriber in subscribers:
        if not isinstance(subscriber, BatchSubscriber):
            continue

        async def get_msg(consumer: Any, batches: BatchSubscriber = subscriber) -> tuple[Any, ...]:
            messages = await consumer.getmany(
                timeout_ms=batches.batch_timeout_ms, max_records=batches.max_records
            )
            return tuple(chain(*messages.values()))

        subscriber.get_msg = get_msg  # type: ignore[method-assign]
        changed += 1
    return changed
