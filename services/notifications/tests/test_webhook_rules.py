"""Webhook rules: the signature a receiver can check, which URLs are acceptable, and which
addresses a delivery may never reach. Resolution is local only (literals and localhost)."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.adapters.webhook_client import check_destination
from notifications.domain.webhooks import (
    UnsafeWebhookUrl,
    host_and_port,
    refused_addresses,
    sign,
    signature_matches,
)

# --------------------------------------------------------------------------------------------
# Signing
# --------------------------------------------------------------------------------------------

BODY = b'{"type":"ResultsPublished","payload":{"hackathon_id":"hk_1"}}'


def independent_signature(secret: str, body: bytes) -> str:
    mac = hmac.HMAC(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(body)
    return "sha256=" + mac.hexdigest()


def test_sign_is_hmac_sha256_of_the_exact_bytes_in_hex() -> None:
    assert sign("s3cret", BODY) == independent_signature("s3cret", BODY)
    # A known answer, fixed once, so a change of algorithm or encoding cannot pass unseen.
    assert sign("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@settings(max_examples=200, deadline=None)
@given(secret=st.text(max_size=64), body=st.binary(max_size=512))
def test_sign_matches_an_independent_hmac_for_any_secret_and_body(secret: str, body: bytes) -> None:
    signature = sign(secret, body)
    assert signature == independent_signature(secret, body)
    assert signature_matches(secret, body, signature)


def test_signature_is_over_bytes_not_over_equivalent_json() -> None:
    reordered = b'{"payload":{"hackathon_id":"hk_1"},"type":"ResultsPublished"}'
    assert sign("s3cret", BODY) != sign("s3cret", reordered)
    assert sign("s3cret", BODY) != sign("s3cret", BODY + b"\n")


def test_signature_matches_rejects_a_changed_body_or_another_secret() -> None:
    signature = sign("s3cret", BODY)
    assert signature_matches("s3cret", BODY, signature)
    assert not signature_matches("s3cret", BODY.replace(b"hk_1", b"hk_2"), signature)
    assert not signature_matches("s3cret", BODY + b" ", signature)
    assert not signature_matches("S3cret", BODY, signature)
    assert not signature_matches("", BODY, signature)
    assert not signature_matches("s3cret", BODY, signature.removeprefix("sha256="))
    assert not signature_matches("s3cret", BODY, signature.upper())
    assert not signature_matches("s3cret", BODY, "")


@settings(max_examples=200, deadline=None)
@given(
    secret=st.text(min_size=1, max_size=32),
    body=st.binary(min_size=1, max_size=256),
    position=st.integers(min_value=0),
    flip=st.integers(min_value=1, max_value=255),
)
def test_any_changed_byte_breaks_the_signature(
    secret: str, body: bytes, position: int, flip: int
) -> None:
    changed = bytearray(body)
    changed[position % len(body)] ^= flip
    assert not signature_matches(secret, bytes(changed), sign(secret, body))


# --------------------------------------------------------------------------------------------
# Acceptable URLs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://hooks.example.org/in", ("hooks.example.org", 443)),
        ("http://hooks.example.org/in", ("hooks.example.org", 80)),
        ("https://hooks.example.org:8443/in?x=1", ("hooks.example.org", 8443)),
        ("HTTPS://Hooks.Example.org/in", ("hooks.example.org", 443)),
        ("http://[2606:4700::1111]:8080/in", ("2606:4700::1111", 8080)),
        ("http://93.184.216.34/in", ("93.184.216.34", 80)),
    ],
)
def test_host_and_port_of_acceptable_urls(url: str, expected: tuple[str, int]) -> None:
    assert host_and_port(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.org/in", "http"),
        ("file:///etc/passwd", "http"),
        ("gopher://hooks.example.org/", "http"),
        ("hooks.example.org/in", "http"),
        ("", "http"),
        ("http:///in", "host"),
        ("https://", "host"),
        ("http://user:pw@hooks.example.org/in", "credentials"),
        ("http://user@hooks.example.org/in", "credentials"),
        ("http://:pw@hooks.example.org/in", "credentials"),
        ("http://hooks.example.org:99999/in", "valid"),
        ("http://hooks.example.org:65536/in", "valid"),
        ("http://hooks.example.org:-1/in", "valid"),
        ("http://hooks.example.org:http/in", "valid"),
        ("http://[::1/in", "valid"),
    ],
)
def test_host_and_port_refuses_unacceptable_urls(url: str, reason: str) -> None:
    with pytest.raises(UnsafeWebhookUrl) as refused:
        host_and_port(url)
    assert reason in str(refused.value)


def test_unsafe_url_is_a_value_error() -> None:
    assert issubclass(UnsafeWebhookUrl, ValueError)


# --------------------------------------------------------------------------------------------
# Refused addresses
# --------------------------------------------------------------------------------------------

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # shared address space (carrier-grade NAT)
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
    "239.255.255.250",
    "192.0.2.1",  # documentation
    "240.0.0.1",  # reserved
    "::1",
    "::",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:192.168.0.1",
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2001:4860:4860::8888"]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_addresses_that_are_not_public_are_refused(address: str) -> None:
    assert len(refused_addresses([address])) == 1


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(address: str) -> None:
    assert refused_addresses([address]) == []


def test_one_private_address_among_public_ones_is_named() -> None:
    assert refused_addresses(["93.184.216.34", "10.0.0.1", "2606:4700::1111"]) == ["10.0.0.1"]
    # An IPv4-mapped address is named as the IPv4 address it reaches.
    assert refused_addresses(["::ffff:10.0.0.1"]) == ["10.0.0.1"]


def test_the_edges_of_the_private_ranges() -> None:
    assert refused_addresses(["172.15.255.255", "172.32.0.0", "11.0.0.0", "9.255.255.255"]) == []
    assert refused_addresses(["192.169.0.1", "169.253.255.255", "fbff::1", "fe00::1"]) == []


@pytest.mark.parametrize(
    "address",
    [
        # NAT64's well-known prefix is global by IANA's registry, so ipaddress accepts it
        # whatever the Python version; where a NAT64 gateway exists it reaches 10.0.0.1.
        "64:ff9b::a00:1",
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "::7f00:1",  # IPv4-compatible form of 127.0.0.1
        "fec0::1",  # deprecated site-local
        "64:ff9b:1::a00:1",  # the local-use NAT64 prefix
    ],
)
def test_ipv6_translations_of_private_ipv4_addresses_are_refused(address: str) -> None:
    assert refused_addresses([address]) != []


# --------------------------------------------------------------------------------------------
# check_destination (local resolution only)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:9/x",
        "http://127.0.0.1/x",
        "http://[::1]:8080/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://0.0.0.0:8000/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://2130706433/x",  # 127.0.0.1 written as one number
        "http://0x7f.1/x",  # 127.0.0.1 in the resolver's short hex form
    ],
)
async def test_check_destination_refuses_private_destinations(url: str) -> None:
    with pytest.raises(UnsafeWebhookUrl, match="private, loopback or reserved"):
        await check_destination(url, allow_private=False)


@pytest.mark.parametrize("url", ["http://localhost:9/x", "http://127.0.0.1/x", "http://[::1]/x"])
async def test_check_destination_accepts_private_destinations_when_allowed(url: str) -> None:
    await check_destination(url, allow_private=True)


async def test_check_destination_accepts_a_public_address_literal() -> None:
    await check_destination("https://93.184.216.34/hook", allow_private=False)
    await check_destination("https://[2606:4700::1111]/hook", allow_private=False)


@pytest.mark.parametrize("allow_private", [False, True])
async def test_check_destination_refuses_bad_urls_whatever_the_setting(
    allow_private: bool,
) -> None:
    for url in ("ftp://127.0.0.1/x", "http://user:pw@localhost/x", "http:///x"):
        with pytest.raises(UnsafeWebhookUrl):
            await check_destination(url, allow_private=allow_private)
