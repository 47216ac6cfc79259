"""Access tokens: every service verifies them itself, so a forged, expired or foreign token is
refused wherever it is presented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from hackathon_shared.auth import AUDIENCE, ISSUER, issue_token, verify_token
from hackathon_shared.problems import ProblemError

SECRET = "a-secret-of-reasonable-length-for-tests"


def test_issued_token_verifies_with_its_claims() -> None:
    token = issue_token(SECRET, "acc_1", ["participant", "organizer"], ttl_seconds=60)
    principal = verify_token(SECRET, token)
    assert principal.account_id == "acc_1"
    assert principal.roles == {"participant", "organizer"}
    assert principal.has_role("organizer")


def refused(token: str) -> ProblemError:
    with pytest.raises(ProblemError) as caught:
        verify_token(SECRET, token)
    assert caught.value.status == 401
    return caught.value


def test_token_signed_with_another_secret_is_refused() -> None:
    forged = issue_token("some-other-secret-entirely-different", "acc_1", ["organizer"], 60)
    assert "not valid" in refused(forged).detail


def test_expired_token_is_refused() -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {
        "sub": "acc_1",
        "roles": [],
        "iat": past,
        "exp": past + timedelta(minutes=5),
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    assert "expired" in refused(jwt.encode(claims, SECRET, algorithm="HS256")).detail


def test_unsigned_and_foreign_audience_tokens_are_refused() -> None:
    claims = {"sub": "acc_1", "roles": ["organizer"], "iss": ISSUER, "aud": AUDIENCE}
    unsigned = jwt.encode(
        claims | {"exp": datetime.now(UTC) + timedelta(minutes=5), "iat": datetime.now(UTC)},
        key=None,
        algorithm="none",
    )
    refused(unsigned)
    foreign = jwt.encode(
        claims
        | {
            "aud": "someone-else",
            "exp": datetime.now(UTC) + timedelta(minutes=5),
            "iat": datetime.now(UTC),
        },
        SECRET,
        algorithm="HS256",
    )
    refused(foreign)
    refused("not-a-token-at-all")
