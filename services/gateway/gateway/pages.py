"""The web app's pages at the gateway's address: every path outside the API (``/api/``) and
the gateway's own (``/healthz``, ``/readyz``, ``/openapi.json``, ``/docs``) goes to the web
service (``WEB_URL``) as it is, and its answer comes back as it is, streamed (a page, a
static file, the notification stream), headers and all (several ``Set-Cookie`` included;
compressed bodies stay compressed). Pages are not part of the API, so they are not in the
route table nor in the OpenAPI document.

The gateway vouches for the reader's address to the web service, signed as it does for the
services (hackathon_shared.client_address); the web service hands that header back on its
API calls, and the gateway's edge believes it (gateway.edge), so rate limits count the
reader, not the web service."""

from __future__ import annotations

from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway.edge import client_address
from gateway.proxy import passed_on
from gateway.upstream import UpstreamClient, UpstreamTimeout, UpstreamUnavailable
from hackathon_shared.client_address import CLIENT_HEADER, ClientAttestation
from hackathon_shared.problems import service_unavailable, upstream_timeout

FORWARDED = (
    "accept",
    "accept-encoding",
    "accept-language",
    "content-type",
    "cookie",
    "last-event-id",
    "user-agent",
    "x-request-id",
)
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "server", "date"}
)
PAGE_METHODS = ["GET", "HEAD", "POST"]


class WebPages:
    def __init__(self, url: str, client: UpstreamClient, secret: str) -> None:
        self.url = url.rstrip("/")
        self.client = client
        self.attestation = ClientAttestation(secret)

    async def forward(self, request: Request) -> Response:
        headers = {k: v for k in FORWARDED if (v := request.headers.get(k)) is not None}
        headers["x-request-id"] = request.state.request_id
        headers[CLIENT_HEADER] = self.attestation.header_value(client_address(request))
        body = await request.body() if request.method == "POST" else None
        try:
            upstream = await self.client.send(
                request.method,
                self.url,
                request.url.path,
                query_string=request.scope["query_string"].decode("latin-1"),
                headers=headers,
                body=body,
                stream=True,
            )
        except UpstreamTimeout:
            return upstream_timeout("web").response()
        except UpstreamUnavailable:
            return service_unavailable("web").response()
        response = StreamingResponse(
            passed_on(upstream),
            status_code=upstream.status,
            background=BackgroundTask(upstream.release),
        )
        response.raw_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in upstream.headers.items()
            if name.lower() not in HOP_BY_HOP
        ]
        return response
