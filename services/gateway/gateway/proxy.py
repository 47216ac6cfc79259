"""Forwarding a public request to the service that owns it.

The body has already been validated against the public model by the route; the service
validates again (it trusts nobody). Upstream answers, problem documents included, pass through
unchanged; an unreachable service is a 503 and a slow one a 504, both as problem details."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from hackathon_shared.problems import problem_response

FORWARDED_HEADERS = ("authorization", "x-request-id", "accept", "last-event-id")


class Upstreams:
    def __init__(self, urls: dict[str, str], client: httpx.AsyncClient) -> None:
        self.urls = urls
        self.client = client

    async def close(self) -> None:
        await self.client.aclose()

    async def forward(
        self,
        request: Request,
        service: str,
        path: str,
        body: BaseModel | None = None,
    ) -> Response:
        headers = _outgoing_headers(request)
        content: Any = None
        if body is not None:
            content = body.model_dump_json().encode()
            headers["content-type"] = "application/json"
        outgoing = self.client.build_request(
            request.method,
            self.urls[service] + path,
            params=list(request.query_params.multi_items()),
            content=content,
            headers=headers,
        )
        upstream = await self._send(service, outgoing, stream=False)
        if isinstance(upstream, Response):
            return upstream
        passed = _passed_headers(upstream, "location")
        return Response(upstream.content, status_code=upstream.status_code, headers=passed)

    async def stream(self, request: Request, service: str, path: str) -> Response:
        """Forward a long-lived GET (Server-Sent Events) and pass its bytes on as they come:
        the connect timeout applies, the read timeout does not (the service sends keep-alive
        comments)."""
        outgoing = self.client.build_request(
            "GET",
            self.urls[service] + path,
            params=list(request.query_params.multi_items()),
            headers=_outgoing_headers(request),
            timeout=httpx.Timeout(self.client.timeout.connect, read=None),
        )
        upstream = await self._send(service, outgoing, stream=True)
        if isinstance(upstream, Response):
            return upstream
        passed = _passed_headers(upstream, "cache-control")
        if upstream.status_code != 200:
            content = await upstream.aread()
            await upstream.aclose()
            return Response(content, status_code=upstream.status_code, headers=passed)
        passed["X-Accel-Buffering"] = "no"  # proxies in front must not buffer the stream
        return StreamingResponse(
            upstream.aiter_raw(),
            status_code=200,
            headers=passed,
            background=BackgroundTask(upstream.aclose),
        )

    async def _send(
        self, service: str, outgoing: httpx.Request, stream: bool
    ) -> httpx.Response | Response:
        """The service's answer, or the problem that says it could not be had."""
        try:
            return await self.client.send(outgoing, stream=stream)
        except httpx.TimeoutException:
            return problem_response(
                504, "upstream-timeout", f"the {service} service did not answer in time"
            )
        except httpx.TransportError:
            return problem_response(
                503, "service-unavailable", f"the {service} service is unavailable"
            )

    async def ready(self, service: str) -> tuple[bool, str]:
        try:
            answer = await self.client.get(self.urls[service] + "/readyz", timeout=3.0)
        except httpx.HTTPError as error:
            return False, f"unreachable: {error.__class__.__name__}"
        if answer.status_code != 200:
            return False, "not ready"
        try:
            answered_as = answer.json().get("service")
        except (ValueError, AttributeError):
            answered_as = None
        if answered_as != service:
            # Its address is taken by something else (another service, after a restart).
            return False, f"answered as {answered_as or 'something else'}"
        return True, "ok"


def _outgoing_headers(request: Request) -> dict[str, str]:
    headers = {k: v for k in FORWARDED_HEADERS if (v := request.headers.get(k)) is not None}
    headers["x-request-id"] = request.state.request_id
    return headers


def _passed_headers(upstream: httpx.Response, *extra: str) -> dict[str, str]:
    """The upstream answer's headers a client gets."""
    wanted = {"content-type", "retry-after", "www-authenticate", "x-event-delivery", *extra}
    return {k: v for k, v in upstream.headers.items() if k.lower() in wanted}
