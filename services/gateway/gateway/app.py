"""The gateway process: ``uvicorn --factory gateway.app:create_app``. The one public entry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.proxy import Upstreams
from gateway.routes import router
from gateway.settings import GatewaySettings
from hackathon_shared.logging_setup import configure_logging
from hackathon_shared.problems import install_problem_handlers


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    upstreams = Upstreams(settings.service_urls(), settings.upstream_timeout_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await upstreams.close()

    app = FastAPI(
        title="Hackathon platform API",
        version="1",
        description="The public HTTP API v1 for frontend clients.",
        lifespan=lifespan,
    )
    app.state.upstreams = upstreams
    app.state.jwt_secret = settings.jwt_secret
    install_problem_handlers(app)

    @app.middleware("http")
    async def _request_id(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        incoming = request.headers.get("x-request-id", "")
        request.state.request_id = (
            incoming if 0 < len(incoming) <= 100 else f"req_{uuid.uuid4().hex}"
        )
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": "gateway"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        names = list(settings.service_urls())
        results = await asyncio.gather(*(upstreams.ready(n) for n in names))
        checks = {name: detail for name, (_ok, detail) in zip(names, results, strict=True)}
        ready = all(ok for ok, _ in results)
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    app.include_router(router)
    return app
