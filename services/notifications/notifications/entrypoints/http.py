from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent

from hackathon_shared.api.notifications import (
    MarkedRead,
    NewWebhook,
    NotificationView,
    WebhookDeliveryView,
    WebhookView,
)
from hackathon_shared.auth import CurrentPrincipal, Organizer, Principal, stream_principal
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.problems import ProblemError
from hackathon_shared.service_app import Runtime
from notifications.service.feed import FeedFollower, list_feed, mark_all_read, mark_read
from notifications.service.webhooks import (
    delete_webhook,
    list_deliveries,
    list_webhooks,
    register_webhook,
)
from notifications.settings import NotificationsSettings

router = APIRouter()


async def settings_of(runtime: Runtime) -> NotificationsSettings:
    settings = runtime.settings
    assert isinstance(settings, NotificationsSettings)
    return settings


Settings = Annotated[NotificationsSettings, Depends(settings_of)]


@router.get("/notifications", response_model=Page[NotificationView])
async def my_notifications(
    principal: CurrentPrincipal,
    runtime: Runtime,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[NotificationView]:
    items, next_cursor = await list_feed(runtime.db, principal.account_id, limit, cursor)
    return Page[NotificationView](items=items, next_cursor=next_cursor)


@router.post("/notifications/read", response_model=MarkedRead)
async def mark_everything_read(principal: CurrentPrincipal, runtime: Runtime) -> MarkedRead:
    return MarkedRead(marked=await mark_all_read(runtime.db, principal.account_id))


@router.post("/notifications/{notification_id}/read", response_model=NotificationView)
async def mark_one_read(
    notification_id: str, principal: CurrentPrincipal, runtime: Runtime
) -> NotificationView:
    return await mark_read(runtime.db, principal.account_id, notification_id)


class OpenStreams:
    """How many notification streams each account has open on this replica."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def open(self, account_id: str, limit: int) -> None:
        if self.counts[account_id] >= limit:
            raise ProblemError(
                429,
                "too-many-streams",
                f"at most {limit} notification streams per account; close one first",
                retry_after=5,
            )
        self.counts[account_id] += 1

    def close(self, account_id: str) -> None:
        self.counts[account_id] -= 1
        if self.counts[account_id] <= 0:
            del self.counts[account_id]


OPEN_STREAMS = OpenStreams()
STREAM_MIN_INTERVAL_SECONDS = 0.05


async def stream_slot(
    principal: Annotated[Principal, Depends(stream_principal)], settings: Settings
) -> Principal:
    OPEN_STREAMS.open(principal.account_id, settings.stream_max_per_account)
    return principal


@router.get("/notifications/stream", response_class=EventSourceResponse)
async def follow_notifications(
    principal: Annotated[Principal, Depends(stream_slot)],
    runtime: Runtime,
    settings: Settings,
    last_event_id: Annotated[str | None, Header()] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: one ``notification`` event per new notification of the caller
    (``id`` is its notification id, so a reconnecting EventSource resumes after it). The
    stream ends when the token it was opened with expires, with an event ``token-expired``:
    the client reconnects with a fresh token."""
    try:
        follower = FeedFollower(runtime.db, principal.account_id)
        if last_event_id:
            await follower.resume_after(last_event_id)
        await follower.start()
        yield ServerSentEvent(comment="following your notifications", retry=3000)
        while principal.expires_at is None or datetime.now(UTC) < principal.expires_at:
            looked = time.monotonic()
            for view in await follower.new_notifications():
                yield ServerSentEvent(
                    event="notification",
                    id=view.notification_id,
                    data=view.model_dump(mode="json"),
                )
            # Woken as soon as this process's consumers apply a batch (which is how a
            # notification is written), else after the poll (another replica wrote it);
            # never looking more often than every STREAM_MIN_INTERVAL_SECONDS.
            await runtime.progress.wait_applied(settings.stream_poll_seconds)
            rest = STREAM_MIN_INTERVAL_SECONDS - (time.monotonic() - looked)
            if rest > 0:
                await asyncio.sleep(rest)
        yield ServerSentEvent(event="token-expired", data={"detail": "sign in again"})
    finally:
        OPEN_STREAMS.close(principal.account_id)


@router.post("/hackathons/{hackathon_id}/webhooks", status_code=201, response_model=WebhookView)
async def add_webhook(
    hackathon_id: str, body: NewWebhook, organizer: Organizer, runtime: Runtime, settings: Settings
) -> WebhookView:
    return await register_webhook(
        runtime.db,
        hackathon_id,
        body,
        organizer,
        settings.webhook_allow_private_addresses,
        settings.webhook_max_per_hackathon,
    )


@router.delete("/hackathons/{hackathon_id}/webhooks/{webhook_id}", status_code=204)
async def remove_webhook(
    hackathon_id: str, webhook_id: str, _organizer: Organizer, runtime: Runtime
) -> Response:
    await delete_webhook(runtime.db, hackathon_id, webhook_id)
    return Response(status_code=204)


@router.get("/hackathons/{hackathon_id}/webhooks", response_model=list[WebhookView])
async def hackathon_webhooks(
    hackathon_id: str, _organizer: Organizer, runtime: Runtime
) -> list[WebhookView]:
    return await list_webhooks(runtime.db, hackathon_id)


@router.get(
    "/hackathons/{hackathon_id}/webhooks/{webhook_id}/deliveries",
    response_model=Page[WebhookDeliveryView],
)
async def webhook_deliveries(
    hackathon_id: str,
    webhook_id: str,
    _organizer: Organizer,
    runtime: Runtime,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[WebhookDeliveryView]:
    items, next_cursor = await list_deliveries(runtime.db, hackathon_id, webhook_id, limit, cursor)
    return Page[WebhookDeliveryView](items=items, next_cursor=next_cursor)
