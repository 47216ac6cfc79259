"""Signed, short-lived access tokens (JWT, HS256), issued by registration and verified by
every service itself, so that a forged or expired token is refused everywhere."""

from __future__ import annotations

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


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified caller. The secret comes from the app's settings."""
    secret: str = request.app.state.jwt_secret
    return verify_token(secret, bearer_token(request))


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def optional_principal(request: Request) -> Principal | None:
    """The verified caller when a token is sent (a bad token is still a 401), else None."""
    if not request.headers.get("authorization"):
        return None
    return current_principal(request)


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def stream_principal(request: Request) -> Principal:
    """Like :func:`current_principal`, also accepting the token as ``access_token`` in the
    query when no header is sent: a browser's EventSource cannot send headers."""
    token = request.query_params.get("access_token")
    if token and not request.headers.get("authorization"):
        secret: str = request.app.state.jwt_secret
        return verify_token(secret, token)
    return current_principal(request)


def require_role(principal: Principal, role: str) -> None:
    if not principal.has_role(role):
        raise ProblemError(403, "forbidden", f"only an {role} may do this")


def organizer(principal: CurrentPrincipal) -> Principal:
    """FastAPI dependency: the verified caller, who must be an organizer."""
    require_role(principal, "organizer")
    return principal


Organizer = Annotated[Principal, Depends(organizer)]
