"""The process shell every service shares: a FastAPI app whose lifespan applies the
service's migrations, starts its FastStream broker (and so its subscribers) and its outbox
relay, and serves /healthz, /readyz and /metrics. A service supplies its routers and its
consumers; its rules stay in its own domain and use-case modules."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from hackathon_shared.broker import make_broker
from hackathon_shared.consumer import ContactConsumer, ContactHandler, EventConsumer, EventHandler
from hackathon_shared.db import Database
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.kafka_admin import consumer_timings_for, ensure_topics
from hackathon_shared.logging_setup import configure_logging, log_access, log_context
from hackathon_shared.metrics import CONSUMER_LAG, HTTP_LATENCY, HTTP_REQUESTS, OUTBOX_BACKLOG
from hackathon_shared.migrations import upgrade_to_head
from hackathon_shared.outbox import Outbox, OutboxRelay
from hackathon_shared.problems import install_problem_handlers
from hackathon_shared.settings import ServiceSettings
from hackathon_shared.topics import (
    ALL_TOPICS,
    EVENTS_TOPIC_OF_PRODUCER,
    REGISTRATION_CONTACTS,
    dlq,
)


@dataclass
class ServiceRuntime:
    """What a running service's entrypoints need: its settings, database, broker, outbox."""

    settings: ServiceSettings
    db: Database
    broker: KafkaBroker
    outbox: Outbox
    relay: OutboxRelay
    consumers: list[EventConsumer] = field(default_factory=list)

    def consume(self, topics: Sequence[str], handler: EventHandler, name: str = "events") -> None:
        """Subscribe this service's consumer group to the given (unprefixed) topics."""
        self.consumers.append(
            EventConsumer(handler=_logged(handler), **self._consumer_args(topics, name))
        )

    def consume_contacts(self, handler: ContactHandler, name: str = "contacts") -> None:
        """Subscribe a consumer group of this service to ``registration.contacts``."""
        self.consumers.append(
            ContactConsumer(
                contact_handler=handler, **self._consumer_args([REGISTRATION_CONTACTS], name)
            )
        )

    def _consumer_args(self, topics: Sequence[str], name: str) -> dict[str, Any]:
        # Registered on the broker at start-up (see register_consumers).
        return {
            "name": f"{self.settings.service_name}.{name}",
            "db": self.db,
            "broker": self.broker,
            "topics": [self.settings.topics.name(t) for t in topics],
            "group_id": f"{self.settings.topic_prefix}{self.settings.service_name}.{name}",
            "batch_size": self.settings.consumer_batch_size,
            "retries": self.settings.consumer_retries,
            "backoff": self.settings.consumer_retry_backoff_seconds,
        }

    async def register_consumers(self) -> None:
        timings: dict[str, Any] = dict(
            await consumer_timings_for(self.settings.kafka_bootstrap_servers)
        )
        timings.update(self.settings.consumer_timing_overrides())
        for consumer in self.consumers:
            consumer.consumer_options.update(timings)
            consumer.register()


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
    db = Database(settings.resolved_database_url())
    broker = make_broker(settings)
    outbox = Outbox(settings.topics, settings.service_name)
    relay = OutboxRelay(
        db,
        broker,
        batch_size=settings.relay_batch_size,
        interval=settings.relay_interval_seconds,
        service=settings.service_name,
    )
    outbox.attach_wakeup(relay.wake)
    if settings.service_name in EVENTS_TOPIC_OF_PRODUCER:
        # Declared for the AsyncAPI document; the outbox relay does the publishing.
        broker.publisher(
            settings.topics.events_of(settings.service_name),
            title=f"{settings.service_name} events",
            description="Events this service decides, in the common envelope, keyed by "
            "aggregate id; see docs/events for each type's JSON Schema.",
        )
    return ServiceRuntime(settings, db, broker, outbox, relay)


def runtime_of(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[ServiceRuntime, Depends(runtime_of)]


def request_id_of(request: Request) -> str | None:
    """The gateway's request id, which events carry as their correlation id."""
    return request.headers.get("x-request-id")


RequestId = Annotated[str | None, Depends(request_id_of)]


def create_service_app(
    *,
    settings: ServiceSettings,
    migrations: Path,
    routers: Sequence[APIRouter] = (),
    subscribe: Callable[[ServiceRuntime], None] | None = None,
    on_started: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    on_stopping: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
    title: str | None = None,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    secret = settings.signing_secret()  # refuses to start without one
    runtime = build_runtime(settings)
    if subscribe is not None:
        subscribe(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_to_head(runtime.db.url, migrations)
        topics = [settings.topics.name(t) for t in ALL_TOPICS]
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            topics + [dlq(t) for t in topics],
            partitions=settings.topic_partitions,
            # Contact details: only the latest per account is kept, and erasure's tombstone
            # removes it.
            topic_configs={
                settings.topics.name(REGISTRATION_CONTACTS): {"cleanup.policy": "compact"}
            },
        )
        if settings.outbox_republish_on_start:
            await runtime.relay.republish_everything()
        await runtime.register_consumers()
        await runtime.broker.start()
        runtime.relay.start()
        if on_started is not None:
            await on_started(runtime)
        try:
            yield
        finally:
            if on_stopping is not None:
                await on_stopping(runtime)
            await runtime.relay.stop()
            await runtime.broker.stop()
            await runtime.db.dispose()

    app = FastAPI(title=title or f"{settings.service_name} service", lifespan=lifespan)
    app.state.runtime = runtime
    app.state.jwt_secret = secret
    install_problem_handlers(app)
    _install_observability(app, runtime)
    for router in routers:
        app.include_router(router)
    return app


def _install_observability(app: FastAPI, runtime: ServiceRuntime) -> None:
    service = runtime.settings.service_name

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        with log_context(request_id=request.headers.get("x-request-id")):
            response = await call_next(request)
            log_access(request.method, request.url.path, response.status_code, started)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        HTTP_REQUESTS.labels(service, request.method, path, str(response.status_code)).inc()
        HTTP_LATENCY.labels(service, request.method, path).observe(time.perf_counter() - started)
        return response

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
