"""Who the client is: the connection's peer, unless that peer is a proxy the operator trusts.

Only then is the proxies' own record read, from the one header they are configured to write
(``FORWARDED_HEADER``: ``X-Forwarded-For``, or RFC 7239 ``Forwarded``); the other one is
ignored, since a proxy that writes one passes the other on as the client sent it. The record
is read from its right end, the hop nearest to the gateway: each address a trusted proxy
reports is believed, and the first one that is not itself a trusted proxy is the client. An
entry that is not an address (``unknown``, an obfuscated ``_name``, a missing ``for=``) ends
the walk at the proxy that reported it, so a client can never choose its own address by
writing one. With no trusted proxies (``TRUSTED_PROXIES`` empty, the default) the headers are
never read. See docs/sign-in-and-proxies.md."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal

ForwardedHeader = Literal["x-forwarded-for", "forwarded"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

UNKNOWN = "unknown"  # no peer at all (not over TCP): every such caller shares one key


def parse_networks(text: str) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES``: addresses or networks (CIDR), separated by commas or spaces."""
    networks: list[Network] = []
    for entry in text.replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as error:
            raise ValueError(f"not an address or a network: {entry!r}") from error
    return tuple(networks)


@lru_cache(maxsize=8192)  # the same peers and proxies come again and again
def parse_address(text: str) -> Address | None:
    """An address as a header or a peer gives it: bare, with a port (``192.0.2.1:80``,
    ``[2001:db8::1]:80``), quoted; an IPv4 address mapped into IPv6 is the IPv4 address."""
    text = text.strip().strip('"').strip()
    port = ""
    if text.startswith("[") and "]" in text:
        text, _, rest = text[1:].partition("]")
        if rest:
            port = rest[1:] if rest.startswith(":") else "not a port"
    elif text.count(":") == 1:  # IPv4 with a port (IPv6 has at least two colons)
        text, _, port = text.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def forwarded_for(value: str) -> list[Address | None]:
    """The ``for=`` address of each element of a ``Forwarded`` value, left to right (None
    where an element has none, or not an address)."""
    hops: list[Address | None] = []
    for element in _split_outside_quotes(value, ","):
        if not element.strip():
            continue
        found: Address | None = None
        for pair in _split_outside_quotes(element, ";"):
            name, _, raw = pair.partition("=")
            if name.strip().lower() == "for":
                found = parse_address(raw)
                break
        hops.append(found)
    return hops


def x_forwarded_for(value: str) -> list[Address | None]:
    return [parse_address(entry) for entry in value.split(",") if entry.strip()]


class ClientResolver:
    """The client's address for one request, as the text used for rate-limit keys and logs."""

    def __init__(
        self, trusted: Iterable[Network] = (), header: ForwardedHeader = "x-forwarded-for"
    ) -> None:
        self.trusted = tuple(trusted)
        self.header = header.encode()
        self._parse = forwarded_for if header == "forwarded" else x_forwarded_for

    def is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def resolve(self, peer: str | None, headers: Iterable[tuple[bytes, bytes]]) -> str:
        if peer is None:
            return UNKNOWN
        peer_address = parse_address(peer)
        if peer_address is None:
            return peer  # not an IP peer (a Unix socket's path): as it is
        if not self.trusted or not self.is_trusted(peer_address):
            return str(peer_address)
        values = [v.decode("latin-1") for k, v in headers if k.lower() == self.header]
        client = peer_address
        for hop in reversed(self._parse(", ".join(values))):
            if hop is None:
                break  # unreadable: the proxy that reported it is as far as we can tell
            client = hop
            if not self.is_trusted(hop):
                break
        return str(client)
