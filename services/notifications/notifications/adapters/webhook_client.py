"""Posting a webhook delivery over HTTP, after checking where the URL leads."""

from __future__ import annotations

import asyncio
import socket

import httpx

from notifications.domain.webhooks import UnsafeWebhookUrl, host_and_port, refused_addresses


async def check_destination(url: str, allow_private: bool) -> None:
    """Raise :class:`UnsafeWebhookUrl` unless ``url`` is an http(s) URL whose host resolves,
    and only to public addresses (any address when ``allow_private``)."""
    host, port = host_and_port(url)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise UnsafeWebhookUrl(f"the host {host} does not resolve") from None
    refused = refused_addresses(str(info[4][0]) for info in infos)
    if refused:
        # Without the addresses: they would tell an organizer about the internal network.
        raise UnsafeWebhookUrl(
            f"the host {host} resolves to a private, loopback or reserved address, "
            "which may not receive webhooks"
        )


class WebhookClient:
    def __init__(self, timeout: float, allow_private: bool) -> None:
        self.allow_private = allow_private
        # No redirects: a public URL must not bounce the delivery to a private one.
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST once; raises unless the receiver answers 2xx."""
        await check_destination(url, self.allow_private)
        # Only the status matters: the answer's body is never read (it may be endless).
        async with self.client.stream(
            "POST", url, content=body, headers={"content-type": "application/json", **headers}
        ) as answer:
            status = answer.status_code
        if not 200 <= status < 300:
            raise WebhookRefused(f"the receiver answered {status}")


class WebhookRefused(Exception):
    pass
