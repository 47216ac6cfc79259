"""The caller's address, as the gateway vouches for it to the services.

The services sit behind the gateway, so the connection a service sees comes from the gateway,
not from the person. The gateway therefore tells the service who the client is, in a header
of its own (:data:`CLIENT_HEADER`) that carries the address and an HMAC-SHA256 of it. The key
is derived from the platform's shared secret (``HACKATHON_JWT_SECRET``, which the gateway and
every service hold already) for this one purpose, so it signs nothing else and nothing signed
with the secret for another purpose passes as a client address.

A service believes the header only when the MAC checks: any other process that can reach a
service's port (the run command binds every service on 127.0.0.1, next to whatever else runs
there) cannot name a client of its choosing, and ``X-Forwarded-For`` is never read by the
services at all (their uvicorn runs with ``--no-proxy-headers``). Without a valid header the
client is the connection's own peer. See docs/sign-in-and-proxies.md."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

CLIENT_HEADER = "x-hackathon-client"
_PURPOSE = b"hackathon client address v1"
_LONGEST_ADDRESS = 64  # an IPv6 address with a zone fits; anything longer is not an address


class ClientAttestation:
    """Signs (gateway) and checks (services) the client address header."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
        # The same few addresses come again and again: each is signed once.
        self.header_value = lru_cache(maxsize=4096)(self._header_value)

    def _mac(self, address: str) -> str:
        return hmac.new(self._key, address.encode(), hashlib.sha256).hexdigest()

    def _header_value(self, address: str) -> str:
        return f"{address};mac={self._mac(address)}"

    def verified(self, value: str | None) -> str | None:
        """The address a header value vouches for, or None when it is absent or not the
        gateway's (no MAC, a wrong one, or not the expected form)."""
        if not value:
            return None
        address, separator, mac = value.partition(";mac=")
        if not separator or not address or len(address) > _LONGEST_ADDRESS:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(address).encode()):
            return None
        return address
