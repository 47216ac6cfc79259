"""Subscribers: scoring keeps its view from registration's and submissions' events."""

from __future__ import annotations

from hackathon_shared.service_app import ServiceRuntime
from hackathon_shared.topics import REGISTRATION_EVENTS, SUBMISSIONS_EVENTS
from scoring.service.view import apply_event


def subscribe(runtime: ServiceRuntime) -> None:
    runtime.consume([REGISTRATION_EVENTS, SUBMISSIONS_EVENTS], apply_event)
