"""The FastStream Kafka broker a service uses, built from its settings."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from hackathon_shared.settings import ServiceSettings


def make_broker(settings: ServiceSettings) -> KafkaBroker:
    # No idempotent producer: the embedded broker does not implement it, and correctness
    # rests on the outbox and the consumers' inboxes instead. acks=all waits for the write.
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=settings.service_name,
        acks="all",
        enable_idempotence=False,
        logger=None,
    )
