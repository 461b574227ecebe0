"""Admin routes: API keys, objects that could not be indexed, the dead-letter queue."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.errors import BadRequest
from ..services import keys
from ..wiring import container
from .auth import require
from .http import JSON, json_object, json_response, route

bp = Blueprint(__name__)
BASE = "/v1/manage"


@route(bp, f"{BASE}/keys", methods=["POST"], content_types=[JSON])
def create_key() -> Response:
    require(bp.current_request, "admin")
    created = keys.create_key(container().backend, json_object(bp.current_request))
    return json_response(
        created, 201, {"Location": f"{BASE}/keys/{created['id']}", "Cache-Control": "no-store"}
    )


@route(bp, f"{BASE}/keys", methods=["GET"])
def list_keys() -> Response:
    require(bp.current_request, "admin")
    return json_response({"items": keys.list_keys(container().backend)})


@route(bp, f"{BASE}/keys/{{key_id}}", methods=["DELETE"])
def revoke_key(key_id: str) -> Response:
    require(bp.current_request, "admin")
    keys.revoke_key(container().backend, key_id)
    return Response(body="", status_code=204)


@route(bp, f"{BASE}/reindex", methods=["POST"], content_types=[JSON])
def reindex() -> Response:
    """Rebuild the index from the object store. Synchronous: for a large bucket use
    `python -m chalicelib.devtools reindex` (API Gateway stops waiting after 29 s)."""
    require(bp.current_request, "admin")
    c = container()
    from ..services.reindex import reindex  # renders: loaded when an admin asks for it

    report = reindex(c.backend, c.limits)
    return json_response(report.to_dict())


@route(bp, f"{BASE}/errors", methods=["GET"])
def object_errors() -> Response:
    """Objects in the bucket that could not be indexed (bad key, unknown collection, ...)."""
    require(bp.current_request, "content:read")
    items = [
        {"key": e.key, "error": e.error, "recorded_at": e.recorded_at}
        for e in container().backend.index.list_object_errors()
    ]
    return json_response({"items": items})


@route(bp, f"{BASE}/events/dead-letters", methods=["GET"])
def dead_letters() -> Response:
    require(bp.current_request, "admin")
    items = [
        {
            "id": d.id,
            "error": d.error,
            "attempts": d.attempts,
            "failed_at": d.failed_at,
            "message": d.body,
        }
        for d in container().backend.dead_letters.list()
    ]
    return json_response({"items": items})


@route(bp, f"{BASE}/events/dead-letters/redrive", methods=["POST"], content_types=[JSON])
def redrive() -> Response:
    require(bp.current_request, "admin")
    options = json_object(bp.current_request, required=False)
    unknown = sorted(set(options) - {"ids"})
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}; only ids is taken.")
    ids = options.get("ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
        raise BadRequest("ids must be a list of dead-letter ids.", {"parameter": "ids"})
    count = container().backend.dead_letters.redrive(ids)
    return json_response({"redriven": count})
