"""Noticing that the broker lost its log, and starting again on the new one.

The services' databases are the durable record: each outbox holds every event and contact
record the service ever decided, and each consumer's stored positions say how far it applied
which log. The log itself may be lost: the embedded broker keeps it in memory only, and a
Kafka whose volume was wiped starts empty. Nothing then reaches the consumers, and every
barrier waits for ever, unless each service notices and publishes its outbox again.

A service tells that the log it knew is gone by three facts (``lost_reason``):
- the broker's cluster id is not the one its stored positions were taken on (the embedded
  broker gets a new id at every start; Kafka keeps its id with its data);
- one of its own topics holds fewer records than its outbox says it published (a log
  that restarted empty under the same id);
- a stored position of the current log is past the partition's end.

At start-up (``recover_if_lost``) it then forgets the positions of the lost log, marks its
whole outbox unpublished, so the relay publishes it again in id order (each aggregate's events
in their order), and its consumers read the new log from its start: the inbox drops what was
applied already, and causal delivery (``seen``) orders what comes from several topics.

While it runs (``LogWatch``), the same check runs every few seconds, and the outbox relay
checks the cluster id before it sends rows (``LogWatch.guard``: at most a second old, fresh
after a failed round), so that no row of this service lands on a new log ahead of the rows
before it. When the log is lost, ``/readyz`` says so and the service stops itself, so that
its supervisor (the run command, Compose's ``restart``, Kubernetes) starts it again, and the
start recovers as above. A restart on an intact log republishes nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Iterable

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import delete, func
from sqlmodel import col, select

from hackathon_shared.db import Database
from hackathon_shared.log_end import LogEnds
from hackathon_shared.messaging_tables import ConsumerPosition, OutboxRecord

log = logging.getLogger(__name__)

LOG_WATCH_SECONDS = 3.0
"""How often a running service checks that the broker still has its log."""
GUARD_FRESH_SECONDS = 1.0
"""How long a check of the broker's cluster id stands for the outbox relay's rounds (less
than the embedded broker takes to be started again, 1 s of backoff and its start)."""


class LogLost(RuntimeError):
    """The broker is not the log this service started on: nothing more may be sent to it."""


async def published_counts(db: Database, topics: Iterable[str]) -> dict[str, int]:
    """How many of the outbox's rows for each (prefixed) topic the broker accepted."""
    wanted = list(topics)
    async with db.sessions() as session:
        found = await session.exec(
            select(OutboxRecord.topic, func.count())
            .where(col(OutboxRecord.topic).in_(wanted), col(OutboxRecord.published_at).is_not(None))
            .group_by(col(OutboxRecord.topic))
        )
        counts = {topic: int(count) for topic, count in found.all()}
    return {topic: counts.get(topic, 0) for topic in wanted}


async def stored_positions(db: Database) -> list[ConsumerPosition]:
    async with db.sessions() as session:
        return list((await session.exec(select(ConsumerPosition))).all())


async def topic_ends(log_ends: LogEnds, topics: Iterable[str]) -> dict[TopicPartition, int]:
    wanted = [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in await log_ends.partitions(topic)
    ]
    return await log_ends.ends(wanted)


async def lost_reason(
    db: Database,
    log_ends: LogEnds,
    cluster_id: str,
    own_topics: Iterable[str],
    consumed_topics: Iterable[str],
) -> str | None:
    """Why the log this service knew is gone, or None when it is intact (see the module
    docstring). ``own_topics`` are the non-compacted topics the service publishes to."""
    positions = await stored_positions(db)
    earlier = sorted({p.log_id for p in positions if p.log_id != cluster_id})
    if earlier and not any(p.log_id == cluster_id for p in positions):
        return f"the broker is a new log ({cluster_id}); positions were of {', '.join(earlier)}"
    own = list(own_topics)
    # Counted before the ends are read: a row is marked published only after the broker
    # accepted it, so what the ends show then covers every row counted.
    counts = await published_counts(db, own)
    ends = await topic_ends(log_ends, own)
    for topic, published in counts.items():
        held = sum(end for tp, end in ends.items() if tp.topic == topic)
        if held < published:
            return f"{topic} holds {held} records, but this service published {published}"
    current = [p for p in positions if p.log_id == cluster_id]
    if current:
        consumed = {p.topic for p in current} & set(consumed_topics)
        now = await topic_ends(log_ends, consumed)
        for p in current:
            end = now.get(TopicPartition(p.topic, p.partition))
            if end is not None and p.next_offset > end:
                return f"{p.topic}[{p.partition}] ends at {end}, before position {p.next_offset}"
    return None


async def forget_positions(db: Database) -> int:
    """Forget every stored position: they belong to the lost log. (The sequences applied per
    aggregate and the inbox stay: they are facts about events, whatever log carries them.)"""
    async with db.transaction() as session:
        result = await session.exec(delete(ConsumerPosition))
    return int(result.rowcount or 0)


class LogWatch:
    """Checks every ``interval`` seconds that the broker still has the log this service
    started on; when it is lost, records why (``lost``, shown by ``/readyz``) and stops the
    process with SIGTERM, for its supervisor to start it again (see the module docstring)."""

    def __init__(
        self,
        bootstrap_servers: str,
        db: Database,
        log_ends: LogEnds,
        *,
        cluster_id: str,
        own_topics: Iterable[str],
        consumed_topics: Iterable[str],
        interval: float = LOG_WATCH_SECONDS,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.db = db
        self.log_ends = log_ends
        self.cluster_id = cluster_id
        self.own_topics = list(own_topics)
        self.consumed_topics = list(consumed_topics)
        self.interval = interval
        self.lost: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._verified_at = time.monotonic()  # the cluster id was read at start-up

    async def _current_cluster_id(self) -> str:
        """The broker's cluster id, through one admin client kept open (made again after a
        failure: the broker may have come back as another process)."""
        try:
            if self._admin is None:
                self._admin = AIOKafkaAdminClient(
                    bootstrap_servers=self.bootstrap_servers, request_timeout_ms=2000
                )
                await self._admin.start()
            described = await self._admin.describe_cluster()
        except BaseException:
            admin, self._admin = self._admin, None
            if admin is not None:
                try:
                    await admin.close()
                except Exception:  # an admin client that never connected
                    log.debug("closing the log watch's admin client failed", exc_info=True)
            raise
        return str(described.get("cluster_id") or "")

    async def guard(self, fresh: bool = False) -> None:
        """Before the outbox relay sends rows: raise ``LogLost`` when the broker is not the log
        this service started on, so that nothing of this service's lands on a new log before
        the restart that republishes everything in order. The check is made at most once a
        ``GUARD_FRESH_SECONDS``, and every time when ``fresh`` (after a failed round: the
        broker may have come back as a new log)."""
        if self.lost is not None:
            raise LogLost(self.lost)
        now = time.monotonic()
        if not fresh and now - self._verified_at < GUARD_FRESH_SECONDS:
            return
        cluster_id = await asyncio.wait_for(self._current_cluster_id(), self.interval)
        if cluster_id and cluster_id != self.cluster_id:
            self._lose(f"the broker's cluster id changed from {self.cluster_id} to {cluster_id}")
            raise LogLost(self.lost or "")
        self._verified_at = now

    def _lose(self, reason: str) -> None:
        if self.lost is not None:
            return
        self.lost = reason
        log.error("the broker lost its log (%s); restarting to publish again", reason)
        os.kill(os.getpid(), signal.SIGTERM)

    async def check(self) -> str | None:
        """Why the log is lost, or None; a broker that does not answer is not a loss."""
        try:
            cluster_id = await asyncio.wait_for(self._current_cluster_id(), self.interval * 2)
        except Exception:
            return None  # down for now: /readyz says the broker is unavailable
        if cluster_id and cluster_id != self.cluster_id:
            return f"the broker's cluster id changed from {self.cluster_id} to {cluster_id}"
        try:
            return await asyncio.wait_for(
                lost_reason(
                    self.db, self.log_ends, self.cluster_id, self.own_topics, self.consumed_topics
                ),
                self.interval * 2,
            )
        except Exception:
            return None  # topics missing for a moment, or the broker went away meanwhile

    async def run(self) -> None:
        while self.lost is None:
            await asyncio.sleep(self.interval)
            reason = await self.check()
            if reason is not None:
                self._lose(reason)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="log-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception:
                log.debug("closing the log watch's admin client failed", exc_info=True)
