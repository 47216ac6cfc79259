"""A signed-in person's notifications: the list with what is unread, marking them read, and
the live stream the page's script follows (``EventSource``), passed on from the API with the
session's token, which never reaches the page itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from fastapi import APIRouter
from starlette.responses import Response, StreamingResponse

from hackathon_shared.client_address import CLIENT_HEADER
from web.page import PageDep

router = APIRouter()


@router.get("/notifications")
async def notifications(page: PageDep) -> Response:
    if await page.me() is None:
        return page.redirect("/signin?next=/notifications")
    answer = await page.call("GET", "/notifications", params={"limit": 50})
    if not answer.ok:
        return await page.render("error.html", status=answer.status, kind=answer.kind)
    items = answer.body["items"]
    return await page.render(
        "notifications.html", items=items, unread=sum(1 for n in items if not n["read"])
    )


@router.post("/notifications/read")
async def mark_all_read(page: PageDep) -> Response:
    form = await page.form()
    if form is not None and await page.me() is not None:
        await page.call("POST", "/notifications/read", {})
    return page.redirect("/notifications")


@router.post("/notifications/{notification_id}/read")
async def mark_read(notification_id: str, page: PageDep) -> Response:
    form = await page.form()
    if form is not None and await page.me() is not None:
        await page.call("POST", f"/notifications/{notification_id}/read", {})
    return page.redirect("/notifications")


@router.get("/notifications/stream")
async def stream(page: PageDep) -> Response:
    """The API's Server-Sent Events for this session, as they come."""
    if page.caller.token is None:
        return Response(status_code=204)  # EventSource stops on 204
    gateway: httpx.AsyncClient = page.client.streams
    headers = {"authorization": f"Bearer {page.caller.token}", "accept": "text/event-stream"}
    if page.caller.client:
        headers[CLIENT_HEADER] = page.caller.client
    last = page.request.headers.get("last-event-id")
    if last:
        headers["last-event-id"] = last[:200]
    request = gateway.build_request("GET", "/notifications/stream", headers=headers)
    try:
        upstream = await gateway.send(request, stream=True)
    except httpx.HTTPError:
        return Response(status_code=503, headers={"retry-after": "5"})
    if upstream.status_code != 200:
        await upstream.aclose()
        return Response(status_code=204)

    async def events() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError:
            return
        finally:
            await upstream.aclose()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )
