"""GET /admin: the editor, plain HTML, CSS and JavaScript modules shipped in
``chalicelib/admin_ui/`` (no build step), read once per container. The files hold no data
(the editor reads everything through the API with the key an editor pastes), so they need
no key; each is served with a strict Content-Security-Policy."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from ..domain.errors import NotFound
from ..wiring import Container, container
from .http import none_match, route
from .media import api_origin

bp = Blueprint(__name__)
FOLDER = Path(__file__).resolve().parent.parent / "admin_ui"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
INDEX = "index.html"
# Everything /admin/{file} serves; nothing else in the folder (or outside it) is reachable.
ASSETS = (
    "admin.css",
    "preview.css",
    "app.js",
    "api.js",
    "dom.js",
    "entries.js",
    "editor.js",
    "fields.js",
    "history.js",
    "media.js",
)
# Revalidated on every load (a 304 when unchanged): the modules import each other by plain
# names, so a new deploy must never meet a cached module of the old one.
CACHE = "no-cache"
PROBE_KEY = "media/csp-probe/original"


@dataclass(frozen=True)
class File:
    body: str
    content_type: str
    etag: str


_lock = threading.Lock()
_files: dict[str, File] = {}
_origins: list[tuple[Container, list[str]]] = []


def _file(name: str) -> File:
    with _lock:
        if not _files:
            for each in (INDEX, *ASSETS):
                text = (FOLDER / each).read_text(encoding="utf-8")
                digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
                _files[each] = File(text, TYPES[Path(each).suffix], f'"{digest}"')
        return _files[name]


def _origin(url: str | None) -> str | None:
    parts = urlsplit(url or "")
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _storage_origins(c: Container) -> list[str]:
    """Where the browser fetches media and posts large uploads besides this API: a CDN
    (CMS_MEDIA_BASE_URL) and the bucket's presigned URLs on AWS (none locally). Presigning
    is local computation; done once per container."""
    with _lock:
        if _origins and _origins[0][0] is c:
            return _origins[0][1]
    links = c.backend.links
    urls = [
        c.limits.media.base_url,
        links.download_url(PROBE_KEY),
        links.upload_form(PROBE_KEY, content_type="image/png", max_bytes=1, expires_in=60).url,
    ]
    found = sorted({o for o in map(_origin, urls) if o is not None})
    with _lock:
        _origins[:] = [(c, found)]
    return found


def policy(extra: list[str]) -> str:
    """No inline script or style anywhere; previews are sandboxed srcdoc frames, which
    inherit this policy."""
    others = "".join(f" {o}" for o in extra)
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{others}; connect-src 'self'{others}; "
        "frame-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


def _serve(name: str) -> Response:
    file = _file(name)
    c = container()
    request = bp.current_request
    extra = _storage_origins(c)
    own = _origin(api_origin(request))
    if own is not None and own not in extra:
        extra = [own, *extra]
    headers = {
        "Content-Type": file.content_type,
        "Cache-Control": CACHE,
        "ETag": file.etag,
        "Content-Security-Policy": policy(extra),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    if none_match(request, file.etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=file.body, status_code=200, headers=headers)


@route(bp, "/admin", methods=["GET"])
def editor_page() -> Response:
    if str(bp.current_request.context.get("path", "")).endswith("/"):
        # the page names its files relative to '{root}/admin': from '/admin/' they would be
        # '/admin/admin/...'. A relative Location keeps an API Gateway stage's prefix.
        return Response(body="", status_code=301, headers={"Location": "../admin"})
    return _serve(INDEX)


@route(bp, "/admin/{file}", methods=["GET"])
def editor_file(file: str) -> Response:
    if file not in ASSETS:
        raise NotFound("The editor has no such file.")
    return _serve(file)
