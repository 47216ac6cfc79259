"""The web app's client of the gateway's public API (``/api/v1``), the only thing it calls.

Each call carries the signed-in person's token (from the session cookie, never shown to the
page's script), the gateway's attestation of the reader's address (so that the gateway's
rate limits count the person, not this process; hackathon_shared.client_address), the
request id, and, for a write, the form's Idempotency-Key: a form sent twice (a double click,
a reload) is carried out once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from hackathon_shared.api.deliveries import PUBLIC_PREFIX
from hackathon_shared.client_address import CLIENT_HEADER
from hackathon_shared.problems import PROBLEM_BASE


@dataclass(frozen=True)
class Answer:
    """What the API answered: its status, its JSON body (a problem document when refused)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def kind(self) -> str | None:
        """The rule a problem document names (``team-full``), None for a success."""
        if self.ok or not isinstance(self.body, dict):
            return None
        kind = str(self.body.get("type", ""))
        return kind.removeprefix(PROBLEM_BASE) if kind.startswith(PROBLEM_BASE) else "error"

    @property
    def detail(self) -> str:
        return str(self.body.get("detail", "")) if isinstance(self.body, dict) else ""

    @property
    def field_errors(self) -> dict[str, str]:
        """A 422's message per field, by the field's dotted path (``body.name`` → ``name``)."""
        if not isinstance(self.body, dict):
            return {}
        found: dict[str, str] = {}
        for error in self.body.get("errors") or []:
            name = str(error.get("field", "")).removeprefix("body.")
            found.setdefault(name, str(error.get("message", "")))
        return found

    @property
    def pending(self) -> bool:
        """A 202: recorded, not yet visible to the other services."""
        return self.status == 202


@dataclass(frozen=True)
class Caller:
    """Who a call is made for: their token (None when signed out), the gateway's attestation
    of their address, and the request id of the page being answered."""

    token: str | None = None
    client: str | None = None
    request_id: str | None = None


class GatewayClient:
    def __init__(self, gateway_url: str, timeout: float) -> None:
        base_url = gateway_url.rstrip("/") + PUBLIC_PREFIX
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, follow_redirects=False)
        # The notification streams last: no read timeout (the API sends keep-alive comments).
        self.streams = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout, read=None), follow_redirects=False
        )

    async def call(
        self,
        method: str,
        path: str,
        caller: Caller,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Answer:
        headers: dict[str, str] = {"accept": "application/json"}
        if caller.token:
            headers["authorization"] = f"Bearer {caller.token}"
        if caller.client:
            headers[CLIENT_HEADER] = caller.client
        if caller.request_id:
            headers["x-request-id"] = caller.request_id
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        try:
            answer = await self._http.request(
                method, path, json=body, headers=headers, params=params
            )
        except httpx.HTTPError:
            problem = {"type": PROBLEM_BASE + "service-unavailable", "status": 503, "detail": ""}
            return Answer(503, problem)
        try:
            parsed = answer.json() if answer.content else None
        except ValueError:
            parsed = None
        return Answer(answer.status_code, parsed, dict(answer.headers))

    async def close(self) -> None:
        await self._http.aclose()
        await self.streams.aclose()
