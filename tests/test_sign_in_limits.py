"""Sign-in limits that cannot lock the owner out, and client addresses nobody can choose, on
the session's platform (real services, real broker, real databases).

An attacker's address guessing someone's password is refused after a few failures; the owner,
from another address, signs in at once; the organizer too. The attacker and the owner are
two clients of a gateway of this test's own (in this process, each from an address of its
own), in front of the platform's services, which learn each client's address from that
gateway's signed header. A spoofed ``X-Forwarded-For`` sent to the platform's own gateway
process (as any local program could) neither moves the client into another rate-limit bucket
nor changes the client the gateway records; sent straight to registration, with or without a
forged gateway header, it changes nothing either."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hackathon_shared.client_address import CLIENT_HEADER
from tests.journey_helpers import assert_problem, new_person
from tests.platform_fixtures import ORGANIZER, PASSWORD, Api
from tests.polling import wait_until
from tests.test_gateway_edge import edge_app

Json = dict[str, Any]


def from_address(app: Any, address: str) -> httpx.AsyncClient:
    """A client of the in-process gateway ``app``, connecting from ``address``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)),
        base_url="http://gateway.test/api/v1",
        timeout=15,
    )


def some_address(prefix: str = "10.9") -> str:
    return f"{prefix}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


async def sign_in(client: httpx.AsyncClient, email: str, password: str, **headers: str) -> Any:
    return await client.post(
        "/auth/token", json={"email": email, "password": password}, headers=headers
    )


async def fail_five_times(client: httpx.AsyncClient, email: str, **headers: str) -> None:
    for guess in range(5):
        wrong = await sign_in(client, email, f"guess number {guess}", **headers)
        assert_problem(wrong, 401, "invalid-credentials")


@pytest.fixture
async def gateway(api: Api) -> AsyncIterator[Any]:
    """A gateway of this test's own with a sign-in limit that leaves room for the test."""
    yield edge_app(api, rate_limit_sign_in="1000/minute")


# --------------------------------------------------------------------------------------------
# Nobody can lock anyone out
# --------------------------------------------------------------------------------------------


async def test_an_attacker_is_limited_and_the_owner_signs_in_at_once(
    api: Api, gateway: Any
) -> None:
    victim = await new_person(api, "Victim")
    async with (
        from_address(gateway, some_address()) as attacker,
        from_address(gateway, some_address("10.8")) as owner,
    ):
        await fail_five_times(attacker, victim.email)
        limited = await sign_in(attacker, victim.email, "guess number 6")
        assert_problem(limited, 429, "too-many-sign-in-attempts")
        assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60
        # The attacker's address stays limited even with the right password...
        assert_problem(await sign_in(attacker, victim.email, PASSWORD), 429)

        # ...while the owner, from their own address, signs in at once.
        signed_in = await sign_in(owner, victim.email, PASSWORD)
        assert signed_in.status_code == 200, signed_in.text
        me = await owner.get(
            "/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        )
        assert me.json()["account_id"] == victim.account_id


async def test_nobody_can_lock_the_organizer_out(api: Api, gateway: Any) -> None:
    async with from_address(gateway, some_address()) as attacker:
        await fail_five_times(attacker, ORGANIZER[0])
        assert_problem(await sign_in(attacker, *ORGANIZER), 429, "too-many-sign-in-attempts")
    # The organizer, through the platform's gateway, from their own address.
    assert (await api.organizer())["Authorization"].startswith("Bearer ")


# --------------------------------------------------------------------------------------------
# Spoofed forwarding headers
# --------------------------------------------------------------------------------------------


def _spoofs(number: int) -> dict[str, str]:
    """Forwarding headers claiming another client each time."""
    return {
        "X-Forwarded-For": f"198.51.100.{number + 1}",
        "Forwarded": f"for=198.51.100.{number + 101}",
    }


async def test_a_spoofed_forwarded_for_neither_changes_the_key_nor_the_recorded_client(
    api: Api,
) -> None:
    victim = await new_person(api, "Spoofed")
    # The platform's own gateway process, reached from 127.0.0.1 like any local program.
    for attempt in range(5):
        wrong = await sign_in(api.http, victim.email, f"guess {attempt}", **_spoofs(attempt))
        assert_problem(wrong, 401, "invalid-credentials")
    # Every guess counted against the one real client: this address is limited, whatever it
    # claims, and even with the right password.
    request_id = f"spoof-{secrets.token_hex(6)}"
    limited = await sign_in(
        api.http, victim.email, PASSWORD, **_spoofs(7), **{"X-Request-ID": request_id}
    )
    assert_problem(limited, 429, "too-many-sign-in-attempts")

    # The gateway recorded the connection's address, not the one claimed.
    log = api.platform.config.data_dir / "logs" / "gateway.log"

    def recorded() -> Json | None:
        for line in log.read_text().splitlines():
            if request_id in line:
                entry: Json = json.loads(line)
                if entry.get("request_id") == request_id and entry.get("status") == 429:
                    return entry
        return None

    entry = await wait_until(recorded, timeout=10, message="the gateway's access line")
    assert entry is not None and entry["client"] == "127.0.0.1", entry


async def test_a_spoofed_gateway_header_sent_straight_to_registration_changes_nothing(
    api: Api,
) -> None:
    victim = await new_person(api, "Direct")
    forged_mac = "0" * 64
    async with httpx.AsyncClient(
        base_url=api.platform.service_url("registration"), timeout=15
    ) as direct:
        for attempt in range(5):
            forged = {CLIENT_HEADER: f"203.0.113.{attempt + 1};mac={forged_mac}"}
            wrong = await sign_in(
                direct, victim.email, f"guess {attempt}", **_spoofs(attempt), **forged
            )
            assert_problem(wrong, 401, "invalid-credentials")
        limited = await sign_in(direct, victim.email, PASSWORD, **_spoofs(9))
        assert_problem(limited, 429, "too-many-sign-in-attempts")
    # Those guesses were this machine's, not the gateway's clients': the owner, through the
    # gateway from an address of their own, is not held back.
    async with from_address(edge_app(api), some_address()) as owner:
        assert (await sign_in(owner, victim.email, PASSWORD)).status_code == 200


async def test_the_gateway_rate_limit_counts_the_real_client_whatever_it_claims(
    api: Api,
) -> None:
    app = edge_app(api)  # 4 sign-ins a minute per client
    async with from_address(app, some_address()) as client:
        tries = [
            await sign_in(client, "nobody@example.org", "whatever it is", **_spoofs(n))
            for n in range(5)
        ]
    assert [t.status_code for t in tries[:4]] == [401] * 4
    assert_problem(tries[4], 429, "rate-limited")


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.7.0.0/16")
    app = edge_app(api, trusted_proxies="10.7.0.0/16", rate_limit_sign_in="5/minute")
    first, second = some_address("192.0"), some_address("172.16")
    victim = await new_person(api, "Proxied")
    async with from_address(app, some_address("10.7")) as proxy:
        # A client behind the proxy claims an address of its choosing on the left; the proxy
        # appends the address it saw, and that one counts: five failures, then the gateway's
        # limit for that client.
        claims = {"X-Forwarded-For": f"198.51.100.200, {first}"}
        await fail_five_times(proxy, victim.email, **claims)
        assert_problem(await sign_in(proxy, victim.email, PASSWORD, **claims), 429, "rate-limited")
        # Another client behind the same proxy has a budget of its own, at the gateway and at
        # registration (which would refuse it, had it counted the first one's failures).
        other = await sign_in(proxy, victim.email, PASSWORD, **{"X-Forwarded-For": second})
        assert other.status_code == 200, other.text
