"""GET /openapi.json (generated from this app's route table) and GET /docs (it, as a page)."""

from __future__ import annotations

import json
import threading
from typing import Any

from chalice import Blueprint, Response

from ..wiring import container
from .http import JSON, route
from .media import api_origin

bp = Blueprint(__name__)
CACHE = "public, max-age=300"

_lock = threading.Lock()
_built: list[tuple[Any, dict[str, Any]]] = []  # (the app, its document)


def document() -> dict[str, Any]:
    """The document for the app this blueprint is registered in, built once per container
    (the route table does not change at run time); the builder loads on first use only."""
    app = bp.current_app
    with _lock:
        if not _built or _built[0][0] is not app:
            from .openapi_spec import build

            _built[:] = [(app, build(app.routes, limits=container().limits))]
        return _built[0][1]


def _with_server(spec: dict[str, Any]) -> dict[str, Any]:
    return {**spec, "servers": [{"url": api_origin(bp.current_request) or "/"}]}


@route(bp, "/openapi.json", methods=["GET"])
def openapi_json() -> Response:
    body = json.dumps(_with_server(document()), ensure_ascii=False)
    return Response(
        body=body, status_code=200, headers={"Content-Type": JSON, "Cache-Control": CACHE}
    )


@route(bp, "/docs", methods=["GET"])
def docs() -> Response:
    from .openapi_html import render

    return Response(
        body=render(_with_server(document())),
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": CACHE},
    )
