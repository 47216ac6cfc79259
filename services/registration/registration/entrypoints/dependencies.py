"""Use cases as FastAPI dependencies, built from the running service."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hackathon_shared.auth import CurrentPrincipal, MaybePrincipal, Principal, require_role
from hackathon_shared.client_address import CLIENT_HEADER, ClientAttestation
from hackathon_shared.service_app import Runtime
from registration.adapters.sign_in_limiter import SignInLimiter
from registration.service.accounts import Accounts
from registration.service.hackathons import Hackathons
from registration.service.teams import Teams
from registration.settings import RegistrationSettings


def _settings(runtime: Runtime) -> RegistrationSettings:
    settings = runtime.settings
    assert isinstance(settings, RegistrationSettings)
    return settings


async def accounts(runtime: Runtime, request: Request) -> Accounts:
    settings = _settings(runtime)
    limiter: SignInLimiter = request.app.state.sign_in_limiter
    return Accounts(
        runtime.db, runtime.outbox, settings.signing_secret(), settings.jwt_ttl_seconds, limiter
    )


async def client_address(request: Request) -> str:
    """The caller's address: the one the gateway vouches for in its signed header, else the
    connection's own peer (a client that reached the service without the gateway)."""
    attestation: ClientAttestation = request.app.state.client_attestation
    vouched = attestation.verified(request.headers.get(CLIENT_HEADER))
    if vouched is not None:
        return vouched
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


async def hackathons(runtime: Runtime) -> Hackathons:
    return Hackathons(runtime.db, runtime.outbox, _settings(runtime).consent_policy_version)


async def teams(runtime: Runtime) -> Teams:
    return Teams(runtime.db, runtime.outbox)


AccountsService = Annotated[Accounts, Depends(accounts)]
HackathonsService = Annotated[Hackathons, Depends(hackathons)]
TeamsService = Annotated[Teams, Depends(teams)]


async def live_principal(principal: CurrentPrincipal, service: AccountsService) -> Principal:
    """The verified caller, whose account must still exist: a token outlives an erasure by
    at most its lifetime, and registration refuses it at once."""
    await service.require_live(principal.account_id)
    return principal


LivePrincipal = Annotated[Principal, Depends(live_principal)]


async def live_organizer(principal: LivePrincipal) -> Principal:
    require_role(principal, "organizer")
    return principal


LiveOrganizer = Annotated[Principal, Depends(live_organizer)]


async def maybe_live_principal(
    principal: MaybePrincipal, service: AccountsService
) -> Principal | None:
    if principal is not None:
        await service.require_live(principal.account_id)
    return principal


MaybeLivePrincipal = Annotated[Principal | None, Depends(maybe_live_principal)]
