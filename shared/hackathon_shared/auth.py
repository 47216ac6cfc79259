"""Signed, short-lived access tokens (JWT, HS256), issued by registration and verified by
every service itself, so that a forged or expired token is refused everywhere."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, Request

from hackathon_shared.problems import ProblemError

ISSUER = "hackathon-registration"
AUDIENCE = "hackathon-platform"


@dataclass(frozen=True)
class Principal:
    account_id: str
    roles: frozenset[str]
    expires_at: datetime | None = None  # when the token it was read from expires

    def has_role(self, role: str) -> bool:
        return role in self.roles


def issue_token(secret: str, account_id: str, roles: list[str], ttl_seconds: int) -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": account_id,
        "roles": sorted(roles),
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_token(secret: str, token: str) -> Principal:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise _unauthenticated("the access token has expired") from error
    except jwt.InvalidTokenError as error:
        raise _unauthenticated("the access token is not valid") from error
    return Principal(
        account_id=str(claims["sub"]),
        roles=frozenset(claims.get("roles", [])),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def _unauthenticated(detail: str) -> ProblemError:
    return ProblemError(
        401, "unauthenticated", detail, headers={"WWW-Authenticate": 'Bearer realm="hackathon"'}
    )


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthenticated("sign in first: send Authorization: Bearer <token>")
    return token.strip()


def token_principal(request: Request) -> Principal:
    """The caller as its bearer token says, verified (signature, audience, expiry) but not
    yet checked against the service's record of erased accounts."""
    secret: str = request.app.state.jwt_secret
    return verify_token(secret, bearer_token(request))


def optional_token_principal(request: Request) -> Principal | None:
    """:func:`token_principal` when a token is sent (a bad token is still a 401), else None."""
    if not request.headers.get("authorization"):
        return None
    return token_principal(request)


def stream_token_principal(request: Request) -> Principal:
    """Like :func:`token_principal`, also accepting the token as ``access_token`` in the query
    when no header is sent: a browser's EventSource cannot send headers."""
    token = request.query_params.get("access_token")
    if token and not request.headers.get("authorization"):
        secret: str = request.app.state.jwt_secret
        return verify_token(secret, token)
    return token_principal(request)


PrincipalCheck = Callable[[Principal], Awaitable[None]]
"""A service's check that a verified caller still stands (its account was not erased);
raises a problem otherwise. Set as ``app.state.principal_check``."""


async def _in_good_standing(request: Request, principal: Principal) -> Principal:
    check: PrincipalCheck | None = getattr(request.app.state, "principal_check", None)
    if check is not None:
        await check(principal)
    return principal


def erased_account() -> ProblemError:
    return _unauthenticated("this account was erased; its tokens are no longer accepted")


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, whose account was not erased."""
    return await _in_good_standing(request, token_principal(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def optional_principal(request: Request) -> Principal | None:
    """The verified caller when a token is sent (a bad token is still a 401), else None."""
    principal = optional_token_principal(request)
    return None if principal is None else await _in_good_standing(request, principal)


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def stream_principal(request: Request) -> Principal:
    """Like :func:`current_principal`, also accepting the token as ``access_token`` in the
    query when no header is sent: a browser's EventSource cannot send headers."""
    return await _in_good_standing(request, stream_token_principal(request))


def require_role(principal: Principal, role: str) -> None:
    if not principal.has_role(role):
        raise ProblemError(403, "forbidden", f"only an {role} may do this")


async def organizer(principal: CurrentPrincipal) -> Principal:
    """FastAPI dependency: the verified caller, who must be an organizer."""
    require_role(principal, "organizer")
    return principal


Organizer = Annotated[Principal, Depends(organizer)]
