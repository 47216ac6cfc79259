"""The submissions service process: ``uvicorn --factory submissions.app:create_app``.

So far only the shell every service shares (migrations with the outbox and inbox, broker,
relay, health and metrics); its own use cases arrive with its issue."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import create_service_app
from submissions.settings import SubmissionsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SubmissionsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or SubmissionsSettings(),
        migrations=MIGRATIONS,
        title="Submissions service",
    )
