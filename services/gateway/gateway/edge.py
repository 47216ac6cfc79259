"""Protections at the edge, before a request reaches a service (which still checks its own
rules): the caller's token and coarse role, rate limits per client, a request body size
limit, and security headers on every answer.

Rate limits (``limits`` library, moving windows) are counted per client: per account for a
signed-in caller's writes, per client address otherwise (sign-up, sign-in, anonymous writes).
The counters live in ``RATE_LIMIT_STORAGE_URI`` (in memory by default, so per gateway replica;
``async+redis://host:6379`` shares them between replicas).

The client address is decided once per request, by :class:`EdgeContext`: the connection's
peer, or what trusted proxies report (``TRUSTED_PROXIES``, gateway.forwarded). It keys the
rate limits, goes on the request's log lines (``client``), and reaches the services signed
(hackathon_shared.client_address), never as the client's own headers."""

from __future__ import annotations

import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.forwarded import UNKNOWN, ClientResolver
from gateway.settings import GatewaySettings
from hackathon_shared import auth
from hackathon_shared.auth import Principal
from hackathon_shared.client_address import CLIENT_HEADER, ClientAttestation
from hackathon_shared.logging_setup import log_access, log_context
from hackathon_shared.problems import ProblemError, problem_response

CLIENT_HEADER_BYTES = CLIENT_HEADER.encode("latin-1")
# A request id a client (or a proxy in front) may choose; anything else is replaced.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")

# --------------------------------------------------------------------------------------------
# Tokens and roles
# --------------------------------------------------------------------------------------------


# Declares the bearer scheme in the OpenAPI document (the "Authorize" button of /docs); the
# token itself is read and verified by hackathon_shared.auth, with the platform's 401 problem.
_bearer = HTTPBearer(auto_error=False, description="an access token from POST /auth/token")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


# The checks are ``async def`` although they do not await: FastAPI runs a plain ``def``
# dependency in a worker thread, a hop that costs more than the check itself.


async def maybe_signed_in(request: Request, _credentials: Bearer) -> Principal | None:
    """The verified caller when a token is sent (a bad one is still a 401), else None. The
    other checks build on this one, so FastAPI verifies a request's token once."""
    return auth.optional_token_principal(request)


MaybeSignedIn = Annotated[Principal | None, Depends(maybe_signed_in)]


async def signed_in(request: Request, principal: MaybeSignedIn) -> Principal:
    """The verified caller (401 without a valid, unexpired token)."""
    return principal or auth.token_principal(request)  # the latter raises the 401


async def organizer(principal: Annotated[Principal, Depends(signed_in)]) -> Principal:
    """The verified caller, who must hold the organizer role (403 otherwise)."""
    auth.require_role(principal, "organizer")
    return principal


async def stream_reader(request: Request, _credentials: Bearer) -> Principal:
    """Like :func:`signed_in`, also accepting ``access_token`` in the query."""
    return auth.stream_token_principal(request)


# --------------------------------------------------------------------------------------------
# Rate limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateLimits:
    sign_up: RateLimitItem
    sign_in: RateLimitItem
    writes: RateLimitItem


class RateLimiter:
    def __init__(self, storage_uri: str, sign_up: str, sign_in: str, writes: str) -> None:
        self.limits = RateLimits(parse(sign_up), parse(sign_in), parse(writes))
        self.strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))

    async def check(self, item: RateLimitItem, bucket: str, client: str) -> None:
        """Count one request of ``client`` in ``bucket``; 429 with Retry-After when over."""
        if await self.strategy.hit(item, bucket, client):
            return
        stats = await self.strategy.get_window_stats(item, bucket, client)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ProblemError(
            429,
            "rate-limited",
            f"too many requests; try again in {retry_after} s",
            retry_after=retry_after,
        )


def client_address(request: Request) -> str:
    """The client's address as :class:`EdgeContext` decided it for this request."""
    decided: str | None = getattr(request.state, "client_address", None)
    if decided is not None:
        return decided
    return request.client.host if request.client else UNKNOWN


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


async def sign_up_limit(request: Request) -> None:
    limiter = _limiter(request)
    await limiter.check(limiter.limits.sign_up, "sign-up", client_address(request))


async def sign_in_limit(request: Request) -> None:
    limiter = _limiter(request)
    await limiter.check(limiter.limits.sign_in, "sign-in", client_address(request))


async def write_limit(request: Request, principal: MaybeSignedIn) -> None:
    """Writes count per account when signed in, per address otherwise."""
    limiter = _limiter(request)
    client = f"account:{principal.account_id}" if principal else client_address(request)
    await limiter.check(limiter.limits.writes, "writes", client)


SignUpLimit = Depends(sign_up_limit)
SignInLimit = Depends(sign_in_limit)
WriteLimit = Depends(write_limit)


# --------------------------------------------------------------------------------------------
# Body size, request ids and security headers (ASGI middleware)
# --------------------------------------------------------------------------------------------


class BodySizeLimit:
    """Refuse a request body over ``max_bytes`` with 413, whether it announces its length or
    streams it in chunks, before any route sees it. The body (small, by this very limit) is
    read here and handed on whole."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return whole
            return await receive()  # e.g. http.disconnect, for streaming answers

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "body-too-large", f"the request body may not exceed {self.max_bytes} bytes"
        )
        await response(scope, receive, send)


# The API answers JSON only: nothing in it may run as a page, be framed, or be cached.
API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# /docs loads Swagger UI's script and styles from its CDN, so it gets a policy that allows it.
DOCS_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class EdgeContext:
    """Every answer's request id, security headers and access log line, as plain ASGI
    middleware: it only adds headers to the answer's start, so it neither buffers nor
    re-wraps the body (Starlette's ``BaseHTTPMiddleware`` runs each request through a task
    group and memory streams, and reports a client that went away mid-request as an error).

    The request id is the client's ``X-Request-ID`` when it is well-formed, else a new one; it
    is in ``request.state.request_id`` for the routes, on every log line of the request, and
    on the answer. The client's address (``clients``, from the gateway's settings) is in
    ``request.state.client_address`` and on every log line as ``client``."""

    def __init__(
        self,
        app: ASGIApp,
        hsts_seconds: int,
        clients: ClientResolver | None = None,
        attestation: ClientAttestation | None = None,
    ) -> None:
        self.app = app
        # The web app hands back the gateway's own signed word for its reader's address
        # (gateway.pages): believed only when its MAC checks.
        self.attestation = attestation
        if clients is None:  # as the environment configures it
            clients = GatewaySettings().client_resolver()
        self.clients = clients
        self.hsts = (
            (b"strict-transport-security", f"max-age={hsts_seconds}".encode())
            if hsts_seconds > 0
            else None
        )
        self.api_headers = _encoded(API_HEADERS)
        self.docs_headers = _encoded(DOCS_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        text = incoming.decode("latin-1")
        request_id = text if REQUEST_ID.fullmatch(text) else f"req_{uuid.uuid4().hex}"
        peer = scope.get("client")
        client = self.clients.resolve(peer[0] if peer else None, scope["headers"])
        if self.attestation is not None:
            vouched = next((v for k, v in scope["headers"] if k == CLIENT_HEADER_BYTES), None)
            attested = self.attestation.verified(vouched.decode("latin-1")) if vouched else None
            client = attested or client
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_address"] = client
        path: str = scope["path"]
        chosen = self.docs_headers if path in ("/docs", "/redoc") else self.api_headers
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in chosen if h[0] not in present)
                if self.hsts is not None:
                    headers = [h for h in headers if h[0].lower() != self.hsts[0]]
                    headers.append(self.hsts)
                headers = [h for h in headers if h[0].lower() != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with log_context(request_id=request_id, client=client):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                log_access(scope["method"], path, status, started)


def _encoded(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode(), value.encode()) for name, value in headers.items()]


def check_secret(secret: str | None) -> str:
    if not secret or len(secret) < 16:
        raise RuntimeError(
            "HACKATHON_JWT_SECRET must be set (at least 16 characters): the gateway verifies "
            "every token before forwarding"
        )
    return secret


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=r"^[\x21-\x7e]{1,255}$",
            description="Any string of 1 to 255 visible ASCII characters (a UUID, say), new "
            "for each new request. A retry with the same key and the same request gets the "
            "first answer again (with `Idempotent-Replayed: true`) and changes nothing; the "
            "same key with another request is `422 idempotency-key-reused`. Kept 24 hours.",
        ),
    ] = None,
) -> None:
    """Declares and checks a write's ``Idempotency-Key``; the owning service keeps it."""
