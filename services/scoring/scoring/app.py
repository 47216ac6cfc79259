"""The scoring service process: ``uvicorn --factory scoring.app:create_app``.

So far only the shell every service shares (migrations with the outbox and inbox, broker,
relay, health and metrics); its own use cases arrive with its issue."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import create_service_app
from scoring.settings import ScoringSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: ScoringSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or ScoringSettings(),
        migrations=MIGRATIONS,
        title="Scoring service",
    )
