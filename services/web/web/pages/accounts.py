"""Signing up, in and out, the account page with erasure, and the language switch."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from web import i18n
from web.form_fields import expired, idempotency_key, text, unconfirmed
from web.messages import N_
from web.page import Page, PageDep, safe_target
from web.security import LANGUAGE_COOKIE, YEAR, end_session, start_session

router = APIRouter()


async def _expired_form(page: Page, template: str, **context: object) -> Response:
    return await page.render(template, status=403, refusal=expired(page), **context)


@router.get("/signup")
async def signup_form(page: PageDep, next: str = "/") -> Response:
    return await page.render("signup.html", values={}, next=safe_target(next))


@router.post("/signup")
async def signup(page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await _expired_form(page, "signup.html", values={}, next="/")
    values = {name: text(form, name) for name in ("email", "display_name")}
    password = text(form, "password", 1000)
    target = safe_target(text(form, "next") or "/")
    created = await page.call(
        "POST",
        "/accounts",
        {**values, "password": password},
        idempotency_key=idempotency_key(form),
    )
    if not created.ok:
        return await page.render(
            "signup.html", status=created.status, refusal=page.refusal(created),
            values=values, next=target,
        )  # fmt: skip
    return await _sign_in(page, values["email"], password, target)


@router.get("/signin")
async def signin_form(page: PageDep, next: str = "/") -> Response:
    return await page.render("signin.html", values={}, next=safe_target(next))


@router.post("/signin")
async def signin(page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await _expired_form(page, "signin.html", values={}, next="/")
    email = text(form, "email", 320)
    return await _sign_in(
        page, email, text(form, "password", 1000), safe_target(text(form, "next") or "/")
    )


async def _sign_in(page: Page, email: str, password: str, target: str) -> Response:
    answer = await page.call("POST", "/auth/token", {"email": email, "password": password})
    if not answer.ok:
        return await page.render(
            "signin.html", status=answer.status, refusal=page.refusal(answer),
            values={"email": email}, next=target,
        )  # fmt: skip
    response = page.redirect(target)
    start_session(response, answer.body["access_token"], page.secure_cookies)
    return response


@router.post("/signout")
async def signout(page: PageDep) -> Response:
    form = await page.form()
    response = page.redirect("/?done=signed-out" if form is not None else "/account")
    if form is not None:
        end_session(response, page.secure_cookies)
    return response


@router.get("/account")
async def account(page: PageDep) -> Response:
    if await page.me() is None:
        return page.redirect("/signin?next=/account")
    return await render_account(page)


async def render_account(page: Page, status: int = 200, **context: object) -> Response:
    """The account, with each consent given (the hackathon, the policy version, when)."""
    registrations = await page.call("GET", "/me/registrations")
    names = await hackathon_names(page)
    consents = [
        {**item, "hackathon_name": names.get(item["hackathon_id"], item["hackathon_id"])}
        for item in (registrations.body if registrations.ok else [])
    ]
    return await page.render("account.html", status=status, consents=consents, **context)


async def hackathon_names(page: Page) -> dict[str, str]:
    listed = await page.call("GET", "/hackathons", params={"limit": 200})
    return {h["hackathon_id"]: h["name"] for h in listed.body["items"]} if listed.ok else {}


@router.post("/account/erase")
async def erase(page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_account(page, 403, refusal=expired(page))
    if await page.me() is None:
        return page.redirect("/signin?next=/account")
    if form.get("confirm") != "erase":
        refusal = unconfirmed(
            page, N_("Tick the box to confirm that you want your account erased."), "confirm",
            N_("Confirm to erase."),
        )  # fmt: skip
        return await render_account(page, 422, refusal=refusal)
    answer = await page.call("DELETE", "/me", idempotency_key=idempotency_key(form))
    if not answer.ok:
        return await render_account(page, answer.status, refusal=page.refusal(answer))
    response = page.redirect("/?done=erased")
    end_session(response, page.secure_cookies)
    return response


@router.post("/language")
async def language(page: PageDep) -> Response:
    """The switch: remembered for a year in the ``lang`` cookie (no CSRF token needed to
    choose a language, but the form carries one like every other)."""
    form = await page.form()
    chosen = form.get("lang") if form is not None else None
    target = safe_target(text(form, "next") if form is not None else "/")
    response = page.redirect(target or "/")
    if isinstance(chosen, str) and chosen in i18n.LOCALES:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=YEAR, samesite="lax",
            secure=page.secure_cookies, path="/",
        )  # fmt: skip
    return response
