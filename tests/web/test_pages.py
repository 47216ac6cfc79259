"""The web app through the gateway's address, without a browser: what a reader gets at `/`,
the session and CSRF rules, refusals in the reader's language beside their field with what
was typed kept, and a participant's whole path by forms (sign up, register with consent,
create a team, join by the invite link, submit). The same in a real browser is in
tests/web/test_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from hackathon_cli.platform import Platform
from tests.journey_helpers import create_hackathon
from tests.platform_fixtures import PASSWORD, Api, unique_email
from tests.web.forms import FormReader

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
CYRILLIC = "[\u0400-\u04ff]"
ASEL = "\u0410\u0441\u0435\u043b\u044c"  # a Kyrgyz name, in Cyrillic


@pytest.fixture
async def reader(platform: Platform) -> AsyncIterator[FormReader]:
    person = FormReader(platform)
    yield person
    await person.close()


@pytest.fixture
async def russian(platform: Platform) -> AsyncIterator[FormReader]:
    person = FormReader(platform, language="ru-RU,ru;q=0.9,en;q=0.5")
    yield person
    await person.close()


async def sign_up(reader: FormReader, name: str) -> str:
    email = unique_email(name)
    page = await reader.get("/signup")
    answer = await reader.submit(
        page, "/signup", display_name=name, email=email, password=PASSWORD, next="/"
    )
    assert answer.status_code == 303, answer.text
    return email


async def test_the_gateway_serves_the_pages_at_the_root_with_strict_headers(
    reader: FormReader, api: Api
) -> None:
    hackathon = await create_hackathon(api)
    page = await reader.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert f'href="/hackathons/{hackathon.hackathon_id}"' in page.text
    # The API stays where it was, with its own headers.
    listed = await reader.get("/api/v1/hackathons")
    assert listed.headers["content-type"] == "application/json"
    missing = await reader.get("/api/v1/no-such-route")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_the_style_and_script_are_small_compressed_and_cached_by_hash(
    reader: FormReader,
) -> None:
    page = await reader.get("/", headers={"accept-encoding": "gzip"})
    assets = re.findall(r'(?:href|src)="(/static/app\.[0-9a-f]{12}\.(?:css|js))"', page.text)
    assert len(assets) == 2, page.text[:400]
    for url in assets:
        answer = await reader.get(url, headers={"accept-encoding": "gzip"})
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-encoding"] == "gzip"
        assert int(answer.headers["content-length"]) < 4096, url
    stale = await reader.get("/static/app.000000000000.css")
    assert stale.status_code == 404


async def test_signing_up_starts_an_httponly_session_and_signing_out_ends_it(
    reader: FormReader,
) -> None:
    page = await reader.get("/signup")
    assert page.status_code == 200
    email = unique_email("ada")
    answer = await reader.submit(
        page, "/signup", display_name="Ada", email=email, password=PASSWORD, next="/account"
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/account")
    cookie = next(
        v
        for k, v in answer.headers.multi_items()
        if k == "set-cookie" and v.startswith("hk_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie, cookie
    account = await reader.get("/account")
    assert account.status_code == 200 and email in account.text
    out = await reader.submit(account, "/signout")
    assert out.status_code == 303
    again = await reader.get("/account")
    assert (again.status_code, again.headers["location"]) == (303, "/signin?next=/account")


async def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    reader: FormReader, api: Api
) -> None:
    await reader.get("/signup")  # the reader has a CSRF cookie, but the forger sends no token
    email = unique_email("forged")
    answer = await reader.http.post(
        "/signup", data={"display_name": "x", "email": email, "password": PASSWORD}
    )
    assert answer.status_code == 403
    tried = await api.http.post("/auth/token", json={"email": email, "password": PASSWORD})
    assert tried.status_code == 401  # no account was made


async def test_a_refusal_is_in_the_readers_language_beside_its_field_and_keeps_the_input(
    russian: FormReader,
) -> None:
    page = await russian.get("/signup")
    assert page.headers["content-language"] == "ru"
    assert '<html lang="ru">' in page.text
    email = unique_email("short")
    answer = await russian.submit(
        page, "/signup", display_name=ASEL, email=email, password="short", next="/"
    )
    assert answer.status_code == 422
    text = answer.text
    error = re.search(r'<p class="error" id="f-password-error">(.*?)</p>', text, re.S)
    assert error is not None, text
    assert re.search(CYRILLIC, error.group(1)), error.group(1)
    assert re.search(r'id="f-password"[^>]*aria-invalid="true"', text)
    assert re.search(r'id="f-password"[^>]*aria-describedby="[^"]*f-password-error', text)
    assert f'value="{email}"' in text and f'value="{ASEL}"' in text  # what was typed is kept


async def test_a_participant_signs_up_registers_forms_a_team_and_submits_by_forms(
    platform: Platform, api: Api
) -> None:
    hackathon = await create_hackathon(api, phase="hacking")
    captain, mate = FormReader(platform), FormReader(platform)
    try:
        await sign_up(captain, "captain")
        await sign_up(mate, "mate")
        path = f"/hackathons/{hackathon.hackathon_id}"
        page = await captain.get(path)
        assert "2026-01" in page.text  # the consent's policy version is shown
        refused = await captain.submit(page, f"{path}/register", sector="academia")
        assert refused.status_code == 422  # no consent, no registration
        done = await captain.submit(page, f"{path}/register", sector="academia", consent="yes")
        assert done.status_code == 303
        page = await captain.get(path)
        created = await captain.submit(
            page, f"{path}/teams", name="Water watchers", challenge_id=hackathon.challenge_ids[0]
        )
        assert created.status_code == 303, created.text
        team_path = created.headers["location"].split("?")[0]
        team_page = await captain.get(team_path)
        link = re.search(r'id="invite-link" href="([^"]+)"', team_page.text)
        assert link is not None, team_page.text
        invite = httpx.URL(link.group(1))
        # The mate follows the link: registering first leads back to it.
        join_page = await mate.get(invite.raw_path.decode())
        assert join_page.status_code == 200
        hackathon_page = await mate.get(f"{path}?next={invite.raw_path.decode()}")
        registered = await mate.submit(
            hackathon_page, f"{path}/register", sector="civil_society", consent="yes"
        )
        assert registered.headers["location"] == invite.raw_path.decode()
        join_page = await mate.get(registered.headers["location"])
        joined = await mate.submit(join_page, f"{team_path}/join")
        assert joined.status_code == 303, joined.text
        team_page = await mate.get(team_path)
        assert "captain" in team_page.text and "mate" in team_page.text
        submitted = await mate.submit(
            team_page, f"{team_path}/submission", title="Sensors for wells",
            summary="Cheap sensors report water quality.", kind="technology",
            repo_url="https://example.org/wells",
        )  # fmt: skip
        assert submitted.status_code == 303, submitted.text
        shown = await captain.get(team_path)
        assert "Sensors for wells" in shown.text and "https://example.org/wells" in shown.text
        # A notification is marked read by its own button.
        feed = await captain.get("/notifications")
        unread = feed.text.count('<span class="tag">new</span>')
        assert unread >= 1, feed.text
        action = re.search(r'action="(/notifications/[^"/]+/read)"', feed.text)
        assert action is not None, feed.text
        marked = await captain.submit(feed, action.group(1))
        assert marked.status_code == 303
        feed = await captain.get("/notifications")
        assert feed.text.count('<span class="tag">new</span>') == unread - 1
        # The account page lists the consent given, with its policy version.
        account = await captain.get("/account")
        consents = account.text.split('id="consents"', 1)[1].split("</section>", 1)[0]
        assert f'href="{path}"' in consents and "2026-01" in consents, consents
    finally:
        await captain.close()
        await mate.close()


async def test_erasing_the_account_ends_the_session(reader: FormReader, api: Api) -> None:
    email = await sign_up(reader, "leaver")
    account = await reader.get("/account")
    refused = await reader.submit(account, "/account/erase")
    assert refused.status_code == 422  # not confirmed: nothing erased
    assert email in (await reader.get("/account")).text
    erased = await reader.submit(account, "/account/erase", confirm="erase")
    assert erased.status_code == 303
    after = await reader.get("/account")
    assert after.status_code == 303  # signed out
    tried = await api.http.post("/auth/token", json={"email": email, "password": PASSWORD})
    assert tried.status_code == 401
