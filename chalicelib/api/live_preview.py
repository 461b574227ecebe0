"""POST /v1/manage/render: the editor's live preview, Markdown rendered as it is typed."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..services import live_preview
from ..wiring import container
from .auth import require
from .http import JSON, json_object, json_response, route
from .media import urls

bp = Blueprint(__name__)
PATH = "/v1/manage/render"


@route(bp, PATH, methods=["POST"], content_types=[JSON])
def render_preview() -> Response:
    request = bp.current_request
    require(request, "content:write")
    c = container()
    result = live_preview.render(c.backend, c.limits, json_object(request), urls(c, request).stable)
    return json_response(result, headers={"Cache-Control": "no-store"})
