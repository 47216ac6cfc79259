"""The web app on a slow phone's terms: the time to first byte of its main pages through the
gateway, and what each page costs to transfer (compressed), on the platform the run command
starts (embedded broker, SQLite).

Baseline, measured in the same run: the API call each page is built from, through the same
gateway (the page adds its own rendering and its calls' round trips to it). Pages are fetched
as a signed-in participant, whose pages also read the account and the unread count.

    .venv/bin/python bench/web_pages.py [--rounds 60]
"""

from __future__ import annotations

import argparse
import re
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from table import Row, print_rows

from hackathon_cli.platform import Platform, PlatformConfig
from hackathon_shared.ports import free_port

BENCH = "web"
ORGANIZER = ("bench-organizer@example.org", "bench-organizer-password")
PASSWORD = "bench password 1234"
RAISED_LIMITS = {
    "RATE_LIMIT_SIGN_UP": "100000/minute",
    "RATE_LIMIT_SIGN_IN": "100000/minute",
    "RATE_LIMIT_WRITES": "100000/minute",
}


def first_byte(client: httpx.Client, path: str) -> tuple[float, int]:
    """Seconds until the answer's first body byte, and the bytes on the wire (compressed)."""
    started = time.perf_counter()
    with client.stream("GET", path) as answer:
        chunks = answer.iter_raw()
        first = next(chunks, b"")
        elapsed = time.perf_counter() - started
        size = len(first) + sum(len(chunk) for chunk in chunks)
        assert answer.status_code == 200, (path, answer.status_code)
    return elapsed, size


def hackathon_body() -> dict[str, object]:
    return {
        "name": "Digital Citizenship Hackathon",
        "description": "Trustworthy e-government, digital skills, municipal services.",
        "challenges": [{"title": f"Challenge {n}", "description": "x" * 200} for n in range(5)],
        "min_team_size": 1,
        "max_team_size": 5,
        "max_teams": 50,
        "submission_deadline": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
        "rubric": {"criteria": [{"key": "impact", "weight": 2}, {"key": "clarity", "weight": 1}]},
        "judges_per_submission": 1,
        "awards": [{"name": "Grant", "rank": 1, "kind": "grant", "amount": 5000}],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        platform = Platform(
            PlatformConfig(
                data_dir=Path(data),
                gateway_port=free_port(),
                broker_port=None,
                organizer_email=ORGANIZER[0],
                organizer_password=ORGANIZER[1],
                extra_env=RAISED_LIMITS,
            )
        )
        platform.start()
        try:
            measure(platform, args.rounds)
        finally:
            platform.stop()


def measure(platform: Platform, rounds: int) -> None:
    api = httpx.Client(base_url=platform.gateway_url + "/api/v1", timeout=30)
    token = api.post("/auth/token", json={"email": ORGANIZER[0], "password": ORGANIZER[1]})
    organizer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    hackathon = api.post("/hackathons", headers=organizer, json=hackathon_body()).json()
    hid = hackathon["hackathon_id"]
    api.post(f"/hackathons/{hid}/phase", headers=organizer, json={"phase": "registration"})
    email = f"reader-{secrets.token_hex(4)}@example.org"
    api.post("/accounts", json={"email": email, "password": PASSWORD, "display_name": "Reader"})
    signed = api.post("/auth/token", json={"email": email, "password": PASSWORD}).json()
    auth = {"Authorization": f"Bearer {signed['access_token']}"}
    for n in range(12):  # a hackathon with teams, as its page shows them
        person = f"member-{n}-{secrets.token_hex(3)}@example.org"
        api.post("/accounts", json={"email": person, "password": PASSWORD, "display_name": f"M{n}"})
        member = api.post("/auth/token", json={"email": person, "password": PASSWORD}).json()
        member_auth = {"Authorization": f"Bearer {member['access_token']}"}
        registration = {"sector": "academia", "consent": True}
        api.post(f"/hackathons/{hid}/registrations", headers=member_auth, json=registration)
        team = {"name": f"Team {n}", "challenge_id": hackathon["challenges"][0]["challenge_id"]}
        api.post(f"/hackathons/{hid}/teams", headers=member_auth, json=team)
    page_client = httpx.Client(
        base_url=platform.gateway_url,
        timeout=30,
        headers={"accept-encoding": "gzip", "accept-language": "ru"},
        cookies={"hk_session": signed["access_token"]},
    )
    api_client = httpx.Client(
        base_url=platform.gateway_url + "/api/v1",
        timeout=30,
        headers={**auth, "accept-encoding": "gzip"},
    )
    pages = {  # the page, the API call it is built from, and how the baseline is named
        "home": ("/", "/hackathons?limit=200", "/hackathons?limit=200"),
        "hackathon": (f"/hackathons/{hid}", f"/hackathons/{hid}", "/hackathons/{id}"),
        "sign-in": ("/signin", "/me", "/me"),
    }
    home = page_client.get("/")
    assets = re.findall(r'(?:href|src)="(/static/app\.[0-9a-f]{12}\.(?:css|js))"', home.text)
    rows: list[Row] = []
    for name, (page_path, api_path, api_name) in pages.items():
        for _ in range(5):  # warm
            first_byte(page_client, page_path)
        page_times, api_times, sizes = [], [], []
        for _ in range(rounds):
            elapsed, size = first_byte(page_client, page_path)
            page_times.append(elapsed)
            sizes.append(size)
            api_times.append(first_byte(api_client, api_path)[0])
        rows.append(
            Row(BENCH, f"{name}: time to first byte, median", statistics.median(page_times) * 1000,
                "ms", statistics.median(api_times) * 1000, f"GET /api/v1{api_name}")
        )  # fmt: skip
        rows.append(
            Row(BENCH, f"{name}: time to first byte, p95",
                statistics.quantiles(page_times, n=20)[18] * 1000, "ms",
                statistics.quantiles(api_times, n=20)[18] * 1000, f"GET /api/v1{api_name}")
        )  # fmt: skip
        rows.append(Row(BENCH, f"{name}: transfer (gzip)", max(sizes) / 1024, "KiB"))
    for url in assets:
        size = first_byte(page_client, url)[1]  # the bytes on the wire, still compressed
        kind = "stylesheet" if url.endswith(".css") else "script"
        rows.append(Row(BENCH, f"{kind}: transfer (gzip, cached a year)", size / 1024, "KiB"))
    print_rows(rows)


if __name__ == "__main__":
    main()
