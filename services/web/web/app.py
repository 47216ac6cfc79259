"""The web app's process: ``uvicorn --factory web.app:create_app``. The gateway serves it at
``/``; it calls nothing but the gateway's public API (docs/web.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response

from hackathon_shared.logging_setup import configure_logging
from hackathon_shared.process_tuning import NO_FASTAPI_TELEMETRY, freeze_startup_objects
from web.api_client import GatewayClient
from web.assets import Assets
from web.page import page_context
from web.pages import accounts, judging, notifications, organizing, public, teams
from web.security import Csrf, PageHeaders
from web.settings import WebSettings


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    configure_logging("web", settings.log_level)
    gateway = GatewayClient(settings.gateway_url, settings.gateway_timeout_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        freeze_startup_objects()
        try:
            yield
        finally:
            await gateway.close()

    app = FastAPI(
        title="Hackathon web app",
        lifespan=lifespan,
        telemetry=NO_FASTAPI_TELEMETRY,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = gateway
    app.state.assets = Assets()
    app.state.csrf = Csrf(settings.secret())
    app.state.secure_cookies = settings.secure_cookies
    app.state.consent_policy_version = settings.consent_policy_version
    app.add_middleware(GZipMiddleware, minimum_size=600)
    app.add_middleware(PageHeaders)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "web"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        return JSONResponse({"status": "ready", "service": "web"})

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str, request: Request) -> Response:
        assets: Assets = request.app.state.assets
        return assets.answer(name, request)

    app.include_router(public.router)
    app.include_router(accounts.router)
    app.include_router(teams.router)
    app.include_router(notifications.router)
    app.include_router(judging.router)
    app.include_router(organizing.router)

    @app.exception_handler(StarletteHTTPException)
    async def not_found(request: Request, error: StarletteHTTPException) -> Response:
        page = page_context(request)
        status = error.status_code if error.status_code in (404, 405) else 400
        return await page.render("error.html", status=status, kind="not-found")

    return app
