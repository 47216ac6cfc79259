"""HTTP entrypoints for accounts and tokens: translate requests into use-case calls."""

from __future__ import annotations

from fastapi import APIRouter, Response

from hackathon_shared.api.accounts import (
    AccountCreatedAnswer,
    Credentials,
    MeAnswer,
    NewAccount,
    TokenAnswer,
)
from hackathon_shared.auth import CurrentPrincipal
from hackathon_shared.service_app import RequestId
from registration.entrypoints.dependencies import AccountsService, ClientAddress

router = APIRouter()


@router.post("/accounts", status_code=201, response_model=AccountCreatedAnswer)
async def create_account(
    body: NewAccount, service: AccountsService, request_id: RequestId
) -> AccountCreatedAnswer:
    account = await service.create(
        body.email, body.password, body.display_name, correlation_id=request_id
    )
    return AccountCreatedAnswer(account_id=account.account_id)


@router.post("/auth/token", response_model=TokenAnswer)
async def sign_in(
    body: Credentials, service: AccountsService, client: ClientAddress
) -> TokenAnswer:
    issued = await service.issue_token(body.email, body.password, client=client)
    return TokenAnswer(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/me", response_model=MeAnswer)
async def me(principal: CurrentPrincipal, service: AccountsService) -> MeAnswer:
    account = await service.get(principal.account_id)
    return MeAnswer(
        account_id=account.account_id,
        email=account.email or "",
        display_name=account.display_name or "",
        roles=account.role_list(),
    )


@router.delete("/me", status_code=204)
async def erase_me(
    principal: CurrentPrincipal, service: AccountsService, request_id: RequestId
) -> Response:
    await service.erase(principal.account_id, request_id)
    return Response(status_code=204)
