"""Prometheus metrics shared by every service (one process registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)
EVENTS_CONSUMED = Counter(
    "events_consumed_total", "Events handled and committed", ["consumer", "topic", "type"]
)
EVENTS_DUPLICATE = Counter(
    "events_duplicate_total", "Redelivered events the inbox absorbed", ["consumer", "topic"]
)
HANDLER_ERRORS = Counter(
    "handler_errors_total", "Handler attempts that raised", ["consumer", "topic"]
)
DEAD_LETTERED = Counter(
    "events_dead_lettered_total", "Messages sent to a dead-letter topic", ["consumer", "topic"]
)
OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox rows published", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Messages not yet consumed on a partition this replica is assigned (high watermark at the "
    "last fetch minus position), set when /metrics is scraped",
    ["service", "group", "topic", "partition"],
)
_FAST_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.015,
    0.02,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
)
BARRIER_WAIT = Histogram(
    "consistency_barrier_seconds",
    "Time a request spent in the consistency barrier (reading the log's end and waiting for "
    "this service's stored positions to reach it)",
    ["service"],
    buckets=_FAST_BUCKETS,
)
WRITE_ACK_WAIT = Histogram(
    "write_acknowledgement_seconds",
    "Time a successful write waited for its events to be accepted by the broker",
    ["service"],
    buckets=_FAST_BUCKETS,
)
CATCHING_UP = Counter(
    "catching_up_total",
    "Answers 503 catching-up (barrier bound passed) and 202 (write not yet in the log)",
    ["service", "answer"],
)
