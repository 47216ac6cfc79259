"""The scoring service process: ``uvicorn --factory scoring.app:create_app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import create_service_app
from hackathon_shared.topics import REGISTRATION_EVENTS, SUBMISSIONS_EVENTS
from scoring.entrypoints.http import router
from scoring.entrypoints.subscribers import subscribe
from scoring.settings import ScoringSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or ScoringSettings(),
        migrations=MIGRATIONS,
        routers=[router],
        subscribe=subscribe,
        reads=[REGISTRATION_EVENTS, SUBMISSIONS_EVENTS],
        title="Scoring service",
    )
