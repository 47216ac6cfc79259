"""Topic names. Each producing service owns one event topic; contact details travel on their
own compacted topic; every consumed topic has a dead-letter topic ``<topic>.dlq``.

A prefix (``TOPIC_PREFIX``) lets several isolated platforms or tests share one broker."""

from __future__ import annotations

from dataclasses import dataclass

REGISTRATION_EVENTS = "registration.events"
SUBMISSIONS_EVENTS = "submissions.events"
SCORING_EVENTS = "scoring.events"
NOTIFICATIONS_EVENTS = "notifications.events"
REGISTRATION_CONTACTS = "registration.contacts"

EVENT_TOPICS: tuple[str, ...] = (
    REGISTRATION_EVENTS,
    SUBMISSIONS_EVENTS,
    SCORING_EVENTS,
    NOTIFICATIONS_EVENTS,
)
ALL_TOPICS: tuple[str, ...] = (*EVENT_TOPICS, REGISTRATION_CONTACTS)
EVENTS_TOPIC_OF_PRODUCER: dict[str, str] = {
    "registration": REGISTRATION_EVENTS,
    "submissions": SUBMISSIONS_EVENTS,
    "scoring": SCORING_EVENTS,
    "notifications": NOTIFICATIONS_EVENTS,
}
DEFAULT_PARTITIONS = 3


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class Topics:
    """Topic names as one deployment sees them (with its prefix applied)."""

    prefix: str = ""

    def name(self, topic: str) -> str:
        return f"{self.prefix}{topic}"

    def events_of(self, producer: str) -> str:
        return self.name(EVENTS_TOPIC_OF_PRODUCER[producer])

    def producer_of(self, topic: str) -> str | None:
        """The service that alone publishes on this (prefixed) topic: its events topic, and
        registration's contacts topic; None for another topic."""
        unprefixed = topic.removeprefix(self.prefix) if topic.startswith(self.prefix) else None
        if unprefixed == REGISTRATION_CONTACTS:
            return "registration"
        for producer, events in EVENTS_TOPIC_OF_PRODUCER.items():
            if unprefixed == events:
                return producer
        return None

    def all_with_dlq(self) -> list[str]:
        names = [self.name(t) for t in ALL_TOPICS]
        return names + [dlq(n) for n in names]
