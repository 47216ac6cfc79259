"""Subscribers: which topics the notifications service listens to, and the handler each
event reaches."""

from __future__ import annotations

from hackathon_shared.service_app import ServiceRuntime
from hackathon_shared.topics import REGISTRATION_EVENTS, SCORING_EVENTS, SUBMISSIONS_EVENTS
from notifications.service.feed import Recorder
from notifications.service.view import apply_contact
from notifications.settings import NotificationsSettings


def subscribe(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    runtime.consume(
        [REGISTRATION_EVENTS, SUBMISSIONS_EVENTS, SCORING_EVENTS],
        Recorder(email_enabled=settings.email_enabled),
    )
    runtime.consume_contacts(apply_contact)
