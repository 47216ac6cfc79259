"""The notifications service process: ``uvicorn --factory notifications.app:create_app``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from hackathon_shared.service_app import create_service_app
from notifications.entrypoints.http import router
from notifications.entrypoints.subscribers import subscribe
from notifications.settings import NotificationsSettings

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: NotificationsSettings | None = None) -> FastAPI:
    return create_service_app(
        settings=settings or NotificationsSettings(),
        migrations=MIGRATIONS,
        routers=[router],
        subscribe=subscribe,
        title="Notifications service",
    )
