"""What anyone may read: the hackathons, one hackathon with its challenges, phases, deadline,
awards and teams, and its published results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from web.page import Page, PageDep, safe_target
from web.views import hackathon_view

router = APIRouter()


@router.get("/")
async def home(page: PageDep) -> Response:
    answer = await page.call("GET", "/hackathons", params={"limit": 200})
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    hackathons = [hackathon_view(item) for item in answer.body["items"]]
    return await page.render("home.html", hackathons=hackathons)


@router.get("/hackathons/{hackathon_id}")
async def hackathon(hackathon_id: str, page: PageDep) -> Response:
    return await render_hackathon(page, hackathon_id)


async def render_hackathon(
    page: Page, hackathon_id: str, status: int = 200, **context: Any
) -> Response:
    """The hackathon's page; a refused form's ``refusal`` and ``values`` when given."""
    answer = await page.call("GET", f"/hackathons/{hackathon_id}")
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    view = hackathon_view(answer.body)
    teams = await page.call("GET", f"/hackathons/{hackathon_id}/teams", params={"limit": 200})
    results = None
    if view.phase == "finished":
        published = await page.call("GET", f"/hackathons/{hackathon_id}/results")
        results = published.body if published.ok else None
    team_list = teams.body["items"] if teams.ok else []
    me = await page.me()
    mine = next(
        (
            team
            for team in team_list
            if me is not None and any(m["account_id"] == me["account_id"] for m in team["members"])
        ),
        None,
    )
    context.setdefault("values", {})
    return await page.render(
        "hackathon.html",
        status=status,
        hackathon=view,
        teams=team_list,
        my_team=mine,
        results=results,
        policy_version=page.request.app.state.consent_policy_version,
        after=_after(page),
        **context,
    )


def _after(page: Page) -> str | None:
    """Where registering leads on to: a join link that sent the reader here first."""
    wanted = page.request.query_params.get("next")
    if wanted and safe_target(wanted) == wanted and wanted.startswith("/teams/"):
        return wanted
    return None
