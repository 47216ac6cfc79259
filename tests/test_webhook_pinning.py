"""A webhook goes to the address that was checked, whatever the name resolves to afterwards
(DNS rebinding), with the URL's host kept for HTTP (and TLS)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from notifications.adapters.webhook_client import WebhookClient, check_destination, pinned
from notifications.domain.webhooks import UnsafeWebhookUrl
from tests.webhook_receiver import webhook_receiver


class RebindingResolver:
    """Answers the checked address first, and a different one on every later lookup."""

    def __init__(self, first: str, later: str) -> None:
        self.first, self.later, self.calls = first, later, 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [self.first] if self.calls == 1 else [self.later]


async def test_the_delivery_goes_to_the_checked_address_with_the_urls_host() -> None:
    with webhook_receiver(fail_first_attempt=False) as receiver:
        port = urlsplit(receiver.url).port
        url = f"http://receiver.invalid:{port}/hooks?x=1"  # a name no DNS server knows
        resolver = RebindingResolver("127.0.0.1", "10.255.255.1")
        client = WebhookClient(timeout=5, allow_private=True, resolver=resolver)
        try:
            await client.post(url, b'{"a":1}', {"x-signature": "sha256=00"})
        finally:
            await client.close()
        [received] = receiver.all()
    assert resolver.calls == 1  # resolved once: checked and used
    assert received.headers["host"] == f"receiver.invalid:{port}"
    assert received.path == "/hooks?x=1"
    assert received.body == b'{"a":1}'


async def test_a_name_resolving_to_a_private_address_is_refused_before_any_request() -> None:
    resolver = RebindingResolver("10.0.0.7", "93.184.216.34")
    with pytest.raises(UnsafeWebhookUrl) as refused:
        await check_destination("https://hooks.example.org/x", False, resolver)
    assert "10.0.0.7" not in str(refused.value)  # the internal address is not revealed
    assert await check_destination("https://hooks.example.org/x", False, resolver) == [
        "93.184.216.34"
    ]


def test_a_pinned_url_keeps_the_host_for_http_and_tls() -> None:
    target, headers, extensions = pinned("https://hooks.example.org/in?k=v", "2606:4700::1111")
    assert target == "https://[2606:4700::1111]:443/in?k=v"
    assert headers == {"host": "hooks.example.org"}
    assert extensions == {"sni_hostname": "hooks.example.org"}
    target, headers, extensions = pinned("http://h.example.org:8080", "93.184.216.34")
    assert target == "http://93.184.216.34:8080/"
    assert headers == {"host": "h.example.org:8080"} and extensions == {}
