"""The consistency barrier: before a service answers from its copies of other services'
facts, it brings them up to the log's end as it is now (docs/consistency.md).

A write is acknowledged only once its events are in the log, so the log's end, read after a
request arrived, includes every write acknowledged before it. The barrier reads that end for
the partitions holding the facts (``LogEnds``), then waits until the positions this service
stored with its effects reach it. Any replica can wait so, whoever consumes the partition.
Past the bound it answers ``503 catching-up`` with ``Retry-After``: never a wrong answer."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Iterable, Mapping

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from hackathon_shared.db import Database
from hackathon_shared.log_end import LogEndError, LogEnds, partition_of
from hackathon_shared.metrics import BARRIER_WAIT, CATCHING_UP
from hackathon_shared.positions import Progress, read_positions
from hackathon_shared.problems import ProblemError, catching_up
from hackathon_shared.topics import Topics

log = logging.getLogger(__name__)

# Partitions already brought up to date during the current request: a request may pass
# several barriers (its principal's, its use case's) and needs each partition once.
_synced: contextvars.ContextVar[set[TopicPartition] | None] = contextvars.ContextVar(
    "barrier_synced", default=None
)

Facts = Mapping[str, Iterable[str] | None]
"""Unprefixed topic → the keys whose facts matter, or None for every partition."""


def begin_request() -> contextvars.Token[set[TopicPartition] | None]:
    """Start a request's record of synced partitions (the service's HTTP middleware)."""
    return _synced.set(set())


def end_request(token: contextvars.Token[set[TopicPartition] | None]) -> None:
    _synced.reset(token)


class Barrier:
    def __init__(
        self,
        db: Database,
        log_ends: LogEnds,
        topics: Topics,
        progress: Progress,
        *,
        timeout: float,
        service: str = "service",
    ) -> None:
        self.service = service
        self.db = db
        self.log_ends = log_ends
        self.topics = topics
        self.progress = progress
        self.timeout = timeout
        # Positions seen stored, per log: they never go back within one log, so a position
        # once read at or past a partition's end proves that end applied for good, and a
        # request that finds its ends already covered reads nothing.
        self._known: dict[TopicPartition, int] = {}
        self._known_log = ""
        self._topics: set[str] = set()
        self._reading: asyncio.Task[None] | None = None

    async def partitions_for(self, facts: Facts) -> set[TopicPartition]:
        wanted: set[TopicPartition] = set()
        for topic, keys in facts.items():
            name = self.topics.name(topic)
            partitions = await self.log_ends.partitions(name)
            if keys is None:
                wanted.update(TopicPartition(name, p) for p in partitions)
            else:
                wanted.update(
                    TopicPartition(name, partition_of(key, len(partitions))) for key in keys
                )
        return wanted

    async def caught_up(self, facts: Facts) -> None:
        """Return once this service has applied, on each partition holding ``facts``, every
        record the log had when this call began; raise ``catching-up`` past the bound."""
        started = time.perf_counter()
        try:
            await self._caught_up(facts)
        except ProblemError:
            CATCHING_UP.labels(self.service, "503").inc()
            raise
        finally:
            BARRIER_WAIT.labels(self.service).observe(time.perf_counter() - started)

    async def _caught_up(self, facts: Facts) -> None:
        deadline = time.monotonic() + self.timeout
        synced = _synced.get()
        try:
            async with asyncio.timeout(self.timeout):
                wanted = await self.partitions_for(facts)
                if synced is not None:
                    wanted -= synced
                if not wanted:
                    return
                ends = await self.log_ends.ends(wanted)
        except (TimeoutError, LogEndError, KafkaError, OSError) as error:
            log.warning("barrier: log end unknown: %r", error)
            raise catching_up("the event log cannot be read right now") from error
        pending = {tp: end for tp, end in ends.items() if end > 0}
        delay = 0.002
        positions = self._known_positions()
        pending = {tp: end for tp, end in pending.items() if positions.get(tp, 0) < end}
        while pending:
            positions = await self._read_positions({tp.topic for tp in pending})
            pending = {tp: end for tp, end in pending.items() if positions.get(tp, 0) < end}
            if not pending:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                behind = ", ".join(
                    f"{tp.topic}[{tp.partition}] at {positions.get(tp, 0)} of {end}"
                    for tp, end in sorted(pending.items())
                )
                raise catching_up(
                    f"this service is still applying other services' events: {behind}"
                )
            # Woken by this process's own consumers; polled for those of other replicas.
            await self.progress.wait_applied(min(delay, left))
            delay = min(delay * 2, 0.02)
        if synced is not None:
            synced.update(wanted)

    def _known_positions(self) -> dict[TopicPartition, int]:
        if self._known_log != self.progress.log_id:
            self._known, self._known_log = {}, self.progress.log_id
        return self._known

    async def _read_positions(self, topics: set[str]) -> dict[TopicPartition, int]:
        """The stored positions, read once for every request waiting at the same time: a
        read in flight serves every caller whose topics it covers (any read proves what it
        shows, positions only growing), else a new one is made."""
        while True:
            reading = self._reading
            if reading is not None and not reading.done() and topics <= self._topics:
                await asyncio.shield(reading)
                return self._known_positions()
            if reading is None or reading.done():
                self._topics |= topics
                self._reading = asyncio.create_task(self._read(set(self._topics)))
                await asyncio.shield(self._reading)
                return self._known_positions()
            await asyncio.shield(reading)  # one for fewer topics: let it end, then read anew
            self._topics |= topics

    async def _read(self, topics: set[str]) -> None:
        log_id = self.progress.log_id
        async with self.db.sessions() as session:
            positions = await read_positions(session, log_id, topics)
        known = self._known_positions()
        if self._known_log == log_id:
            for tp, offset in positions.items():
                if offset > known.get(tp, -1):
                    known[tp] = offset
