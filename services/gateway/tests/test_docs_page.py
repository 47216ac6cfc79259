"""``/docs`` is Swagger UI served by the gateway itself: the page loads nothing from another
origin, runs no inline script, and its Content-Security-Policy allows only the gateway."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

from gateway.app import create_app
from gateway.settings import GatewaySettings

SECRET = "a-test-secret-of-enough-length"


class Page(HTMLParser):
    """What a page loads (``src`` and ``href``), its inline scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline_scripts: list[str] = []
        self.styles = 0
        self.openapi_url: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.references += [v for k, v in attrs if k in ("src", "href") and v is not None]
        self.styles += tag == "style" or "style" in values
        self._in_script = tag == "script"
        if "data-openapi-url" in values:
            self.openapi_url = values["data-openapi-url"]

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def gateway(root_path: str = "") -> httpx.AsyncClient:
    app = create_app(GatewaySettings(HACKATHON_JWT_SECRET=SECRET))
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, root_path=root_path), base_url="http://gw.test"
    )


def directives(policy: str) -> dict[str, list[str]]:
    parts = [part.split() for part in policy.split(";") if part.strip()]
    return {name: values for name, *values in parts}


async def test_docs_load_only_from_the_gateway_under_a_policy_that_says_so() -> None:
    async with gateway() as client:
        docs = await client.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-type"].startswith("text/html")
    policy = directives(docs.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    allowed = {value for values in policy.values() for value in values}
    assert allowed <= {"'none'", "'self'", "data:"}  # no other origin, nothing unsafe
    assert not re.search(r"(https?:)?//", docs.text), "the page names another origin"
    page = Page()
    page.feed(docs.text)
    assert page.inline_scripts == [] and page.styles == 0
    assert page.references and all(ref.startswith("/docs/") for ref in page.references)
    assert page.openapi_url == "/openapi.json"


async def test_the_page_s_files_are_served() -> None:
    async with gateway() as client:
        page = Page()
        page.feed((await client.get("/docs")).text)
        media_types = {}
        for reference in page.references:
            answer = await client.get(reference)
            assert answer.status_code == 200, reference
            assert answer.headers["x-content-type-options"] == "nosniff"
            media_types[reference.rsplit("/", 1)[1]] = answer.headers["content-type"]
            if reference.endswith("swagger-ui-bundle.js"):
                assert "SwaggerUIBundle" in answer.text
            if reference.endswith("swagger-initializer.js"):
                assert "data-openapi-url" in answer.text and "validatorUrl: null" in answer.text
                assert not re.search(r"https?://", answer.text)
        assert media_types == {
            "swagger-ui.css": "text/css; charset=utf-8",
            "favicon.png": "image/png",
            "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
            "swagger-initializer.js": "text/javascript; charset=utf-8",
        }
        assert (await client.get(page.openapi_url or "")).json()["openapi"].startswith("3.")
        unknown = await client.get("/docs/redoc.standalone.js")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
        assert (await client.get("/redoc")).status_code == 404


async def test_behind_a_root_path_the_page_names_its_files_under_it() -> None:
    async with gateway(root_path="/gateway") as client:
        docs = await client.get("/docs")
    page = Page()
    page.feed(docs.text)
    assert page.references and all(r.startswith("/gateway/docs/") for r in page.references)
    assert page.openapi_url == "/gateway/openapi.json"
