"""Preview links: an editor's signed, expiring, revocable link to one entry's draft."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..services import previews
from ..wiring import container
from .auth import require
from .http import JSON, json_object, json_response, route

bp = Blueprint(__name__)
BASE = "/v1/manage/previews"
NO_STORE = {"Cache-Control": "no-store"}


@route(bp, BASE, methods=["POST"], content_types=[JSON])
def create_preview() -> Response:
    request = bp.current_request
    principal = require(request, "content:read")
    c = container()
    link = previews.create(c.backend, c.cursor_secret, json_object(request), principal.key_id)
    return json_response(link, 201, {**NO_STORE, "Location": f"{BASE}/{link['id']}"})


@route(bp, BASE, methods=["GET"])
def list_previews() -> Response:
    require(bp.current_request, "content:read")
    return json_response({"items": previews.list_links(container().backend)}, headers=NO_STORE)


@route(bp, f"{BASE}/{{preview_id}}", methods=["DELETE"])
def revoke_preview(preview_id: str) -> Response:
    require(bp.current_request, "content:read")
    previews.revoke(container().backend, preview_id)
    return Response(body="", status_code=204)
