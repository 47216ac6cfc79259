"""The interactive API docs at ``/docs``: Swagger UI served by the gateway itself, from the
files the ``fastapi-offline`` package ships, under a Content-Security-Policy that lets the page
load scripts, styles and data from the gateway only (no third-party CDN, no inline script: the
initialiser is a file of its own, ``docs_assets/swagger-initializer.js``).

FastAPI's own pages (``/docs``, ``/redoc``) load their scripts from a CDN and start Swagger UI
with an inline script, so they are switched off (``docs_url=None, redoc_url=None``)."""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse

from hackathon_shared.problems import ProblemError

DOCS_PATH = "/docs"

# Swagger UI's stylesheet draws its icons as data: images; nothing else leaves 'self'.
DOCS_CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

_SWAGGER_UI = Path(str(files("fastapi_offline") / "static"))
_OWN = Path(__file__).parent / "docs_assets"

# What the page loads, under /docs/: name → (file, media type). Nothing else is served.
ASSETS: dict[str, tuple[Path, str]] = {
    "swagger-ui.css": (_SWAGGER_UI / "swagger-ui.css", "text/css; charset=utf-8"),
    "swagger-ui-bundle.js": (
        _SWAGGER_UI / "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
    ),
    "favicon.png": (_SWAGGER_UI / "favicon.png", "image/png"),
    "swagger-initializer.js": (_OWN / "swagger-initializer.js", "text/javascript; charset=utf-8"),
}
# The files change only with a release of the gateway or of the package.
ASSET_CACHE = "public, max-age=3600"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{root}/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="{root}/docs/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{root}{openapi_url}"></div>
<script src="{root}/docs/swagger-ui-bundle.js"></script>
<script src="{root}/docs/swagger-initializer.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and its assets on ``app`` (created with ``docs_url=None``)."""
    missing = [name for name, (path, _) in ASSETS.items() if not path.is_file()]
    if missing:
        raise RuntimeError(f"Swagger UI files missing: {', '.join(missing)}")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = html.escape(str(request.scope.get("root_path", "")).rstrip("/"), quote=True)
        page = PAGE.format(
            title=html.escape(f"{app.title} - docs"), root=root, openapi_url=openapi_url
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": DOCS_CSP})

    @app.get(DOCS_PATH + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        asset = ASSETS.get(name)
        if asset is None:
            raise ProblemError(404, "not-found", "no such file of the docs")
        path, media_type = asset
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": ASSET_CACHE})
