"""Subscribers: the submissions service keeps its view from registration's and scoring's
events."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from hackathon_shared.events.catalogue import TeamWithdrawn
from hackathon_shared.events.envelope import Envelope
from hackathon_shared.service_app import ServiceRuntime
from hackathon_shared.topics import REGISTRATION_EVENTS, SCORING_EVENTS
from submissions.service.submissions import withdraw_for_team
from submissions.service.view import apply_event


def subscribe(runtime: ServiceRuntime) -> None:
    async def on_event(session: AsyncSession, event: Envelope) -> None:
        await apply_event(session, event)
        if isinstance(event, TeamWithdrawn):
            await withdraw_for_team(session, runtime.outbox, event)

    runtime.consume([REGISTRATION_EVENTS, SCORING_EVENTS], on_event)
