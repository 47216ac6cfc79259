"""The gateway process: ``uvicorn --factory gateway.app:create_app``. The one public entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from gateway.balancing import Replicas
from gateway.edge import BodySizeLimit, EdgeContext, RateLimiter, check_secret
from gateway.proxy import Upstreams
from gateway.routes import router
from gateway.settings import GatewaySettings
from gateway.upstream import UpstreamClient
from hackathon_shared.logging_setup import configure_logging
from hackathon_shared.problems import install_problem_handlers
from hackathon_shared.process_tuning import NO_FASTAPI_TELEMETRY, freeze_startup_objects


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    configure_logging("gateway", settings.log_level)
    upstreams = Upstreams(
        settings.service_urls(),
        UpstreamClient(
            Replicas(
                resolve_seconds=settings.upstream_resolve_seconds,
                static_hosts=settings.upstream_hosts,
            ),
            timeout=settings.upstream_timeout_seconds,
            connections_per_replica=settings.upstream_max_keepalive_connections,
            keepalive_seconds=settings.upstream_keepalive_expiry_seconds,
        ),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        freeze_startup_objects()
        try:
            yield
        finally:
            await upstreams.close()

    app = FastAPI(
        title="Hackathon platform API",
        version="1",
        description="The public HTTP API v1 for frontend clients.",
        lifespan=lifespan,
        telemetry=NO_FASTAPI_TELEMETRY,
    )
    app.state.upstreams = upstreams
    app.state.jwt_secret = check_secret(settings.jwt_secret)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_storage_uri,
        sign_up=settings.rate_limit_sign_up,
        sign_in=settings.rate_limit_sign_in,
        writes=settings.rate_limit_writes,
    )
    install_problem_handlers(app)

    # Middleware, innermost first: the body size limit, then the request id, security headers
    # and access log, and CORS outermost (so that every answer, refusals included, carries
    # what it needs). All are plain ASGI.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(EdgeContext, hsts_seconds=settings.hsts_seconds)

    if settings.cors_origins():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins(),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID", "Last-Event-ID"],
            expose_headers=["X-Request-ID", "Retry-After", "Location"],
            max_age=600,
        )

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
            {"status": "ready" if ready else "not ready", "service": "gateway", "checks": checks},
            status_code=200 if ready else 503,
        )

    app.include_router(router)
    return app
