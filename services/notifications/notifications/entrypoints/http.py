from __future__ import annotations

from fastapi import APIRouter

from hackathon_shared.api.notifications import NotificationView
from hackathon_shared.auth import CurrentPrincipal
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page
from hackathon_shared.service_app import Runtime
from notifications.service.feed import list_feed

router = APIRouter()


@router.get("/notifications", response_model=Page[NotificationView])
async def my_notifications(
    principal: CurrentPrincipal,
    runtime: Runtime,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[NotificationView]:
    rows, next_cursor = await list_feed(runtime.db, principal.account_id, limit, cursor)
    items = [NotificationView.model_validate(row, from_attributes=True) for row in rows]
    return Page[NotificationView](items=items, next_cursor=next_cursor)
