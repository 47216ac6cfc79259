"""One request's page: the reader's language, time zone and session, the form check, and
rendering a template in the reader's language. Routes take it as ``page: PageDep``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hackathon_shared.client_address import CLIENT_HEADER
from web import i18n, views
from web.api_client import Answer, Caller, GatewayClient
from web.assets import Assets
from web.messages import DONE, problem_message
from web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    ZONE_COOKIE,
    Csrf,
    csrf_cookie_value,
    end_session,
    remember_csrf,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"


@cache
def environment(locale: str) -> Environment:
    """The templates in one language: autoescaped, with gettext from that catalogue."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(
        phase_names=views.PHASE_NAMES,
        sector_names=views.SECTOR_NAMES,
        award_kinds=views.AWARD_KINDS,
        submission_kinds=views.SUBMISSION_KINDS,
        delivery_states=views.DELIVERY_STATES,
        phase_consequences=views.PHASE_CONSEQUENCES,
        # What the script says beside a field the browser finds invalid (an inline check;
        # the service still decides, and its refusal is shown the same way).
        check_message=lambda name: problem_message(
            i18n.translations(locale).gettext, "validation", name
        ),
    )
    return env


@dataclass
class Refusal:
    """A refused form, as the page shows it: a message for the form, one per field."""

    message: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    request: Request
    client: GatewayClient
    assets: Assets
    csrf: Csrf
    secure_cookies: bool
    locale: str
    formats: i18n.Formats
    caller: Caller
    _me: Answer | None = None
    session_ended: bool = False

    # ---- language

    def gettext(self, message: str) -> str:
        return i18n.translations(self.locale).gettext(message)

    # ---- the API

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Answer:
        answer = await self.client.call(method, path, self.caller, body, **kwargs)
        if answer.status == 401 and self.caller.token:
            # The token is refused (expired, or the account erased): the session is over.
            self.session_ended = True
            self.caller = Caller(None, self.caller.client, self.caller.request_id)
        return answer

    async def me(self) -> dict[str, Any] | None:
        """The signed-in person (``GET /me``), None when signed out."""
        if self.caller.token is None:
            return None
        if self._me is None:
            self._me = await self.call("GET", "/me")
        return self._me.body if self._me.ok else None

    async def unread_count(self) -> int:
        """Unread notifications among the newest 50, for the navigation's badge."""
        answer = await self.call("GET", "/notifications", params={"limit": 50})
        if not answer.ok:
            return 0
        return sum(1 for item in answer.body["items"] if not item["read"])

    def refusal(self, answer: Answer) -> Refusal:
        """A refused call in the reader's language, with the fields it names."""
        fields: dict[str, str] = {}
        for name in answer.field_errors:
            message = problem_message(self.gettext, "validation", name)
            fields[name] = message
            # A form's field is the top of the path: `challenges.0.title` → `challenges`,
            # `rubric.criteria.1.weight` → `rubric`.
            fields.setdefault(name.split(".", 1)[0], message)
        return Refusal(problem_message(self.gettext, answer.kind or "error"), fields)

    # ---- forms

    async def form(self) -> FormData | None:
        """The posted form, or None when its CSRF token does not match this reader's."""
        form = await self.request.form()
        token = form.get(CSRF_FIELD)
        cookie = self.request.cookies.get(CSRF_COOKIE)
        if not isinstance(token, str) or not self.csrf.valid(cookie, token):
            return None
        return form

    def csrf_token(self) -> str:
        return self.csrf.token_for(csrf_cookie_value(self.request))

    # ---- answers

    async def render(self, template: str, status: int = 200, **context: Any) -> Response:
        me = await self.me()
        if me is not None and "unread_count" not in context:
            context["unread_count"] = await self.unread_count()
        if "kind" in context and "message" not in context:
            context["message"] = problem_message(self.gettext, context["kind"] or "error")
        env = environment(self.locale)
        html = env.get_template(template).render(
            page=self,
            me=me,
            locale=self.locale,
            languages=i18n.LANGUAGE_NAMES,
            formats=self.formats,
            csrf_token=self.csrf_token(),
            csrf_field=CSRF_FIELD,
            idempotency_key=uuid.uuid4().hex,
            asset=self.assets.urls,
            path=self.request.url.path,
            unread_count=context.pop("unread_count", 0),
            done=self.gettext(DONE[done])
            if (done := self.request.query_params.get("done")) in DONE
            else None,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        return self.finish(response)

    def redirect(self, url: str) -> Response:
        return self.finish(RedirectResponse(safe_target(url), status_code=303))

    def finish(self, response: Response) -> Response:
        remember_csrf(self.request, response, self.secure_cookies)
        if self.session_ended:
            end_session(response, self.secure_cookies)
        response.headers["content-language"] = self.locale
        response.headers["vary"] = "accept-language, cookie"
        return response


def safe_target(url: str) -> str:
    """A redirect target on this site only: a path, never another origin (``//evil``)."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


def page_context(request: Request) -> Page:
    state = request.app.state
    locale = i18n.negotiate(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )
    formats = i18n.Formats(locale, i18n.time_zone(request.cookies.get(ZONE_COOKIE)))
    caller = Caller(
        token=request.cookies.get(SESSION_COOKIE) or None,
        client=request.headers.get(CLIENT_HEADER),
        request_id=request.headers.get("x-request-id"),
    )
    return Page(
        request=request,
        client=state.gateway,
        assets=state.assets,
        csrf=state.csrf,
        secure_cookies=state.secure_cookies,
        locale=locale,
        formats=formats,
        caller=caller,
    )


PageDep = Annotated[Page, Depends(page_context)]
