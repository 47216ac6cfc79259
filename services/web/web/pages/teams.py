"""A participant's path: registering for a hackathon with consent, creating a team, joining
one by its invite link, the team page, leaving, and the submission editor."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from web.form_fields import expired, idempotency_key, text, unconfirmed
from web.messages import N_
from web.page import Page, PageDep, safe_target
from web.pages.public import render_hackathon
from web.views import hackathon_view

router = APIRouter()


async def _signed_in_or_away(page: Page, target: str) -> Response | None:
    if await page.me() is None:
        return page.redirect(f"/signin?next={target}")
    return None


async def _hackathon_page(
    page: Page, hackathon_id: str, status: int = 200, **context: Any
) -> Response:
    """The hackathon's page again, with a refusal and what the reader typed."""
    return await render_hackathon(page, hackathon_id, status=status, **context)


@router.post("/hackathons/{hackathon_id}/register")
async def register(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await _hackathon_page(page, hackathon_id, 403, refusal=expired(page))
    if away := await _signed_in_or_away(page, f"/hackathons/{hackathon_id}"):
        return away
    body = {"sector": text(form, "sector", 40), "consent": form.get("consent") == "yes"}
    if not body["consent"]:
        needed = N_("Registration needs your consent.")
        refusal = unconfirmed(page, needed, "consent", needed)
        return await _hackathon_page(page, hackathon_id, 422, refusal=refusal, values=body)
    answer = await page.call(
        "POST",
        f"/hackathons/{hackathon_id}/registrations",
        body,
        idempotency_key=idempotency_key(form),
    )
    if not answer.ok:
        return await _hackathon_page(
            page, hackathon_id, answer.status, refusal=page.refusal(answer), values=body
        )
    after = safe_target(text(form, "next", 500))
    if after.startswith("/teams/"):  # the join link that sent the reader to register
        return page.redirect(after)
    return page.redirect(f"/hackathons/{hackathon_id}?done=registered#team")


@router.post("/hackathons/{hackathon_id}/teams")
async def create_team(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await _hackathon_page(page, hackathon_id, 403, refusal=expired(page))
    if away := await _signed_in_or_away(page, f"/hackathons/{hackathon_id}"):
        return away
    body = {"name": text(form, "name", 200), "challenge_id": text(form, "challenge_id", 100)}
    answer = await page.call(
        "POST", f"/hackathons/{hackathon_id}/teams", body, idempotency_key=idempotency_key(form)
    )
    if not answer.ok:
        return await _hackathon_page(
            page, hackathon_id, answer.status, refusal=page.refusal(answer), values=body
        )
    return page.redirect(f"/teams/{answer.body['team_id']}?done=team-created")


@router.get("/teams/{team_id}")
async def team(team_id: str, page: PageDep) -> Response:
    return await render_team(page, team_id)


async def render_team(page: Page, team_id: str, status: int = 200, **context: Any) -> Response:
    answer = await page.call("GET", f"/teams/{team_id}")
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    team_data = answer.body
    hackathon = await page.call("GET", f"/hackathons/{team_data['hackathon_id']}")
    if not hackathon.ok:
        return await page.render("error.html", status=hackathon.status, kind=hackathon.kind)
    me = await page.me()
    member = me is not None and any(
        m["account_id"] == me["account_id"] for m in team_data["members"]
    )
    submission = None
    if member:
        found = await page.call("GET", f"/teams/{team_id}/submission")
        submission = found.body if found.ok else None
    return await page.render(
        "team.html",
        status=status,
        team=team_data,
        hackathon=hackathon_view(hackathon.body),
        member=member,
        submission=submission,
        invite_link=(
            f"{page.request.base_url}teams/{team_id}/join?code={team_data['invite_code']}"
            if team_data.get("invite_code")
            else None
        ),
        **context,
    )


@router.get("/teams/{team_id}/join")
async def join_form(team_id: str, page: PageDep, code: str = "") -> Response:
    if away := await _signed_in_or_away(page, f"/teams/{team_id}/join?code={code}"):
        return away
    answer = await page.call("GET", f"/teams/{team_id}")
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    return await page.render("join.html", team=answer.body, code=code[:100])


@router.post("/teams/{team_id}/join")
async def join(team_id: str, page: PageDep) -> Response:
    form = await page.form()
    code = text(form, "invite_code", 100) if form is not None else ""
    shown = await page.call("GET", f"/teams/{team_id}")
    if not shown.ok:
        return await page.render("error.html", status=shown.status, kind=shown.kind)
    if form is None:
        return await page.render(
            "join.html", status=403, team=shown.body, code=code, refusal=expired(page)
        )
    if away := await _signed_in_or_away(page, f"/teams/{team_id}/join?code={code}"):
        return away
    answer = await page.call(
        "POST",
        f"/teams/{team_id}/members",
        {"invite_code": code},
        idempotency_key=idempotency_key(form),
    )
    if not answer.ok:
        return await page.render(
            "join.html", status=answer.status, team=shown.body, code=code,
            refusal=page.refusal(answer),
        )  # fmt: skip
    return page.redirect(f"/teams/{team_id}?done=joined")


@router.post("/teams/{team_id}/leave")
async def leave(team_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_team(page, team_id, 403, refusal=expired(page))
    if form.get("confirm") != "leave":
        refusal = unconfirmed(
            page, N_("Tick the box to confirm that you leave the team."), "confirm",
            N_("Confirm to leave."),
        )  # fmt: skip
        return await render_team(page, team_id, 422, refusal=refusal)
    answer = await page.call(
        "DELETE", f"/teams/{team_id}/members/me", idempotency_key=idempotency_key(form)
    )
    if not answer.ok:
        return await render_team(page, team_id, answer.status, refusal=page.refusal(answer))
    shown = await page.call("GET", f"/teams/{team_id}")
    target = f"/hackathons/{shown.body['hackathon_id']}" if shown.ok else "/"
    return page.redirect(f"{target}?done=left")


@router.post("/teams/{team_id}/submission")
async def submit(team_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_team(page, team_id, 403, refusal=expired(page))
    body: dict[str, Any] = {
        "title": text(form, "title", 500),
        "summary": text(form, "summary", 10000),
        "kind": text(form, "kind", 40),
        "repo_url": text(form, "repo_url", 2100) or None,
        "demo_url": text(form, "demo_url", 2100) or None,
    }
    answer = await page.call(
        "PUT", f"/teams/{team_id}/submission", body, idempotency_key=idempotency_key(form)
    )
    if not answer.ok:
        return await render_team(
            page, team_id, answer.status, refusal=page.refusal(answer), values=body
        )
    done = "submitted-pending" if answer.pending else "submitted"
    return page.redirect(f"/teams/{team_id}?done={done}#submission")
