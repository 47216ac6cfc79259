"""Where the log ends now: the high watermark of a set of partitions, read from the broker at
the moment of asking, for the consistency barrier (``hackathon_shared.barrier``).

The end is read with a Fetch request that waits as little as it may (``max_wait`` 1 ms: Tansu
answers a Fetch with ``max_wait`` 0 with no partitions at all; ``min_bytes`` 0; one byte per
partition), not with ListOffsets: the embedded broker (Tansu 0.6) answers
ListOffsets with the base offset of the partition's last produced batch plus one, which lies
inside that batch, while the high watermark of a Fetch answer is the true end. Apache Kafka
gives both right; one request works on both.

Requests that ask at the same time share one Fetch: a caller joins the next round that has
not been sent yet, never one already in flight (that one may have left before the write the
caller must see was acknowledged)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import for_code
from aiokafka.partitioner import murmur2
from aiokafka.protocol.fetch import FetchRequest

log = logging.getLogger(__name__)

_READ_UNCOMMITTED = 0


def partition_of(key: str, partitions: int) -> int:
    """The partition the producer's default partitioner gives ``key`` (murmur2, as Kafka's
    Java client and aiokafka do), so the barrier looks only where a key's facts are."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


class LogEndError(RuntimeError):
    """The broker did not tell where a partition ends (unreachable, unknown partition)."""


class LogEnds:
    """Reads partitions' current ends from the broker, one shared Fetch per round."""

    def __init__(self, bootstrap_servers: str, *, request_timeout_ms: int = 5000) -> None:
        self._client = AIOKafkaClient(
            bootstrap_servers=bootstrap_servers,
            client_id="log-ends",
            request_timeout_ms=request_timeout_ms,
        )
        self._started = False
        self._start_lock = asyncio.Lock()
        self._wanted: set[TopicPartition] = set()
        self._next: asyncio.Future[dict[TopicPartition, int]] | None = None
        self._kick = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        # The last end seen per partition: where the next Fetch asks from, so that an answer
        # carries at most one small batch.
        self._last: dict[TopicPartition, int] = {}
        self.rounds = 0

    async def _ensure_started(self) -> None:
        if self._started:
            return
        async with self._start_lock:
            if not self._started:
                await self._client.bootstrap()
                self._started = True

    async def partitions(self, topic: str) -> list[int]:
        """The topic's partitions, from the client's metadata."""
        await self._ensure_started()
        known = self._client.cluster.partitions_for_topic(topic)
        if not known:
            self._client.add_topic(topic)
            await self._client._wait_on_metadata(topic)
            known = self._client.cluster.partitions_for_topic(topic)
        if not known:
            raise LogEndError(f"topic {topic} has no partitions")
        return sorted(known)

    async def ends(self, wanted: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """The current end (high watermark) of each of these partitions, read after this call
        began: only these, although the round that read them may have read others' too (a
        barrier that waited for the log watch's partitions, which its service does not
        consume, stalled until its bound)."""
        await self._ensure_started()
        asked = set(wanted)
        loop = asyncio.get_running_loop()
        if self._next is None:
            self._next = loop.create_future()
        future = self._next
        self._wanted.update(asked)
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="log-ends")
        self._kick.set()
        result = await asyncio.shield(future)
        return {tp: end for tp, end in result.items() if tp in asked}

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._kick.wait()
            self._kick.clear()
            wanted, future = self._wanted, self._next
            self._wanted, self._next = set(), loop.create_future()
            if future is None or not wanted:
                continue
            self.rounds += 1
            try:
                future.set_result(await self._fetch_ends(wanted))
            except Exception as error:
                future.set_exception(error)
                # Nobody may be waiting any more (a caller timed out): keep the loop quiet.
                future.exception()

    async def _fetch_ends(self, wanted: set[TopicPartition]) -> dict[TopicPartition, int]:
        by_node: dict[int, list[TopicPartition]] = defaultdict(list)
        for tp in wanted:
            leader = self._client.cluster.leader_for_partition(tp)
            if leader is None or leader == -1:
                await self._client.force_metadata_update()
                leader = self._client.cluster.leader_for_partition(tp)
            if leader is None or leader == -1:
                raise LogEndError(f"no leader known for {tp.topic}[{tp.partition}]")
            by_node[leader].append(tp)
        answers = await asyncio.gather(
            *(self._fetch_from(node, tps) for node, tps in by_node.items())
        )
        ends: dict[TopicPartition, int] = {}
        for answer in answers:
            ends.update(answer)
        return ends

    async def _fetch_from(self, node: int, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        ends: dict[TopicPartition, int] = {}
        asked, retry = tps, list(tps)
        for _attempt in range(2):
            topics: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
            for tp in asked:
                topics[tp.topic].append((tp.partition, self._last.get(tp, 0), 1))
            request = FetchRequest(1, 0, 1, _READ_UNCOMMITTED, list(topics.items()))
            response = await self._client.send(node, request)
            retry = []
            for topic, partitions in response.topics:
                for partition, error_code, highwater, *_rest in partitions:
                    tp = TopicPartition(topic, partition)
                    error = for_code(error_code)
                    if error_code == 0:
                        ends[tp] = highwater
                        self._last[tp] = highwater
                    elif error.__name__ == "OffsetOutOfRangeError":
                        # The log is shorter than when last seen: it was lost and begun
                        # again. Ask from its start.
                        log.warning("%s[%d] is shorter than before: log reset", topic, partition)
                        self._last.pop(tp, None)
                        retry.append(tp)
                    else:
                        raise LogEndError(f"{topic}[{partition}]: {error.__name__}")
            if not retry:
                break
            asked = retry
        if retry:
            raise LogEndError(f"could not read the end of {retry}")
        missing = [tp for tp in tps if tp not in ends]
        if missing:
            raise LogEndError(f"no answer for {missing}")
        return ends

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
            self._runner = None
        if self._started:
            await self._client.close()
            self._started = False
