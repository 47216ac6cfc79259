"""A reader of the web app without a browser: an httpx client that keeps its cookies, reads a
page's forms (their hidden fields, CSRF token included) and sends them as a browser would."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx

from hackathon_cli.platform import Platform

_FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
_ATTR = re.compile(r'([a-zA-Z_:-]+)="([^"]*)"')
_INPUT = re.compile(r"<input\b([^>]*)>")


def attributes(tag: str) -> dict[str, str]:
    return {name: html.unescape(value) for name, value in _ATTR.findall(tag)}


@dataclass
class Form:
    action: str
    fields: dict[str, str]


class FormReader:
    def __init__(self, platform: Platform, language: str = "en") -> None:
        self.http = httpx.AsyncClient(
            base_url=platform.gateway_url,
            timeout=20,
            headers={"accept-language": language, "accept": "text/html"},
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    def forms(self, page: httpx.Response) -> list[Form]:
        found = []
        for head, body in _FORM.findall(page.text):
            action = attributes(head).get("action", "")
            fields = {}
            for tag in _INPUT.findall(body):
                attrs = attributes(tag)
                kind = attrs.get("type", "text")
                if "name" not in attrs or kind in ("submit", "button"):
                    continue
                if kind in ("checkbox", "radio") and " checked" not in tag:
                    continue  # a browser sends a box only when it is ticked
                fields[attrs["name"]] = attrs.get("value", "")
            found.append(Form(action, fields))
        return found

    def form(self, page: httpx.Response, action: str) -> Form:
        for form in self.forms(page):
            if form.action == action:
                return form
        raise AssertionError(f"no form posting to {action} on {page.url}: {page.text[:500]}")

    async def submit(self, page: httpx.Response, action: str, **values: str) -> httpx.Response:
        """Fill in the page's form for ``action`` with ``values`` over what its inputs hold
        (as the page filled them in), and send it. A 303 is not followed: the test looks at
        where it leads."""
        form = self.form(page, action)
        return await self.http.post(action, data={**form.fields, **values})
