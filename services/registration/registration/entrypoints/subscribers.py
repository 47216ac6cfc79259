"""Subscribers: registration listens to scoring, whose published results finish a hackathon."""

from __future__ import annotations

from hackathon_shared.service_app import ServiceRuntime
from hackathon_shared.topics import SCORING_EVENTS
from registration.service.hackathons import Hackathons
from registration.settings import RegistrationSettings


def subscribe(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, RegistrationSettings)
    hackathons = Hackathons(runtime.db, runtime.outbox, settings.consent_policy_version)
    runtime.consume([SCORING_EVENTS], hackathons.on_scoring_event)
