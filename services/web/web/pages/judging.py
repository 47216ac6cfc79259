"""A judge's pages: the queue of assigned submissions, and the scoring form built from the
hackathon's rubric (each criterion's range and weight, a comment), sent again to revise."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from web.form_fields import expired, idempotency_key, text
from web.page import Page, PageDep, Refusal
from web.views import hackathon_view, score_inputs

router = APIRouter()


async def _assignments(page: Page) -> list[dict[str, Any]] | None:
    answer = await page.call("GET", "/judging/assignments", params={"limit": 200})
    return answer.body["items"] if answer.ok else None


@router.get("/judging")
async def queue(page: PageDep) -> Response:
    if await page.me() is None:
        return page.redirect("/signin?next=/judging")
    items = await _assignments(page)
    return await page.render(
        "judging.html", assignments=items or [], enrolments=await _enrolments(page)
    )


async def _enrolments(page: Page) -> list[dict[str, Any]]:
    """The hackathons the reader judges, with the names of the teams declared in conflict."""
    answer = await page.call("GET", "/me/judge-enrolments")
    if not answer.ok:
        return []

    async def shown(enrolment: dict[str, Any]) -> dict[str, Any]:
        hid = enrolment["hackathon_id"]
        hackathon, teams = await asyncio.gather(
            page.call("GET", f"/hackathons/{hid}"),
            page.call("GET", f"/hackathons/{hid}/teams", params={"limit": 200}),
        )
        names = {t["team_id"]: t["name"] for t in teams.body["items"]} if teams.ok else {}
        return {
            "hackathon_id": hid,
            "name": hackathon.body["name"] if hackathon.ok else hid,
            "conflicts": [names.get(team, team) for team in enrolment["conflicts"]],
        }

    return list(await asyncio.gather(*(shown(e) for e in answer.body)))


@router.get("/judging/{submission_id}")
async def scoring_form(submission_id: str, page: PageDep) -> Response:
    return await render_scoring(page, submission_id)


async def render_scoring(
    page: Page, submission_id: str, status: int = 200, **context: Any
) -> Response:
    if await page.me() is None:
        return page.redirect(f"/signin?next=/judging/{submission_id}")
    items = await _assignments(page) or []
    assignment = next((a for a in items if a["submission_id"] == submission_id), None)
    if assignment is None:
        return await page.render("error.html", status=404, kind="not-assigned")
    hackathon = await page.call("GET", f"/hackathons/{assignment['hackathon_id']}")
    submission = await page.call("GET", f"/teams/{assignment['team_id']}/submission")
    if not hackathon.ok or not submission.ok:
        failed = hackathon if not hackathon.ok else submission
        return await page.render("error.html", status=failed.status, kind=failed.kind)
    context.setdefault("values", {})
    return await page.render(
        "score.html",
        status=status,
        assignment=assignment,
        hackathon=hackathon_view(hackathon.body),
        submission=submission.body,
        **context,
    )


@router.post("/judging/{submission_id}")
async def score(submission_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_scoring(page, submission_id, 403, refusal=expired(page))
    values = {name: text(form, name) for name in form if name.startswith("score.")}
    comment = text(form, "comment")
    scores, unreadable = score_inputs(values)
    if unreadable:
        refusal = Refusal(
            page.gettext("Please correct the fields marked below."),
            {name: page.gettext("Enter a number.") for name in unreadable},
        )
        return await render_scoring(
            page, submission_id, 422, refusal=refusal, values=values, comment=comment
        )
    answer = await page.call(
        "PUT",
        f"/submissions/{submission_id}/scores/me",
        {"scores": scores, "comment": comment or None},
        idempotency_key=idempotency_key(form),
    )
    if not answer.ok:
        refusal = page.refusal(answer)
        # A 422 names `scores.<key>`: the form's field is `score.<key>`.
        refusal.fields = {
            "score." + name.removeprefix("scores."): message
            for name, message in refusal.fields.items()
        }
        return await render_scoring(
            page, submission_id, answer.status, refusal=refusal, values=values, comment=comment
        )
    return page.redirect(f"/judging?done=scored&revision={answer.body['revision']}")
