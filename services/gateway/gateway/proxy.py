"""Forwarding a public request to the service that owns it.

The body has already been validated against the public model by the route; the service
validates again (it trusts nobody). Only the headers in :data:`FORWARDED_HEADERS` go on, from
the client; the gateway adds its own request id and the client's address, signed
(hackathon_shared.client_address), so that a service knows who is calling without believing
anything a client wrote. Upstream answers, problem documents included, pass through
unchanged; an unreachable service is a 503 and a slow one a 504, both as problem details."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from gateway.edge import client_address
from gateway.upstream import UpstreamClient, UpstreamTimeout, UpstreamUnavailable, chosen_headers
from hackathon_shared.client_address import CLIENT_HEADER, ClientAttestation
from hackathon_shared.problems import service_unavailable, upstream_timeout

FORWARDED_HEADERS = (
    "authorization",
    "x-request-id",
    "accept",
    "last-event-id",
    "idempotency-key",
)
PASSED_HEADERS = (
    "content-type",
    "retry-after",
    "www-authenticate",
    "x-event-delivery",
    "link",
    "idempotent-replayed",
)


class Upstreams:
    def __init__(
        self,
        urls: dict[str, str],
        client: UpstreamClient,
        attestation: ClientAttestation | None = None,
    ) -> None:
        self.urls = urls
        self.client = client
        self._attestation = attestation

    def _outgoing_headers(self, request: Request) -> dict[str, str]:
        headers = {k: v for k in FORWARDED_HEADERS if (v := request.headers.get(k)) is not None}
        headers["x-request-id"] = request.state.request_id
        if self._attestation is None:  # keyed with the secret the gateway verifies tokens with
            self._attestation = ClientAttestation(request.app.state.jwt_secret)
        headers[CLIENT_HEADER] = self._attestation.header_value(client_address(request))
        return headers

    async def close(self) -> None:
        await self.client.close()

    async def forward(
        self,
        request: Request,
        service: str,
        path: str,
        body: BaseModel | None = None,
    ) -> Response:
        headers = self._outgoing_headers(request)
        content: bytes | None = None
        if body is not None:
            content = body.model_dump_json().encode()
            headers["content-type"] = "application/json"
        try:
            upstream = await self.client.send(
                request.method,
                self.urls[service],
                path,
                query_string=request.scope["query_string"].decode("latin-1"),
                headers=headers,
                body=content,
            )
            content = await self.client.read(upstream)
        except (UpstreamTimeout, UpstreamUnavailable) as error:
            return _refusal(service, error)
        passed = chosen_headers(upstream, (*PASSED_HEADERS, "location"))
        return Response(content, status_code=upstream.status, headers=passed)

    async def stream(self, request: Request, service: str, path: str) -> Response:
        """Forward a long-lived GET (Server-Sent Events) and pass its bytes on as they come:
        the connect timeout applies, the read timeout does not (the service sends keep-alive
        comments)."""
        try:
            upstream = await self.client.send(
                "GET",
                self.urls[service],
                path,
                query_string=request.scope["query_string"].decode("latin-1"),
                headers=self._outgoing_headers(request),
                stream=True,
            )
        except (UpstreamTimeout, UpstreamUnavailable) as error:
            return _refusal(service, error)
        passed = chosen_headers(upstream, (*PASSED_HEADERS, "cache-control"))
        if upstream.status != 200:
            try:
                content = await self.client.read(upstream)
            except (UpstreamTimeout, UpstreamUnavailable) as error:
                return _refusal(service, error)
            return Response(content, status_code=upstream.status, headers=passed)
        passed["X-Accel-Buffering"] = "no"  # proxies in front must not buffer the stream
        return StreamingResponse(
            passed_on(upstream),
            status_code=200,
            headers=passed,
            background=BackgroundTask(upstream.release),
        )

    async def ready(self, service: str) -> tuple[bool, str]:
        try:
            answer = await self.client.send(
                "GET", self.urls[service], "/readyz", headers={}, timeout=3.0
            )
            body = await self.client.read(answer)
        except (UpstreamTimeout, UpstreamUnavailable) as error:
            return False, f"unreachable: {error.__class__.__name__}"
        if answer.status != 200:
            return False, "not ready"
        try:
            answered_as = json.loads(body).get("service")
        except (ValueError, AttributeError):
            answered_as = None
        if answered_as != service:
            # Its address is taken by something else (another service, after a restart).
            return False, f"answered as {answered_as or 'something else'}"
        return True, "ok"


async def passed_on(upstream: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The stream's bytes as they come; the service going away ends the stream."""
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    except aiohttp.ClientError:
        return
    finally:
        upstream.release()


def _refusal(service: str, error: Exception) -> Response:
    if isinstance(error, UpstreamTimeout):
        return upstream_timeout(service).response()
    return service_unavailable(service).response()
