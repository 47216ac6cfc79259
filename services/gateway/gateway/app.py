"""The gateway process: ``uvicorn --factory gateway.app:create_app``. The one public entry."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.balancing import Replicas
from gateway.docs_page import install_docs
from gateway.edge import BodySizeLimit, EdgeContext, RateLimiter, check_secret
from gateway.openapi import with_problem_components
from gateway.pages import PAGE_METHODS, WebPages
from gateway.proxy import Upstreams
from gateway.routes import router
from gateway.settings import GatewaySettings
from gateway.upstream import UpstreamClient
from hackathon_shared.client_address import ClientAttestation
from hackathon_shared.logging_setup import configure_logging
from hackathon_shared.problems import install_problem_handlers, invalid_field, problem_response
from hackathon_shared.process_tuning import NO_FASTAPI_TELEMETRY, freeze_startup_objects

DESCRIPTION = """The public HTTP API v1 for frontend clients.

Every refusal is an RFC 9457 problem document (`application/problem+json`) whose `type` names
the rule; each answer below lists the types it can carry. A 422 lists every offending field in
`errors`. A write answered `202` was recorded but is not yet visible to the other services;
a `503` whose type ends in `catching-up` decided nothing: retry after `Retry-After`."""


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
        description=DESCRIPTION,
        lifespan=lifespan,
        telemetry=NO_FASTAPI_TELEMETRY,
        # FastAPI's pages load Swagger UI and ReDoc from a CDN: /docs is the gateway's own.
        docs_url=None,
        redoc_url=None,
    )
    app.openapi = with_problem_components(app)  # type: ignore[method-assign]
    app.state.upstreams = upstreams
    app.state.jwt_secret = check_secret(settings.jwt_secret)
    app.state.rate_limiter = RateLimiter(
        settings.rate_limit_storage_uri,
        sign_up=settings.rate_limit_sign_up,
        sign_in=settings.rate_limit_sign_in,
        writes=settings.rate_limit_writes,
    )
    install_problem_handlers(app)
    _refuse_unreadable_bodies_as_invalid(app)

    # Middleware, innermost first: the body size limit, then the request id, security headers
    # and access log, and CORS outermost (so that every answer, refusals included, carries
    # what it needs). All are plain ASGI.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        EdgeContext,
        hsts_seconds=settings.hsts_seconds,
        clients=settings.client_resolver(),
        attestation=ClientAttestation(app.state.jwt_secret),
    )

    if settings.cors_origins():
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins(),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "X-Request-ID",
                "Last-Event-ID",
                "Idempotency-Key",
            ],
            expose_headers=[
                "X-Request-ID",
                "Retry-After",
                "Location",
                "Link",
                "X-Event-Delivery",
                "Idempotent-Replayed",
            ],
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
    install_docs(app)
    if settings.web_url:
        _serve_pages(app, WebPages(settings.web_url, upstreams.client, app.state.jwt_secret))
    return app


def _serve_pages(app: FastAPI, pages: WebPages) -> None:
    """Every other path is the web app's (gateway.pages); an unknown path under ``/api/`` is
    still the API's 404 problem."""

    async def page(request: Request) -> Response:
        if request.url.path == "/api" or request.url.path.startswith("/api/"):
            return problem_response(404, "not-found", "no such resource")
        return await pages.forward(request)

    app.add_api_route("/{page_path:path}", page, methods=PAGE_METHODS, include_in_schema=False)


def _refuse_unreadable_bodies_as_invalid(app: FastAPI) -> None:
    """A body that cannot be read as JSON text (not UTF-8) is refused as FastAPI refuses
    malformed JSON: 422 ``validation`` naming ``body``, rather than FastAPI's bare 400. The
    gateway raises no 400 of its own, so every 400 of the framework is such a body."""
    shared = app.exception_handlers[StarletteHTTPException]

    async def unreadable(request: Request, error: Exception) -> Response:
        if isinstance(error, StarletteHTTPException) and error.status_code == 400:
            return invalid_field("body", "not JSON text in UTF-8").response()
        answer = shared(request, error)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, unreadable)
