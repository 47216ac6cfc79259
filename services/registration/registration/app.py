"""The registration service process: ``uvicorn registration.app:app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.client_address import ClientAttestation
from hackathon_shared.service_app import ServiceRuntime, create_service_app
from hackathon_shared.topics import SCORING_EVENTS
from registration.adapters.sign_in_limiter import SignInLimiter
from registration.entrypoints.accounts_http import router as accounts_router
from registration.entrypoints.hackathons_http import router as hackathons_router
from registration.entrypoints.subscribers import subscribe
from registration.entrypoints.teams_http import router as teams_router
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

    app = create_service_app(
        settings=settings,
        migrations=MIGRATIONS,
        # Registration decides on its own facts; only the routes that show a hackathon's
        # phase (finished comes from scoring's results) pass the barrier (CAUGHT_UP).
        own_fact_routers=[accounts_router, hackathons_router, teams_router],
        subscribe=subscribe,
        reads=[SCORING_EVENTS],
        on_started=on_started,
        title="Registration service",
    )
    app.state.sign_in_limiter = SignInLimiter(settings.sign_in_policy())
    # Who the caller is: the address the gateway vouches for (signed), else the connection's.
    app.state.client_attestation = ClientAttestation(settings.signing_secret())
    return app
