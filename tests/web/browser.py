"""Driving the web app in Debian's Chromium with Playwright (its own browser download does
not work here, so the browser is given as ``executable_path``), and the checks every page of
a browser test passes: axe-core finds no serious or critical violation, nothing breaks the
Content-Security-Policy, and the page fits 320 px without scrolling sideways."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright
from web import i18n

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # This machine's network is closed: Chromium's own background connections would fail.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERIOUS = ("serious", "critical")


def chromium_path() -> str:
    found = shutil.which("chromium") or CHROMIUM
    return found


async def launched() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


def translated(locale: str, message: str, **values: Any) -> str:
    """A message as the page shows it in ``locale`` (the catalogue's own translation)."""
    text = i18n.translations(locale).gettext(message)
    return text % values if values else text


@dataclass
class Reader:
    """One person's browser context, with what its pages reported."""

    context: BrowserContext
    page: Page
    locale: str
    problems: list[str] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)

    def t(self, message: str, **values: Any) -> str:
        return translated(self.locale, message, **values)

    async def close(self) -> None:
        await self.context.close()

    async def check_page(self, name: str) -> None:
        """The checks every page passes, once per kind of page ``name`` per reader."""
        if name in self.checked:
            return
        self.checked.add(name)
        results = await Axe().run(self.page)
        serious = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
        assert not serious, f"{name}: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3])
            for v in serious
        )
        size = self.page.viewport_size
        await self.page.set_viewport_size({"width": 320, "height": 640})
        width = await self.page.evaluate("document.documentElement.clientWidth")
        scroll = await self.page.evaluate("document.documentElement.scrollWidth")
        if size is not None:
            await self.page.set_viewport_size(size)
        assert scroll <= width, f"{name}: {scroll} px wide in a {width} px window"
        assert not self.problems, f"{name}: {self.problems}"


async def new_reader(browser: Browser, base_url: str, locale: str, width: int = 1024) -> Reader:
    context = await browser.new_context(
        base_url=base_url,
        locale=locale,
        timezone_id="Asia/Bishkek",
        viewport={"width": width, "height": 900},
    )
    page = await context.new_page()
    reader = Reader(context, page, locale.split("-")[0])

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            reader.problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: reader.problems.append(str(error)))
    return reader
