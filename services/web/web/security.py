"""The web app's session, its forms' CSRF tokens, and the headers every page carries.

- **Session.** Signing in puts the API's access token in the ``hk_session`` cookie:
  ``HttpOnly`` (no script reads it), ``SameSite=Lax``, ``Path=/``, and ``Secure`` when
  ``WEB_SECURE_COOKIES`` is set (behind HTTPS). Signing out deletes it; so does any answer of
  the API that refuses the token (``401``: expired, or the account erased).
- **CSRF.** Every form carries ``csrf_token``, an HMAC-SHA256, keyed with
  ``WEB_SESSION_SECRET``, of a random value kept in the ``hk_csrf`` cookie (HttpOnly, Lax). A
  POST whose token does not match its cookie is refused before anything is called: another
  site can make a browser send the cookie, but cannot read it to compute the token.
- **Headers.** A Content-Security-Policy with no inline script or style and no other origin,
  ``frame-ancestors 'none'``, ``nosniff``, ``Referrer-Policy: same-origin``; pages are
  ``Cache-Control: no-store`` (they show a person's own data), static files are cached for a
  year under a name that carries their content's hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "hk_session"
CSRF_COOKIE = "hk_csrf"
LANGUAGE_COOKIE = "lang"
ZONE_COOKIE = "tz"
CSRF_FIELD = "csrf_token"
YEAR = 365 * 24 * 3600

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


class Csrf:
    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), b"hackathon web csrf v1", hashlib.sha256).digest()

    def token_for(self, cookie_value: str) -> str:
        return hmac.new(self._key, cookie_value.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie_value: str | None, token: str | None) -> bool:
        if not cookie_value or not token:
            return False
        return hmac.compare_digest(self.token_for(cookie_value).encode(), token.encode())


def csrf_cookie_value(request: Request) -> str:
    """This reader's CSRF cookie value, a new one when they have none yet (it is set on the
    answer by :func:`remember_csrf`)."""
    value: str | None = getattr(request.state, "csrf_cookie", None)
    if value is None:
        value = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf_cookie = value
    return value


def remember_csrf(request: Request, response: Response, secure: bool) -> None:
    value = getattr(request.state, "csrf_cookie", None)
    if value is not None and value != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, value, httponly=True, samesite="lax", secure=secure, path="/"
        )


def start_session(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/"
    )


def end_session(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")


class PageHeaders:
    """Adds :data:`PAGE_HEADERS` to every answer, and ``no-store`` to those that set no cache
    policy of their own; plain ASGI, so it neither buffers nor re-wraps a body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, with_headers)
