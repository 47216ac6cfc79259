"""The page's one stylesheet and one script, served under names that carry their content's
hash (``app.3f9c2a1b7d4e.css``): cached for a year (``immutable``), and a new release has new
names. Each is compressed once, at start-up, with gzip, for readers that accept it."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

STATIC_DIR = Path(__file__).parent / "static"
MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
CACHED = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    url: str
    media_type: str
    body: bytes
    compressed: bytes


class Assets:
    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self._by_name: dict[str, Asset] = {}
        self.urls: dict[str, str] = {}
        for path in sorted(directory.iterdir()):
            if path.suffix not in MEDIA_TYPES:
                continue
            body = path.read_bytes()
            digest = hashlib.sha256(body).hexdigest()[:12]
            name = f"{path.stem}.{digest}{path.suffix}"
            url = f"/static/{name}"
            compressed = gzip.compress(body, compresslevel=9, mtime=0)
            self._by_name[name] = Asset(url, MEDIA_TYPES[path.suffix], body, compressed)
            self.urls[path.name] = url

    def answer(self, name: str, request: Request) -> Response:
        asset = self._by_name.get(name)
        if asset is None:
            return Response(status_code=404, headers={"cache-control": "no-store"})
        headers = {"cache-control": CACHED, "vary": "accept-encoding"}
        accepts = request.headers.get("accept-encoding", "")
        if "gzip" in accepts.lower():
            headers["content-encoding"] = "gzip"
            return Response(asset.compressed, media_type=asset.media_type, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
