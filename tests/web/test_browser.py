"""The whole hackathon in a real browser, by clicking, as its people would: the organizer
creates it and moves it along, four participants sign up, register with consent, form two
teams and join by the invite link, they submit, two judges score, the organizer publishes,
and every member sees the result and the award arrive in their notifications, live. Once in
English and once in Russian; and a participant's path with the keyboard alone. Every page
passes axe-core, the Content-Security-Policy and a 320 px width (tests/web/browser.py)."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, expect

from hackathon_cli.platform import Platform
from tests.platform_fixtures import ORGANIZER, PASSWORD, unique_email
from tests.web.browser import Reader, launched, new_reader

pytestmark = pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
LIVE_TIMEOUT_MS = 30_000
"""How long a page waits for what arrives by itself: a notification on the stream."""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async for launched_browser in launched():
        yield launched_browser


async def sign_up(reader: Reader, name: str) -> str:
    page, t = reader.page, reader.t
    email = unique_email(re.sub(r"\W+", "-", name.lower()))
    await page.goto("/signup")
    await reader.check_page("signup")
    await page.get_by_label(t("Your name"), exact=True).fill(name)
    await page.get_by_label(t("E-mail"), exact=True).fill(email)
    await page.get_by_label(t("Password"), exact=True).fill(PASSWORD)
    await page.get_by_role("button", name=t("Create my account")).click()
    await expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    return email


async def sign_in(reader: Reader, email: str, password: str) -> None:
    page, t = reader.page, reader.t
    await page.goto("/signin")
    await reader.check_page("signin")
    await page.get_by_label(t("E-mail"), exact=True).fill(email)
    await page.get_by_label(t("Password"), exact=True).fill(password)
    await page.get_by_role("main").get_by_role("button", name=t("Sign in")).click()
    await expect(page.get_by_role("link", name=t("Organize"), exact=True)).to_be_visible()


async def move_phase(organizer: Reader, phase: str) -> None:
    page, t = organizer.page, organizer.t
    name = t({"registration": "Registration", "hacking": "Hacking", "judging": "Judging"}[phase])
    await page.get_by_label(t("I understand; move to %(phase)s.", phase=name), exact=True).check()
    await page.get_by_role("button", name=t("Move to %(phase)s", phase=name)).click()
    await expect(page.get_by_role("status")).to_be_visible()
    await expect(page.get_by_text(t("Now:"))).to_contain_text(name)


async def register(reader: Reader, hackathon_url: str, sector: str) -> None:
    page, t = reader.page, reader.t
    await page.goto(hackathon_url)
    await reader.check_page("hackathon")
    await page.get_by_label(t("Your sector"), exact=True).select_option(sector)
    await page.get_by_label(t("I consent to this use of my data."), exact=True).check()
    await page.get_by_role("button", name=t("Register"), exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text(
        t("You are registered. Now create a team or join one by its invite link.")
    )


async def create_team(reader: Reader, team_name: str, challenge: str) -> str:
    """The team's invite link, as its page shows it."""
    page, t = reader.page, reader.t
    await page.get_by_label(t("Team name"), exact=True).fill(team_name)
    await page.get_by_label(t("Challenge"), exact=True).select_option(label=challenge)
    await page.get_by_role("button", name=t("Create the team")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(team_name)
    await reader.check_page("team")
    link = await page.locator("#invite-link").get_attribute("href")
    assert link is not None
    return link


async def join(reader: Reader, invite_link: str, team_name: str) -> None:
    page, t = reader.page, reader.t
    await page.goto(invite_link)
    await reader.check_page("join")
    await page.get_by_role("button", name=t("Join the team")).click()
    await expect(page.get_by_role("status")).to_contain_text(t("You joined the team."))
    await expect(page.get_by_role("heading", level=1)).to_have_text(team_name)


async def submit(reader: Reader, title: str) -> None:
    page, t = reader.page, reader.t
    await page.get_by_label(t("Title"), exact=True).fill(title)
    await page.get_by_label(t("Summary"), exact=True).fill(
        f"{title}: what it does, for whom, and how."
    )
    await page.get_by_label(t("Kind of proposal"), exact=True).select_option("social")
    await page.get_by_label(t("Repository link (optional)"), exact=True).fill(
        "https://example.org/repo"
    )
    await page.get_by_role("button", name=t("Submit")).click()
    await expect(page.get_by_role("status")).to_contain_text(t("Your submission is saved."))
    saved = t("Version %(version)s, saved %(when)s.", version="1", when="\x00").split("\x00")[0]
    await expect(page.get_by_text(saved)).to_be_visible()


async def score_everything(judge: Reader) -> int:
    page, t = judge.page, judge.t
    scored = 0
    await page.goto("/judging")
    await judge.check_page("judging")
    while await page.get_by_text(t("To score")).count():
        row = page.get_by_role("row").filter(has_text=t("To score")).first
        await row.get_by_role("link").click()
        await judge.check_page("score")
        await page.get_by_label(re.compile("^Impact")).fill("8")
        await page.get_by_label(re.compile("^Feasibility")).fill(str(5 + scored))
        await page.get_by_label(t("Comment for the organizers (optional)"), exact=True).fill(
            "Clear plan."
        )
        await page.get_by_role("button", name=t("Send my score")).click()
        await expect(page.get_by_role("status")).to_contain_text(
            t("Your score is saved. You can revise it until the results are published.")
        )
        scored += 1
    return scored


@pytest.mark.parametrize("locale", ["en-GB", "ru-RU"])
async def test_a_whole_hackathon_by_clicking(
    browser: Browser, platform: Platform, locale: str
) -> None:
    base = platform.gateway_url
    readers: list[Reader] = []

    async def reader() -> Reader:
        made = await new_reader(browser, base, locale)
        readers.append(made)
        return made

    try:
        organizer = await reader()
        t = organizer.t
        await organizer.page.goto("/")
        await organizer.check_page("home")
        await sign_in(organizer, *ORGANIZER)
        page = organizer.page
        await page.get_by_role("link", name=t("Organize"), exact=True).click()
        await organizer.check_page("organize")
        await page.get_by_role("link", name=t("Create a hackathon"), exact=True).click()
        await organizer.check_page("organize-new")
        name = f"Digital Citizenship {secrets.token_hex(3)}"
        deadline = datetime.now(UTC).astimezone(ZoneInfo("Asia/Bishkek")) + timedelta(days=2)
        await page.get_by_label(t("Name"), exact=True).fill(name)
        await page.get_by_label(t("Challenges"), exact=True).fill(
            "Trustworthy e-government | services people can rely on\nDigital skills"
        )
        await page.get_by_label(t("Smallest team"), exact=True).fill("2")
        await page.get_by_label(t("Largest team"), exact=True).fill("3")
        await page.get_by_label(t("Submission deadline"), exact=True).fill(
            deadline.strftime("%Y-%m-%dT%H:%M")
        )
        await page.get_by_label(t("Judges per submission"), exact=True).fill("1")
        await page.get_by_label(t("Awards (optional)"), exact=True).fill(
            "1 | Mentorship programme | mentorship\n2 | Seed grant | grant | 5000"
        )
        await page.get_by_role("button", name=t("Create the hackathon")).click()
        await expect(page.get_by_role("heading", level=1)).to_have_text(name)
        await organizer.check_page("organize-hackathon")
        manage_url = page.url.split("?")[0]
        hackathon_url = manage_url.replace("/organize/", "/hackathons/")
        await move_phase(organizer, "registration")

        people = [await reader() for _ in range(4)]
        emails = [
            await sign_up(person, who)
            for person, who in zip(people, ["Aizada", "Bakyt", "Chynara", "Daniyar"], strict=True)
        ]
        assert len(emails) == 4
        for person, sector in zip(
            people, ["academia", "private", "civil_society", "other"], strict=True
        ):
            await register(person, hackathon_url, sector)
        first = await create_team(people[0], "Open Ayil", "Trustworthy e-government")
        second = await create_team(people[2], "Bilim Bridge", "Digital skills")
        await join(people[1], first, "Open Ayil")
        await join(people[3], second, "Bilim Bridge")

        await page.goto(manage_url)
        await move_phase(organizer, "hacking")
        for captain, title in ((people[0], "Village e-services"), (people[2], "Skills map")):
            await captain.page.goto(captain.page.url.split("?")[0])
            await submit(captain, title)

        judges = [await reader() for _ in range(2)]
        judge_emails = [
            await sign_up(j, who)
            for j, who in zip(judges, ["Judge Asel", "Judge Ermek"], strict=True)
        ]
        for email in judge_emails:
            await page.get_by_label(t("The judge's e-mail"), exact=True).fill(email)
            await page.get_by_role("button", name=t("Enrol the judge")).click()
            await expect(page.get_by_role("status")).to_contain_text(t("The judge is enrolled."))
        # The first judge declares a conflict with the first team before judging starts.
        first_judge = page.get_by_role("listitem").filter(has_text=judge_emails[0])
        await first_judge.get_by_label("Open Ayil", exact=True).check()
        await first_judge.get_by_role("button", name=t("Save the conflicts")).click()
        await expect(page.get_by_role("status")).to_contain_text(
            t("The judge's declared conflicts are changed.")
        )
        await move_phase(organizer, "judging")
        await page.get_by_role("button", name=t("Run the assignment")).click()
        await expect(page.get_by_role("status")).to_contain_text(
            t("%(count)s submissions have judges.", count="2")
        )
        assert sum([await score_everything(j) for j in judges]) == 2
        # The first judge was not given the team they declared, and their page says so.
        await judges[0].page.goto("/judging")
        queue = judges[0].page.get_by_role("main")
        await expect(queue).not_to_contain_text("Village e-services")
        await expect(
            queue.locator("section", has=judges[0].page.locator("#conflicts"))
        ).to_contain_text("Open Ayil")

        # Every member watches their notifications while the organizer publishes.
        for person in people:
            await person.page.goto("/notifications")
            await person.check_page("notifications")
            # The page's script says when its stream is open: from then on nothing is missed.
            await expect(person.page.locator("html")).to_have_attribute("data-live", "on")
        await page.goto(manage_url)
        await expect(page.get_by_role("table")).to_contain_text("Village e-services")
        await page.get_by_label(t("I understand; publish the results."), exact=True).check()
        await page.get_by_role("button", name=t("Publish the results")).click()
        await expect(page.get_by_role("heading", name=t("Results"))).to_be_visible()
        await organizer.check_page("results")
        for person in people:
            feed = person.page.locator("#notifications")
            arrived = feed.locator("li").filter(
                has_text=re.compile("Mentorship programme|Seed grant")
            )
            await expect(arrived.first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
            badge = person.page.locator("#unread-count")
            await expect(badge).to_be_visible()
        for reader_ in readers:
            assert not reader_.problems, reader_.problems
    finally:
        for made in readers:
            await made.close()


async def test_a_participant_goes_the_whole_way_with_the_keyboard_alone(
    browser: Browser, platform: Platform
) -> None:
    from tests.journey_helpers import create_hackathon
    from tests.platform_fixtures import Api

    api = Api(platform)
    try:
        hackathon = await create_hackathon(api, phase="registration")
    finally:
        await api.close()
    person = await new_reader(browser, platform.gateway_url, "en-GB", width=320)
    page, t = person.page, person.t
    try:
        await page.goto("/signup")
        await page.keyboard.press("Tab")
        skip = page.get_by_role("link", name=t("Skip to content"))
        await expect(skip).to_be_focused()
        outline = await skip.evaluate("e => getComputedStyle(e).outlineStyle")
        assert outline != "none"  # focus is visible
        await page.keyboard.press("Enter")
        email = unique_email("keys")
        # From the main content: the fields in order, then the button.
        await page.keyboard.press("Tab")
        await expect(page.get_by_label(t("Your name"), exact=True)).to_be_focused()
        await page.keyboard.type("Keyboard Kanykei")
        await page.keyboard.press("Tab")
        await page.keyboard.type(email)
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("link", name="Keyboard Kanykei")).to_be_visible()
        await page.goto(f"/hackathons/{hackathon.hackathon_id}")
        await person.check_page("hackathon")
        sector = page.get_by_label(t("Your sector"), exact=True)
        await sector.focus()
        await page.keyboard.press("ArrowDown")  # academia
        await page.keyboard.press("Tab")
        await expect(
            page.get_by_label(t("I consent to this use of my data."), exact=True)
        ).to_be_focused()
        await page.keyboard.press("Space")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name=t("Register"), exact=True)).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status")).to_contain_text(
            t("You are registered. Now create a team or join one by its invite link.")
        )
        await page.get_by_label(t("Team name"), exact=True).focus()
        await page.keyboard.type("Keys only")
        await page.keyboard.press("Tab")
        await page.keyboard.press("Tab")
        await expect(page.get_by_role("button", name=t("Create the team"))).to_be_focused()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Keys only")
        await person.check_page("team")
        assert not person.problems, person.problems
    finally:
        await person.close()


async def test_a_field_is_checked_inline_in_the_readers_language(
    browser: Browser, platform: Platform
) -> None:
    person = await new_reader(browser, platform.gateway_url, "ru-RU")
    page, t = person.page, person.t
    try:
        await page.goto("/signup")
        password = page.get_by_label(t("Password"), exact=True)
        await password.fill("short")
        await page.keyboard.press("Tab")  # leaving it: the check speaks
        message = page.locator("#f-password-check")
        await expect(message).to_contain_text(t("The password needs at least 10 characters."))
        await expect(password).to_have_attribute("aria-invalid", "true")
        await person.check_page("signup-checked")
        await password.fill("long enough now, surely")
        await expect(message).to_have_count(0)
        assert not person.problems, person.problems
    finally:
        await person.close()
