"""The notifications service process: ``uvicorn --factory notifications.app:create_app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import ServiceRuntime, create_service_app
from hackathon_shared.topics import (
    REGISTRATION_CONTACTS,
    REGISTRATION_EVENTS,
    SCORING_EVENTS,
    SUBMISSIONS_EVENTS,
)
from notifications.adapters.mailer import Mailer
from notifications.adapters.webhook_client import WebhookClient
from notifications.entrypoints.http import router
from notifications.entrypoints.subscribers import subscribe
from notifications.service.delivery import Dispatcher
from notifications.settings import NotificationsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    dispatchers: list[Dispatcher] = []

    async def start_dispatcher(runtime: ServiceRuntime) -> None:
        dispatcher = Dispatcher(
            runtime.db,
            runtime.outbox,
            settings,
            Mailer(settings) if settings.email_enabled else None,
            WebhookClient(
                settings.webhook_timeout_seconds, settings.webhook_allow_private_addresses
            ),
            names_caught_up=lambda: runtime.caught_up({REGISTRATION_CONTACTS: None}),
        )
        dispatcher.start()
        dispatchers.append(dispatcher)

    async def stop_dispatcher(_runtime: ServiceRuntime) -> None:
        while dispatchers:
            await dispatchers.pop().stop()

    return create_service_app(
        settings=settings,
        migrations=MIGRATIONS,
        routers=[router],
        subscribe=subscribe,
        reads=[REGISTRATION_EVENTS, SUBMISSIONS_EVENTS, SCORING_EVENTS, REGISTRATION_CONTACTS],
        on_started=start_dispatcher,
        on_stopping=stop_dispatcher,
        title="Notifications service",
    )
