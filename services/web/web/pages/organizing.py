"""An organizer's pages: creating a hackathon with its challenges, rubric and awards; moving
its phases with the consequences said before confirming; enrolling judges with their
conflicts; running the assignment and seeing its shortfalls; the leaderboard with its ties;
publishing the results; the webhooks and their deliveries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.datastructures import FormData
from starlette.responses import Response

from web.api_client import Answer
from web.form_fields import expired, idempotency_key, text, unconfirmed
from web.messages import N_
from web.page import Page, PageDep, Refusal
from web.views import NEXT_PHASE, hackathon_form_body, hackathon_view

router = APIRouter(prefix="/organize")


async def _organizer_or_away(page: Page, target: str) -> Response | None:
    me = await page.me()
    if me is None:
        return page.redirect(f"/signin?next={target}")
    if "organizer" not in me.get("roles", []):
        return await page.render("error.html", status=403, kind="forbidden")
    return None


@router.get("")
async def overview(page: PageDep) -> Response:
    if away := await _organizer_or_away(page, "/organize"):
        return away
    answer = await page.call("GET", "/hackathons", params={"limit": 200})
    items = [hackathon_view(h) for h in answer.body["items"]] if answer.ok else []
    return await page.render("organize.html", hackathons=items)


@router.get("/new")
async def new_form(page: PageDep) -> Response:
    if away := await _organizer_or_away(page, "/organize/new"):
        return away
    return await page.render("organize_new.html", values={})


@router.post("/new")
async def create(page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await page.render("organize_new.html", status=403, values={}, refusal=expired(page))
    if away := await _organizer_or_away(page, "/organize/new"):
        return away
    values = {name: text(form, name, 20000) for name in form if name not in ("csrf_token",)}
    body, unreadable = hackathon_form_body(values, page.formats.zone)
    if unreadable:
        refusal = Refusal(
            page.gettext("Please correct the fields marked below."),
            {name: page.gettext(message) for name, message in unreadable.items()},
        )
        return await page.render("organize_new.html", status=422, refusal=refusal, values=values)
    answer = await page.call("POST", "/hackathons", body, idempotency_key=idempotency_key(form))
    if not answer.ok:
        return await page.render(
            "organize_new.html", status=answer.status, refusal=page.refusal(answer),
            values=values,
        )  # fmt: skip
    return page.redirect(f"/organize/{answer.body['hackathon_id']}?done=created")


@router.get("/{hackathon_id}")
async def manage(hackathon_id: str, page: PageDep) -> Response:
    return await render_manage(page, hackathon_id)


async def render_manage(
    page: Page, hackathon_id: str, status: int = 200, **context: Any
) -> Response:
    if away := await _organizer_or_away(page, f"/organize/{hackathon_id}"):
        return away
    answer = await page.call("GET", f"/hackathons/{hackathon_id}")
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    hackathon = hackathon_view(answer.body)
    teams = await page.call("GET", f"/hackathons/{hackathon_id}/teams", params={"limit": 200})
    submissions = await page.call(
        "GET", f"/hackathons/{hackathon_id}/submissions", params={"limit": 200}
    )
    leaderboard = None
    if hackathon.phase in ("judging", "finished"):
        board = await page.call("GET", f"/hackathons/{hackathon_id}/leaderboard")
        leaderboard = board.body if board.ok else None
    webhooks = await page.call("GET", f"/hackathons/{hackathon_id}/webhooks")
    judges = await page.call("GET", f"/hackathons/{hackathon_id}/judges")
    context.setdefault("values", {})
    return await page.render(
        "organize_hackathon.html",
        status=status,
        hackathon=hackathon,
        next_phase=NEXT_PHASE.get(hackathon.phase),
        teams=teams.body["items"] if teams.ok else [],
        submissions=submissions.body["items"] if submissions.ok else [],
        leaderboard=leaderboard,
        webhooks=webhooks.body if webhooks.ok else [],
        judges=judges.body if judges.ok else [],
        **context,
    )


async def _answered(
    page: Page, hackathon_id: str, answer: Answer, done: str, **kept: Any
) -> Response:
    """After an organizer's write: its page again with the refusal and what was typed, or
    on to ``done``."""
    if not answer.ok:
        return await render_manage(
            page, hackathon_id, answer.status, refusal=page.refusal(answer), **kept
        )
    return page.redirect(done)


def _team_ids(form: FormData) -> list[str]:
    """The teams ticked in a conflicts fieldset."""
    return [c for c in form.getlist("conflicts") if isinstance(c, str)][:1000]


@router.post("/{hackathon_id}/phase")
async def move_phase(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    if form.get("confirm") != "yes":
        refusal = unconfirmed(
            page, N_("Tick the box to confirm the move."), "confirm",
            N_("Confirm to move the phase."),
        )  # fmt: skip
        return await render_manage(page, hackathon_id, 422, refusal=refusal)
    path = f"/hackathons/{hackathon_id}/phase"
    body = {"phase": text(form, "phase", 40)}
    answer = await page.call("POST", path, body, idempotency_key=idempotency_key(form))
    done = "phase-pending" if answer.pending else "phase"
    return await _answered(page, hackathon_id, answer, f"/organize/{hackathon_id}?done={done}")


@router.post("/{hackathon_id}/judges")
async def enrol_judge(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    email = text(form, "email", 320)
    body = {"email": email, "conflicts": _team_ids(form)}
    path = f"/hackathons/{hackathon_id}/judges"
    answer = await page.call("POST", path, body, idempotency_key=idempotency_key(form))
    done = f"/organize/{hackathon_id}?done=judge-enrolled#judges"
    return await _answered(page, hackathon_id, answer, done, values={"email": email})


@router.post("/{hackathon_id}/judges/{judge_id}/conflicts")
async def change_conflicts(hackathon_id: str, judge_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    path = f"/hackathons/{hackathon_id}/judges/{judge_id}/conflicts"
    body = {"conflicts": _team_ids(form)}
    answer = await page.call("PUT", path, body, idempotency_key=idempotency_key(form))
    done = f"/organize/{hackathon_id}?done=conflicts-changed#judges"
    return await _answered(page, hackathon_id, answer, done)


@router.post("/{hackathon_id}/assignments")
async def assign(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    path = f"/hackathons/{hackathon_id}/assignments"
    answer = await page.call("POST", path, {}, idempotency_key=idempotency_key(form))
    if not answer.ok:
        return await render_manage(page, hackathon_id, answer.status, refusal=page.refusal(answer))
    return await render_manage(page, hackathon_id, assignment=answer.body)


@router.post("/{hackathon_id}/results")
async def publish(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    if form.get("confirm") != "yes":
        refusal = unconfirmed(
            page, N_("Tick the box to confirm publishing."), "publish-confirm",
            N_("Confirm to publish."),
        )  # fmt: skip
        return await render_manage(page, hackathon_id, 422, refusal=refusal)
    path = f"/hackathons/{hackathon_id}/results"
    answer = await page.call("POST", path, {}, idempotency_key=idempotency_key(form))
    done = f"/hackathons/{hackathon_id}?done=published#results"
    return await _answered(page, hackathon_id, answer, done)


@router.post("/{hackathon_id}/webhooks")
async def add_webhook(hackathon_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    url = text(form, "url", 2100)
    body = {"url": url, "secret": text(form, "secret", 300)}
    path = f"/hackathons/{hackathon_id}/webhooks"
    answer = await page.call("POST", path, body, idempotency_key=idempotency_key(form))
    done = f"/organize/{hackathon_id}?done=webhook-added#webhooks"
    return await _answered(page, hackathon_id, answer, done, values={"url": url})


@router.post("/{hackathon_id}/webhooks/{webhook_id}/remove")
async def remove_webhook(hackathon_id: str, webhook_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is None:
        return await render_manage(page, hackathon_id, 403, refusal=expired(page))
    path = f"/hackathons/{hackathon_id}/webhooks/{webhook_id}"
    answer = await page.call("DELETE", path, idempotency_key=idempotency_key(form))
    done = f"/organize/{hackathon_id}?done=webhook-removed#webhooks"
    return await _answered(page, hackathon_id, answer, done)


@router.get("/{hackathon_id}/webhooks/{webhook_id}")
async def deliveries(hackathon_id: str, webhook_id: str, page: PageDep) -> Response:
    if away := await _organizer_or_away(page, f"/organize/{hackathon_id}"):
        return away
    answer = await page.call(
        "GET", f"/hackathons/{hackathon_id}/webhooks/{webhook_id}/deliveries",
        params={"limit": 200},
    )  # fmt: skip
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    return await page.render(
        "webhook_deliveries.html", hackathon_id=hackathon_id, deliveries=answer.body["items"]
    )
