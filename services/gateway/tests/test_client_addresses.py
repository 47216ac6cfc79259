"""Who the client is, without I/O: forwarding headers are believed only from trusted proxies,
read from the hop nearest the gateway, and a client can never choose its own address; the
address reaches the services signed, and a service believes nothing else."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.forwarded import ClientResolver, forwarded_for, parse_address, parse_networks
from gateway.settings import GatewaySettings
from hackathon_shared.client_address import ClientAttestation

PROXY = "10.0.0.5"
TRUSTED = parse_networks("10.0.0.0/24, 2001:db8:ffff::/48")


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    return [(name.replace("_", "-").encode(), value.encode()) for name, value in values.items()]


def test_without_trusted_proxies_the_headers_are_never_read() -> None:
    resolver = ClientResolver()
    spoofed = headers(x_forwarded_for="198.51.100.1", forwarded="for=198.51.100.2")
    assert resolver.resolve("127.0.0.1", spoofed) == "127.0.0.1"
    assert resolver.resolve(PROXY, spoofed) == PROXY


def test_a_client_that_is_not_a_trusted_proxy_is_itself_the_client() -> None:
    resolver = ClientResolver(TRUSTED)
    assert resolver.resolve("203.0.113.9", headers(x_forwarded_for="198.51.100.1")) == (
        "203.0.113.9"
    )


def test_the_hop_nearest_the_gateway_that_is_not_a_proxy_is_the_client() -> None:
    resolver = ClientResolver(TRUSTED)
    # The client wrote a first entry itself; the proxy appended the address it saw.
    chain = headers(x_forwarded_for="1.1.1.1, 198.51.100.7")
    assert resolver.resolve(PROXY, chain) == "198.51.100.7"
    # Two proxies of ours in a row: the walk goes past both.
    chain = headers(x_forwarded_for="1.1.1.1, 198.51.100.7, 10.0.0.9")
    assert resolver.resolve(PROXY, chain) == "198.51.100.7"
    # Several header lines count as one list, in order.
    split = [(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-for", b"198.51.100.8")]
    assert resolver.resolve(PROXY, split) == "198.51.100.8"
    # The proxy sent no header: the proxy is all we know.
    assert resolver.resolve(PROXY, []) == PROXY


def test_an_entry_that_is_not_an_address_stops_at_the_proxy_that_wrote_it() -> None:
    resolver = ClientResolver(TRUSTED)
    assert resolver.resolve(PROXY, headers(x_forwarded_for="198.51.100.7, unknown")) == PROXY
    assert resolver.resolve(PROXY, headers(x_forwarded_for="")) == PROXY


def test_only_the_configured_header_is_read() -> None:
    both = headers(x_forwarded_for="198.51.100.1", forwarded="for=198.51.100.2")
    assert ClientResolver(TRUSTED).resolve(PROXY, both) == "198.51.100.1"
    assert ClientResolver(TRUSTED, "forwarded").resolve(PROXY, both) == "198.51.100.2"


def test_forwarded_elements_are_read_as_rfc_7239_writes_them() -> None:
    value = (
        'for="_hidden", For="[2001:db8:cafe::17]:4711";proto=https, '
        'for=192.0.2.60;by=10.0.0.5, by=10.0.0.6, for="198.51.100.3:80;x"'
    )
    assert [str(a) if a else None for a in forwarded_for(value)] == [
        None,
        "2001:db8:cafe::17",
        "192.0.2.60",
        None,
        None,
    ]
    resolver = ClientResolver(TRUSTED, "forwarded")
    assert resolver.resolve(PROXY, headers(forwarded="for=1.1.1.1, for=192.0.2.60")) == (
        "192.0.2.60"
    )


def test_addresses_are_compared_and_reported_in_one_form() -> None:
    assert str(parse_address("::ffff:192.0.2.1")) == "192.0.2.1"
    assert str(parse_address("[2001:DB8::1]:443")) == "2001:db8::1"
    assert str(parse_address(" 192.0.2.1:8080 ")) == "192.0.2.1"
    assert parse_address("gateway.example") is None
    resolver = ClientResolver(TRUSTED)
    assert resolver.resolve("::ffff:10.0.0.5", headers(x_forwarded_for="192.0.2.1")) == (
        "192.0.2.1"
    )
    assert resolver.resolve("2001:db8:ffff::2", headers(x_forwarded_for="192.0.2.1")) == (
        "192.0.2.1"
    )


def test_trusted_proxies_that_are_not_addresses_stop_the_gateway_from_starting() -> None:
    assert GatewaySettings(trusted_proxies="10.0.0.1, 192.168.0.0/16").client_resolver()
    with pytest.raises(ValidationError, match=r"not an address or a network: 'proxy\.local'"):
        GatewaySettings(trusted_proxies="10.0.0.1, proxy.local")
    with pytest.raises(ValidationError):
        GatewaySettings(forwarded_header="x-real-ip")
    assert GatewaySettings(forwarded_header="Forwarded").forwarded_header == "forwarded"


def test_a_service_believes_only_the_gateways_signature() -> None:
    gateway = ClientAttestation("the platform's shared secret")
    signed = gateway.header_value("198.51.100.7")
    service = ClientAttestation("the platform's shared secret")
    assert service.verified(signed) == "198.51.100.7"
    mac = signed.partition(";mac=")[2]
    assert service.verified(f"203.0.113.1;mac={mac}") is None  # another address, same MAC
    assert service.verified("198.51.100.7") is None  # no MAC
    assert service.verified(None) is None
    assert ClientAttestation("another platform's secret").verified(signed) is None


async def test_the_edge_believes_its_own_signed_word_for_a_reader_and_nothing_else() -> None:
    """The web app hands back the header the gateway signed for its reader (gateway.pages):
    the edge takes that address; a header it did not sign changes nothing."""
    from starlette.types import Message, Receive, Scope, Send

    from gateway.edge import EdgeContext
    from hackathon_shared.client_address import CLIENT_HEADER

    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["state"]["client_address"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    attestation = ClientAttestation("a secret of the platform, long enough")
    edge = EdgeContext(app, hsts_seconds=0, clients=ClientResolver(), attestation=attestation)

    async def call(header: str | None) -> None:
        extra = [(CLIENT_HEADER.encode(), header.encode())] if header else []
        scope = {"type": "http", "method": "GET", "path": "/", "headers": extra,
                 "client": ("127.0.0.1", 5000), "query_string": b""}  # fmt: skip

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(_message: Message) -> None:
            return None

        await edge(scope, receive, send)

    await call(attestation.header_value("203.0.113.7"))
    await call("203.0.113.8;mac=" + "0" * 64)  # forged
    await call(ClientAttestation("another secret entirely, also long").header_value("198.51.100.9"))
    await call(None)
    assert seen == ["203.0.113.7", "127.0.0.1", "127.0.0.1", "127.0.0.1"]
