"""RFC 9457 problem details for every error, Chalice's own included."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Response
from chalice.app import Request

from ..domain.errors import CMSError
from ..ports import StorageUnavailable

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "/problems/"  # a relative URI reference, as RFC 9457 allows

_CHALICE_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-failed", "Validation failed"),
    429: ("too-many-requests", "Too many requests"),
    500: ("internal-error", "Internal server error"),
}


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra or {})
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": PROBLEM_TYPE, "Cache-Control": "no-store", **(headers or {})},
    )


def from_error(error: CMSError, request: Request | None = None) -> Response:
    extra = dict(error.extra)
    if request is not None:
        extra.setdefault("instance", request.context.get("path", ""))
    headers = {"WWW-Authenticate": 'Bearer realm="cms"'} if error.status == 401 else None
    return problem(
        error.status, error.code, error.title, error.detail, extra=extra, headers=headers
    )


def unavailable() -> Response:
    return problem(
        503,
        "service-unavailable",
        "Service unavailable",
        "The storage backend is unavailable right now; try again shortly.",
        headers={"Retry-After": "2"},
    )


def internal_error() -> Response:
    return problem(
        500,
        "internal-error",
        "Internal server error",
        "Something went wrong on our side; it has been logged.",
    )


def _chalice_error(response: Response) -> Response | None:
    """Rewrite Chalice's own ``{"Code", "Message"}`` error bodies as problem+json."""
    body = response.body
    if isinstance(body, str) and response.status_code >= 400:
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if not isinstance(body, dict) or "Code" not in body or "Message" not in body:
        return None
    status = response.status_code
    code, title = _CHALICE_CODES.get(status, ("error", "Error"))
    detail = str(body["Message"]) if status != 500 else "Something went wrong on our side."
    allow = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
    return problem(status, code, title, detail, headers=allow)


def problem_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    try:
        response = get_response(event)
    except CMSError as error:
        return from_error(error, event)
    except StorageUnavailable:
        log.warning("storage unavailable", exc_info=True)
        return unavailable()
    except Exception:
        log.exception("unhandled error")
        return internal_error()
    return _chalice_error(response) or response
