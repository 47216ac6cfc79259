"""The process shell every service shares: a FastAPI app whose lifespan applies the
service's migrations, starts its FastStream broker (and so its subscribers) and its outbox
relay, and serves /healthz, /readyz and /metrics. A service supplies its routers and its
consumers; its rules stay in its own domain and use-case modules.

Consistency (docs/consistency.md) is the shell's too: every answer of the service's routers
passes the barrier on the topics the service reads (``reads``) first, a write answers once
its events are in the log (or 202 past the bound), and a token of an erased account is
refused."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.params import Depends as DependsParam
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hackathon_shared import outbox as outbox_module
from hackathon_shared.auth import Principal, erased_account
from hackathon_shared.barrier import Barrier, Facts, begin_request, end_request
from hackathon_shared.broker import make_broker
from hackathon_shared.consumer import ContactConsumer, ContactHandler, EventConsumer, EventHandler
from hackathon_shared.db import Database
from hackathon_shared.delivery_monitor import delivery_router, monitor_link
from hackathon_shared.events.catalogue import AccountErased
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.idempotency import IdempotentWrites
from hackathon_shared.kafka_admin import (
    cluster_id_of,
    ensure_topics,
    is_tansu,
    timings_for_cluster,
)
from hackathon_shared.log_end import LogEnds
from hackathon_shared.log_loss import LogWatch, forget_positions, lost_reason
from hackathon_shared.logging_setup import configure_logging, log_access, log_context
from hackathon_shared.metrics import (
    CATCHING_UP,
    CONSUMER_LAG,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    OUTBOX_BACKLOG,
    WRITE_ACK_WAIT,
)
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox, OutboxRelay
from hackathon_shared.positions import Progress, is_erased, record_erasure
from hackathon_shared.problems import install_problem_handlers
from hackathon_shared.process_tuning import NO_FASTAPI_TELEMETRY, freeze_startup_objects
from hackathon_shared.prompt_batches import wait_in_fetch
from hackathon_shared.settings import ServiceSettings
from hackathon_shared.signing import TrustedKeys
from hackathon_shared.topics import (
    ALL_TOPICS,
    EVENTS_TOPIC_OF_PRODUCER,
    REGISTRATION_CONTACTS,
    REGISTRATION_EVENTS,
    dlq,
)

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 4.0
"""The most stopping may take (relay, consumers and producer, the log-end client, the
database pool, in that order), so that a service stops within 5 s of SIGTERM, broker up or
down, well inside Compose's 30 s grace. What a step leaves unfinished is safe: the outbox
publishes again what was not marked, and consumers apply again from their stored positions."""


@dataclass
class ServiceRuntime:
    """What a running service's entrypoints need: its settings, database, broker, outbox,
    and the barrier that brings its copies of other services' facts up to date."""

    settings: ServiceSettings
    db: Database
    broker: KafkaBroker
    outbox: Outbox
    relay: OutboxRelay
    progress: Progress
    log_ends: LogEnds
    barrier: Barrier
    # The public keys every consumed record's signature is checked against.
    trusted_keys: TrustedKeys
    consumers: list[EventConsumer] = field(default_factory=list)
    # What the service's answers depend on (``create_service_app(reads=...)``).
    reads: Facts = field(default_factory=dict)
    # Watches that the broker keeps the log (hackathon_shared.log_loss), once started.
    log_watch: LogWatch | None = None

    def consume(self, topics: Sequence[str], handler: EventHandler, name: str = "events") -> None:
        """Subscribe this service to the given (unprefixed) topics: one consumer group per
        topic, so that an event waiting for facts of another topic (causal delivery) never
        holds up the consumer that brings them."""
        for topic in topics:
            applied = handler
            if topic == REGISTRATION_EVENTS and self.settings.service_name != "registration":
                applied = _recording_erasures(handler)
            self.consumers.append(
                EventConsumer(handler=_logged(applied), **self._consumer_args(topic, name))
            )

    def consume_contacts(self, handler: ContactHandler, name: str = "contacts") -> None:
        """Subscribe a consumer group of this service to ``registration.contacts``."""
        self.consumers.append(
            ContactConsumer(
                contact_handler=handler, **self._consumer_args(REGISTRATION_CONTACTS, name)
            )
        )

    def _consumer_args(self, topic: str, name: str) -> dict[str, Any]:
        # Registered on the broker at start-up (see register_consumers).
        settings = self.settings
        service_group = f"{settings.topic_prefix}{settings.service_name}.{name}"
        return {
            "name": f"{settings.service_name}.{name}",
            "db": self.db,
            "broker": self.broker,
            "topics": [settings.topics.name(topic)],
            "group_id": f"{service_group}.{topic}",
            "inbox_group": service_group,
            "batch_size": settings.consumer_batch_size,
            "retries": settings.consumer_retries,
            "backoff": settings.consumer_retry_backoff_seconds,
            "progress": self.progress,
            "topic_names": settings.topics,
            "causal_wait": settings.causal_wait_seconds,
            "upstream_caught_up": self._caught_up_on,
            "trusted_keys": self.trusted_keys,
        }

    async def _caught_up_on(self, topics: set[str]) -> None:
        """The barrier on (prefixed) topic names, for a consumer's causal wait."""
        prefix = self.settings.topic_prefix
        await self.caught_up(dict.fromkeys(t.removeprefix(prefix) for t in topics))

    @property
    def consumed_topics(self) -> list[str]:
        """The (prefixed) topics this service consumes."""
        return sorted({topic for consumer in self.consumers for topic in consumer.topics})

    @property
    def own_event_topics(self) -> list[str]:
        """The (prefixed) event topic this service publishes to, if it publishes events (the
        compacted contacts topic is left out: compaction shortens it by design)."""
        name = self.settings.service_name
        if name not in EVENTS_TOPIC_OF_PRODUCER:
            return []
        return [self.settings.topics.events_of(name)]

    async def recover_if_lost(self, cluster_id: str) -> str | None:
        """At start-up: when the broker lost the log this service knew, forget the positions
        taken on it and publish the whole outbox again (hackathon_shared.log_loss). Returns
        why, or None when the log is intact."""
        reason: str | None
        if self.settings.outbox_republish_on_start:
            reason = "OUTBOX_REPUBLISH_ON_START is set"
        else:
            reason = await lost_reason(
                self.db, self.log_ends, cluster_id, self.own_event_topics, self.consumed_topics
            )
        if reason is None:
            return None
        forgotten = await forget_positions(self.db)
        republished = await self.relay.republish_everything()
        log.warning(
            "the log was lost (%s): %d outbox rows are published again, %d stored positions "
            "forgotten",
            reason,
            republished,
            forgotten,
        )
        return reason

    async def register_consumers(self, cluster_id: str) -> None:
        timings: dict[str, Any] = dict(timings_for_cluster(cluster_id))
        timings.update(self.settings.consumer_timing_overrides())
        timings["fetch_max_wait_ms"] = self.settings.fetch_max_wait_ms_for(is_tansu(cluster_id))
        timings["batch_timeout_ms"] = self.settings.consumer_batch_timeout_ms
        consumed = self.consumed_topics
        for consumer in self.consumers:
            consumer.consumer_options.update(timings)
            consumer.awaits_topics = frozenset(consumed)
            consumer.register()
        wait_in_fetch(self.broker.subscribers)

    async def caught_up(self, facts: Facts) -> None:
        """The barrier: see :class:`hackathon_shared.barrier.Barrier`."""
        await self.barrier.caught_up(facts)

    async def check_principal(self, principal: Principal) -> None:
        """Refuse the token of an account whose erasure this service has applied, after
        bringing the account's facts up to date."""
        await self.caught_up({REGISTRATION_EVENTS: [principal.account_id]})
        async with self.db.reads() as connection:
            if await is_erased(connection, principal.account_id):
                raise erased_account()


def _recording_erasures(handler: EventHandler) -> EventHandler:
    """The handler, also recording an ``AccountErased`` so the account's tokens are refused."""

    async def handle(session: Any, event: Envelope) -> None:
        if isinstance(event, AccountErased):
            await record_erasure(session, event.payload.account_id)
        await handler(session, event)

    return handle


def _logged(handler: EventHandler) -> EventHandler:
    """The handler, with the event's ids on every log line it writes."""

    async def handle(session: Any, event: Envelope) -> None:
        with log_context(
            event_id=str(event.event_id),
            event_type=event.type,
            correlation_id=event.correlation_id,
        ):
            await handler(session, event)

    return handle


async def _measure_consumer_lag(broker: KafkaBroker, service: str) -> None:
    """Set ``kafka_consumer_lag`` for the partitions this replica's consumers are assigned:
    the partition's high watermark (as of the last fetch) minus the consumer's position.
    Partitions assigned elsewhere since the last scrape are dropped, so that the sum over
    replicas counts each partition once."""
    CONSUMER_LAG.clear()
    for subscriber in broker.subscribers:
        consumer = getattr(subscriber, "consumer", None)
        group = str(getattr(subscriber, "group_id", "") or "")
        if consumer is None:
            continue
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue
            try:
                position = await asyncio.wait_for(consumer.position(partition), timeout=0.5)
            except Exception:  # not positioned yet, or reassigned meanwhile
                continue
            CONSUMER_LAG.labels(service, group, partition.topic, str(partition.partition)).set(
                max(highwater - position, 0)
            )


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    db = Database(
        settings.resolved_database_url(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_size,
    )
    broker = make_broker(settings)
    signer, trusted_keys = settings.event_keys()  # refuses to start without them
    outbox = Outbox(settings.topics, settings.service_name)
    relay = OutboxRelay(
        db,
        broker,
        batch_size=settings.relay_batch_size,
        interval=settings.relay_interval_seconds,
        service=settings.service_name,
        signer=signer,
    )
    outbox.attach_wakeup(relay.wake)
    progress = Progress()
    log_ends = LogEnds(settings.kafka_bootstrap_servers)
    barrier = Barrier(
        db,
        log_ends,
        settings.topics,
        progress,
        timeout=settings.consistency_wait_seconds,
        service=settings.service_name,
    )
    if settings.service_name in EVENTS_TOPIC_OF_PRODUCER:
        # Declared for the AsyncAPI document; the outbox relay does the publishing.
        broker.publisher(
            settings.topics.events_of(settings.service_name),
            title=f"{settings.service_name} events",
            description="Events this service decides, in the common envelope, keyed by "
            "aggregate id; see docs/events for each type's JSON Schema.",
        )
    return ServiceRuntime(
        settings, db, broker, outbox, relay, progress, log_ends, barrier, trusted_keys
    )


async def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


async def _caught_up_on_reads(runtime: Runtime) -> None:
    await runtime.caught_up(runtime.reads)


CAUGHT_UP: DependsParam = Depends(_caught_up_on_reads)
"""A route dependency: the barrier on every topic the service reads."""


async def request_id_of(request: Request) -> str | None:
    """The gateway's request id, which events carry as their correlation id."""
    return request.headers.get("x-request-id")


RequestId = Annotated[str | None, Depends(request_id_of)]


def create_service_app(
    *,
    settings: ServiceSettings,
    migrations: Path,
    routers: Sequence[APIRouter] = (),
    own_fact_routers: Sequence[APIRouter] = (),
    subscribe: Callable[[ServiceRuntime], None] | None = None,
    reads: Sequence[str] = (),
    on_started: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    on_stopping: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    title: str | None = None,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    secret = settings.signing_secret()  # refuses to start without one
    runtime = build_runtime(settings)
    if subscribe is not None:
        subscribe(runtime)
    runtime.reads = dict.fromkeys(reads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_to_head(runtime.db.url, migrations)
        topics = [settings.topics.name(t) for t in ALL_TOPICS]
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            topics + [dlq(t) for t in topics],
            partitions=settings.topic_partitions,
            topic_configs=topic_configs(settings),
        )
        cluster_id = await cluster_id_of(settings.kafka_bootstrap_servers)
        await runtime.recover_if_lost(cluster_id)
        runtime.progress.log_id = cluster_id
        await runtime.register_consumers(cluster_id)
        await runtime.broker.start()
        runtime.relay.start()
        runtime.log_watch = LogWatch(
            settings.kafka_bootstrap_servers,
            runtime.db,
            runtime.log_ends,
            cluster_id=cluster_id,
            own_topics=runtime.own_event_topics,
            consumed_topics=runtime.consumed_topics,
        )
        runtime.log_watch.start()
        runtime.relay.log_guard = runtime.log_watch.guard
        if on_started is not None:
            await on_started(runtime)
        freeze_startup_objects()
        try:
            yield
        finally:
            await _stop(runtime, on_stopping)

    app = FastAPI(
        title=title or f"{settings.service_name} service",
        lifespan=lifespan,
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    app.state.runtime = runtime
    app.state.jwt_secret = secret
    if REGISTRATION_EVENTS in reads:
        app.state.principal_check = runtime.check_principal
    install_problem_handlers(app)
    _install_observability(app, runtime)
    for router in routers:
        app.include_router(router, dependencies=[CAUGHT_UP] if reads else [])
    # Routes that answer from the service's own facts alone need no barrier; a route among
    # them that does depends on ``CAUGHT_UP`` itself.
    for router in own_fact_routers:
        app.include_router(router)
    app.include_router(delivery_router(settings.service_name, runtime.db))
    return app


KEEP_FOREVER: dict[str, str] = {"retention.ms": "-1", "retention.bytes": "-1"}
"""Event topics (and their DLQs) keep every record: consumers check that each aggregate's
chain continues from its first event, and auditors replay the log from offset 0."""


CONTACTS_DLQ_RETENTION_MS = 7 * 24 * 3600 * 1000


def topic_configs(settings: ServiceSettings) -> dict[str, dict[str, str]]:
    """The configs of the topics a service creates when they do not exist yet (Compose's
    topic job creates them with the same settings first, ``ops/create-topics.sh``)."""
    configs: dict[str, dict[str, str]] = {}
    for topic in ALL_TOPICS:
        name = settings.topics.name(topic)
        if topic == REGISTRATION_CONTACTS:
            # Contact details: only the latest per account is kept, and erasure's tombstone
            # removes it; what was dead-lettered may hold personal data, so it goes in 7 days.
            configs[name] = {"cleanup.policy": "compact"}
            configs[dlq(name)] = {"retention.ms": str(CONTACTS_DLQ_RETENTION_MS)}
        else:
            configs[name] = dict(KEEP_FOREVER)
            configs[dlq(name)] = dict(KEEP_FOREVER)
    return configs


async def _stop(
    runtime: ServiceRuntime, on_stopping: Callable[[ServiceRuntime], Awaitable[None]] | None
) -> None:
    """Stop every part within ``SHUTDOWN_SECONDS`` in all: a step the broker's absence would
    hold up (a consumer's last commit, the producer's flush) is given up on, and each later
    step still gets its share."""
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []
    if on_stopping is not None:
        steps.append(("on_stopping", lambda: on_stopping(runtime)))
    if runtime.log_watch is not None:
        steps.append(("log watch", runtime.log_watch.stop))
    steps += [
        ("outbox relay", runtime.relay.stop),
        ("broker", runtime.broker.stop),
        ("log-end client", runtime.log_ends.close),
        ("database", runtime.db.dispose),
    ]
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    for index, (name, step) in enumerate(steps):
        # Each step may use what is left, less a little for each step after it.
        allowed = max(deadline - time.monotonic() - 0.25 * (len(steps) - index - 1), 0.25)
        try:
            await asyncio.wait_for(step(), allowed)
        except TimeoutError:
            log.warning("stopping the %s took over %.2f s; left", name, allowed)
        except Exception:
            log.exception("stopping the %s failed", name)


async def _acknowledge(runtime: ServiceRuntime, status: int) -> list[int]:
    """Hold a successful write's answer until its events are in the log. Past the bound the
    answer is ``202``, recorded but not yet visible to the other services
    (docs/consistency.md): then the outbox rows still waiting, for its status monitor; an
    empty list when there is nothing to wait for any more."""
    rows = outbox_module.committed_rows()
    if not rows or not 200 <= status < 300:
        return []
    timeout = runtime.settings.write_ack_timeout_seconds
    service = runtime.settings.service_name
    started = time.perf_counter()
    published = await runtime.relay.wait_published(rows, timeout)
    WRITE_ACK_WAIT.labels(service).observe(time.perf_counter() - started)
    if published:
        return []
    CATCHING_UP.labels(service, "202").inc()
    return rows


class _RequestShell:
    """Each request's consistency context, write acknowledgement, access log and metrics, as
    plain ASGI middleware (no task group, no re-wrapped body: Starlette's
    ``BaseHTTPMiddleware`` costs more than many routes do). The answer's start is held until
    the write it reports is in the log, which is when the route has returned."""

    def __init__(self, app: ASGIApp, runtime: ServiceRuntime) -> None:
        self.app = app
        self.runtime = runtime
        self.service = runtime.settings.service_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None
        )

        async def acknowledged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if waiting := await _acknowledge(self.runtime, status):
                    status = 202
                    headers = [
                        *message.get("headers", []),
                        (b"x-event-delivery", b"pending"),
                        (b"link", monitor_link(self.service, waiting)),
                    ]
                    message = {**message, "status": 202, "headers": headers}
            await send(message)

        synced = begin_request()
        acknowledgement = outbox_module.begin_acknowledgement()
        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, acknowledged)
            finally:
                outbox_module.end_acknowledgement(acknowledgement)
                end_request(synced)
                log_access(scope["method"], scope["path"], status, started)
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                method = scope["method"]
                HTTP_REQUESTS.labels(self.service, method, path, str(status)).inc()
                elapsed = time.perf_counter() - started
                HTTP_LATENCY.labels(self.service, method, path).observe(elapsed)


IDEMPOTENCY_EXEMPT_PATHS = frozenset({"/auth/token"})
"""Writes whose answers are not kept for an Idempotency-Key: a sign-in's answer is an access
token, and signing in again is harmless."""


def _install_observability(app: FastAPI, runtime: ServiceRuntime) -> None:
    service = runtime.settings.service_name
    app.add_middleware(_RequestShell, runtime=runtime)
    # Outside the request shell, so the answer it keeps for a key is the one the client got
    # (a 202 when the write's events were not in the log in time, say).
    app.add_middleware(
        IdempotentWrites,
        db=runtime.db,
        secret=lambda: getattr(app.state, "jwt_secret", None),
        exempt_paths=IDEMPOTENCY_EXEMPT_PATHS,
    )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            async with runtime.db.sessions() as session:
                await session.exec(text("SELECT 1"))  # type: ignore[call-overload]
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"unavailable: {error.__class__.__name__}"
        checks["broker"] = "ok" if await runtime.broker.ping(timeout=2.0) else "unavailable"
        watch = runtime.log_watch
        if watch is not None and watch.lost is not None:
            checks["log"] = f"lost: {watch.lost}; restarting to publish the outbox again"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "service": service, "checks": checks},
            status_code=200 if ready else 503,
        )

    @app.get("/asyncapi.json", include_in_schema=False)
    async def asyncapi() -> JSONResponse:
        """The service's AsyncAPI document, generated by FastStream from its subscribers and
        its declared publisher."""
        document = AsyncAPI(
            runtime.broker, title=f"{service} events", version="1"
        ).to_specification()
        return JSONResponse(document.to_jsonable())

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        OUTBOX_BACKLOG.labels(service).set(await runtime.relay.backlog())
        await _measure_consumer_lag(runtime.broker, service)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
