"""Who signs schemathesis's requests in the contract run (tests/test_contract_schemathesis.py).
Loaded by the schemathesis CLI (``SCHEMATHESIS_HOOKS``) from the test's environment:
``CONTRACT_API_URL`` (the gateway's /api/v1), ``CONTRACT_ORGANIZER_TOKEN`` and
``CONTRACT_PARTICIPANT_TOKEN``.

- Most operations run as the organizer, so that organizer routes get past their role check
  and their answers are checked too.
- ``DELETE /me`` erases a new person made for each case, never an account the run or the
  session's other tests use.
- Adding a webhook runs as a participant (refused with 403 before anything is forwarded): an
  organizer's fuzzed webhook would make the platform call whatever address was generated.
- The notification stream runs without a token (401): a signed-in stream never ends.
- A generated ``Idempotency-Key`` is replaced by a new UUID per case, as a client makes one
  per request.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import requests
import schemathesis

API = os.environ["CONTRACT_API_URL"]
ME = "/api/v1/me"
WEBHOOKS = "/api/v1/hackathons/{hackathon_id}/webhooks"
STREAM = "/api/v1/notifications/stream"


def _sign(case: Any, token: str) -> None:
    headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    if "Idempotency-Key" in headers:
        # A client sends a new key with each new request: generated keys repeat across
        # operations (a short string), and a reused key is a 422, as documented.
        headers["Idempotency-Key"] = str(uuid.uuid4())
    case.headers = headers


@schemathesis.auth(refresh_interval=None).apply_to(method="DELETE", path=ME)
class FreshPerson:
    """A person of their own for each erasure."""

    def get(self, case: Any, ctx: Any) -> str:
        email = f"erased-{uuid.uuid4().hex[:12]}@example.org"
        password = "a good long password"
        made = requests.post(
            f"{API}/accounts",
            json={"email": email, "password": password, "display_name": "to be erased"},
            timeout=15,
        )
        made.raise_for_status()
        token = requests.post(
            f"{API}/auth/token", json={"email": email, "password": password}, timeout=15
        )
        token.raise_for_status()
        access_token: str = token.json()["access_token"]
        return access_token

    def set(self, case: Any, data: str, ctx: Any) -> None:
        _sign(case, data)


@schemathesis.auth().apply_to(method="POST", path=WEBHOOKS)
class Participant:
    def get(self, case: Any, ctx: Any) -> str:
        return os.environ["CONTRACT_PARTICIPANT_TOKEN"]

    def set(self, case: Any, data: str, ctx: Any) -> None:
        _sign(case, data)


@(
    schemathesis.auth()
    .skip_for(method="DELETE", path=ME)
    .skip_for(method="POST", path=WEBHOOKS)
    .skip_for(path=STREAM)
)
class Organizer:
    def get(self, case: Any, ctx: Any) -> str:
        return os.environ["CONTRACT_ORGANIZER_TOKEN"]

    def set(self, case: Any, data: str, ctx: Any) -> None:
        _sign(case, data)
