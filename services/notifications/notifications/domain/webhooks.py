"""Webhook rules: which URLs may receive a hackathon's events, and how a delivery is signed."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Webhook-Timestamp"
DELIVERY_HEADER = "X-Webhook-Delivery"
EVENT_TYPE_HEADER = "X-Event-Type"


NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
# IPv6 ranges that reach inside a network although ipaddress may call them global: the local
# NAT64 prefix, deprecated site-local addresses, and IPv4-compatible addresses (::a.b.c.d).
INTERNAL_IPV6 = (
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("fec0::/10"),
    ipaddress.IPv6Network("::/96"),
)


class UnsafeWebhookUrl(ValueError):
    """The URL may not receive webhooks; the message says why (safe to show the organizer)."""


def sign(secret: str, body: bytes) -> str:
    """The ``X-Signature`` value of a body: ``sha256=`` and the hex HMAC-SHA256 of the exact
    bytes sent, keyed by the webhook's secret."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_matches(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def host_and_port(url: str) -> tuple[str, int]:
    """The host and port of an acceptable webhook URL (http or https, with a host, no
    credentials in it); raises :class:`UnsafeWebhookUrl` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeWebhookUrl(f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeWebhookUrl("the URL must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeWebhookUrl("the URL must name a host")
    if port == 0:
        raise UnsafeWebhookUrl("the URL's port must not be 0")
    if parts.username is not None or parts.password is not None:
        raise UnsafeWebhookUrl("the URL must not carry credentials; use the secret")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def refused_addresses(addresses: Iterable[str]) -> list[str]:
    """The addresses a webhook may not be sent to: anything not globally routable (private,
    loopback, link-local, reserved, shared, unspecified) and multicast."""
    refused = []
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            # IPv6 forms that lead to an IPv4 address: judged by that address too.
            embedded = [address.ipv4_mapped, address.sixtofour]
            if address in NAT64_PREFIX:
                embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
            candidates.extend(e for e in embedded if e is not None)
        internal = isinstance(address, ipaddress.IPv6Address) and any(
            address in network for network in INTERNAL_IPV6
        )
        if internal or any(not a.is_global or a.is_multicast for a in candidates):
            mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
            refused.append(str(mapped or address))
    return refused
