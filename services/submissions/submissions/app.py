"""The submissions service process: ``uvicorn --factory submissions.app:create_app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import create_service_app
from hackathon_shared.topics import REGISTRATION_EVENTS, SCORING_EVENTS
from submissions.entrypoints.http import router
from submissions.entrypoints.subscribers import subscribe
from submissions.settings import SubmissionsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: SubmissionsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or SubmissionsSettings(),
        migrations=MIGRATIONS,
        routers=[router],
        subscribe=subscribe,
        reads=[REGISTRATION_EVENTS, SCORING_EVENTS],
        title="Submissions service",
    )
