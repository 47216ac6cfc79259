"""Subscribers: which topics the notifications service listens to, and the handler each
event reaches."""

from __future__ import annotations

from hackathon_shared.service_app import ServiceRuntime
from hackathon_shared.topics import REGISTRATION_EVENTS
from notifications.service.feed import record_notifications


def subscribe(runtime: ServiceRuntime) -> None:
    runtime.consume([REGISTRATION_EVENTS], record_notifications)
