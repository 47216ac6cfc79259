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
        raise UnsafeWebhookUrl(
            f"the host {host} resolves to a private, loopback or reserved address "
            f"({', '.join(sorted(set(refused)))}), which may not receive webhooks"
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
        answer = await self.client.post(
            url, content=body, headers={"content-type": "application/json", **headers}
        )
        if not 200 <= answer.status_code < 300:
            raise WebhookRefused(f"the receiver answered {answer.status_code}")


class WebhookRefused(Exception):
    pass
