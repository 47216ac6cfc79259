"""The registration service process: ``uvicorn registration.app:app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import ServiceRuntime, create_service_app
from registration.entrypoints.http import router
from registration.service.accounts import Accounts
from registration.settings import RegistrationSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: RegistrationSettings | None = None) -> FastAPI:
    settings = settings or RegistrationSettings()

    async def on_started(runtime: ServiceRuntime) -> None:
        if settings.organizer_email and settings.organizer_password:
            accounts = Accounts(
                runtime.db, runtime.outbox, settings.signing_secret(), settings.jwt_ttl_seconds
            )
            await accounts.ensure_organizer(
                settings.organizer_email,
                settings.organizer_password,
                settings.organizer_display_name,
            )

    return create_service_app(
        settings=settings,
        migrations=MIGRATIONS,
        routers=[router],
        on_started=on_started,
        title="Registration service",
    )
