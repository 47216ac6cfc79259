"""Posting a webhook delivery over HTTP, to an address checked just before.

The host is resolved once, its addresses are checked, and the request is sent to the first
checked address itself (the URL's host kept in the ``Host`` header and, for https, as the TLS
server name, so certificates are verified against it). A DNS answer that changes between the
check and the connection (DNS rebinding) therefore cannot send the delivery elsewhere."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import httpx

from notifications.domain.webhooks import UnsafeWebhookUrl, host_and_port, refused_addresses

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""Resolves a host and port to its addresses (text), raising OSError when it cannot."""


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_destination(
    url: str, allow_private: bool, resolver: Resolver = system_resolver
) -> list[str]:
    """The addresses ``url``'s host resolves to, once checked: an http(s) URL whose host
    resolves, and only to public addresses (any address when ``allow_private``). Raises
    :class:`UnsafeWebhookUrl` otherwise."""
    host, port = host_and_port(url)
    try:
        addresses = await resolver(host, port)
    except OSError:
        raise UnsafeWebhookUrl(f"the host {host} does not resolve") from None
    if not addresses:
        raise UnsafeWebhookUrl(f"the host {host} does not resolve")
    if not allow_private and refused_addresses(addresses):
        # Without the addresses: they would tell an organizer about the internal network.
        raise UnsafeWebhookUrl(
            f"the host {host} resolves to a private, loopback or reserved address, "
            "which may not receive webhooks"
        )
    return addresses


def pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL aimed at ``address``, with the headers and request extensions that keep the
    original host for HTTP and TLS."""
    parts = urlsplit(url)
    host, port = host_and_port(url)
    literal = f"[{address}]" if ":" in address else address
    target = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    headers = {"host": parts.netloc}
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, headers, extensions


class WebhookClient:
    def __init__(
        self, timeout: float, allow_private: bool, resolver: Resolver = system_resolver
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        # No redirects: a public URL must not bounce the delivery to a private one.
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        """POST once to the checked address; raises unless the receiver answers 2xx."""
        addresses = await check_destination(url, self.allow_private, self.resolver)
        target, host_headers, extensions = pinned(url, addresses[0])
        # Only the status matters: the answer's body is never read (it may be endless).
        async with self.client.stream(
            "POST",
            target,
            content=body,
            headers={"content-type": "application/json", **headers, **host_headers},
            extensions=extensions,
        ) as answer:
            status = answer.status_code
        if not 200 <= status < 300:
            raise WebhookRefused(f"the receiver answered {status}")


class WebhookRefused(Exception):
    pass
