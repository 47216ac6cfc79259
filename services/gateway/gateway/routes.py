"""The public routes of API v1. Each route declares its public request and answer models (so
the OpenAPI document describes them) and forwards to the owning service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from gateway.proxy import Upstreams
from hackathon_shared.api.accounts import (
    AccountCreatedAnswer,
    Credentials,
    MeAnswer,
    NewAccount,
    TokenAnswer,
)
from hackathon_shared.api.notifications import NotificationView
from hackathon_shared.pagination import DEFAULT_LIMIT, Cursor, Limit, Page

router = APIRouter(prefix="/api/v1")


def upstreams(request: Request) -> Upstreams:
    found: Upstreams = request.app.state.upstreams
    return found


Services = Annotated[Upstreams, Depends(upstreams)]


@router.post("/accounts", status_code=201, response_model=AccountCreatedAnswer, tags=["accounts"])
async def create_account(body: NewAccount, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/accounts", body)


@router.post("/auth/token", response_model=TokenAnswer, tags=["accounts"])
async def sign_in(body: Credentials, request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/auth/token", body)


@router.get("/me", response_model=MeAnswer, tags=["accounts"])
async def me(request: Request, services: Services) -> Response:
    return await services.forward(request, "registration", "/me")


@router.get("/notifications", response_model=Page[NotificationView], tags=["notifications"])
async def my_notifications(
    request: Request,
    services: Services,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    return await services.forward(request, "notifications", "/notifications")
