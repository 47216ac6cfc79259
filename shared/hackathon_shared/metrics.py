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
