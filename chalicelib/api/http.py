"""Request parsing and response helpers shared by the blueprints."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from ..domain import frontmatter
from ..domain.errors import (
    BadRequest,
    CMSError,
    FieldError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from ..domain.limits import Limits, is_ascii_int
from ..domain.paths import from_url
from ..ports import StorageUnavailable
from ..services.entries import EntryInput
from ..wiring import container
from .problems import from_error, internal_error, unavailable

log = logging.getLogger(__name__)

JSON = "application/json"
MARKDOWN = "text/markdown"
ENTRY_TYPES = [JSON, MARKDOWN, "text/plain"]


def route(bp: Blueprint, path: str, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``bp.route`` whose view turns CMSError into problem+json and never leaks a trace."""

    def decorator(view: Callable[..., Any]) -> Any:
        @functools.wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            request = bp.current_request
            try:
                return view(**kwargs)
            except CMSError as error:
                return from_error(error, request)
            except StorageUnavailable:
                log.warning("storage unavailable in %s %s", request.method, path, exc_info=True)
                return unavailable()
            except Exception:
                log.exception("unhandled error in %s %s", request.method, path)
                return internal_error()

        return bp.route(path, **options)(wrapped)

    return decorator


def limits() -> Limits:
    return container().limits


def raw_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    max_bytes = limits().max_body_bytes
    if declared and is_ascii_int(declared) and int(declared) > max_bytes:
        raise PayloadTooLarge(
            f"The request body is over the {max_bytes}-byte limit.", {"limit": max_bytes}
        )
    body = request.raw_body or b""
    if len(body) > max_bytes:
        raise PayloadTooLarge(
            f"The request body is over the {max_bytes}-byte limit.", {"limit": max_bytes}
        )
    return body


def media_type(request: Request) -> str:
    return request.headers.get("content-type", JSON).split(";")[0].strip().lower()


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range for a number")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(request: Request, *, required: bool = True) -> Any:
    body = raw_body(request)
    if not body.strip():
        if required:
            raise BadRequest("The request needs a JSON body.")
        return {}
    if media_type(request) != JSON:
        raise UnsupportedMediaType("Send application/json.")
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except UnicodeDecodeError as exc:
        raise BadRequest("The body is not UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"Malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise BadRequest("The JSON is nested too deeply.") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise BadRequest(f"Malformed JSON: {exc}") from exc


def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    data = json_body(request, required=required)
    if not isinstance(data, dict):
        raise ValidationFailed(
            "The body must be a JSON object.", [FieldError("", "must be an object", "type")]
        )
    return data


ENTRY_FIELDS = {"front_matter", "body"}


def entry_input(request: Request, *, extra: frozenset[str] = frozenset()) -> EntryInput:
    """An ``EntryInput``: a Markdown document as sent (stored byte for byte), or JSON
    ``{front_matter, body}`` (and the ``extra`` fields a route also takes)."""
    if media_type(request) in (MARKDOWN, "text/plain"):
        try:
            text = raw_body(request).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("The Markdown document is not UTF-8.") from exc
        fm, body = frontmatter.parse(text)
        return EntryInput(fm, body, text)
    data = json_object(request)
    return entry_from_json(data, extra)


def entry_from_json(data: dict[str, Any], extra: frozenset[str] = frozenset()) -> EntryInput:
    """An ``EntryInput`` from a JSON object: ``{front_matter, body}`` or ``{document}``."""
    unknown = sorted(set(data) - ENTRY_FIELDS - {"document"} - extra)
    errors = [FieldError(name, "unknown field", "unknown-field") for name in unknown]
    document = data.get("document")
    if document is not None:
        if not isinstance(document, str) or not frontmatter.is_utf8(document):
            errors.append(FieldError("document", "must be a string of valid Unicode", "type"))
        for name in sorted(ENTRY_FIELDS & set(data)):
            errors.append(FieldError(name, "send a document or front_matter/body", "conflict"))
        if errors:
            raise ValidationFailed("The entry is invalid.", errors)
        fm, body = frontmatter.parse(document)
        return EntryInput(fm, body, document)
    fm = data.get("front_matter", {})
    body = data.get("body", "")
    if not isinstance(fm, dict):
        errors.append(FieldError("front_matter", "must be an object", "type"))
    if not isinstance(body, str):
        errors.append(FieldError("body", "must be a string", "type"))
    if isinstance(body, str) and not frontmatter.is_utf8(body):
        errors.append(FieldError("body", "must be valid Unicode (no lone surrogates)", "type"))
    if errors:
        raise ValidationFailed("The entry is invalid.", errors)
    frontmatter.check_json_compatible(fm)
    return EntryInput(fm, body)


def entry_path(segment: str) -> str:
    """The entry path a URL segment names (``a~b~c``: see domain.paths)."""
    return from_url(segment)


def etag_value(header: str | None) -> str | None:
    """The bare ETag of an If-Match / If-None-Match header ('*' kept)."""
    if header is None:
        return None
    value = header.strip()
    if value == "*":
        return value
    value = value.split(",")[0].strip().removeprefix("W/")
    return value.strip('"')


def if_match(request: Request) -> str | None:
    return etag_value(request.headers.get("if-match"))


def none_match(request: Request, etag: str) -> bool:
    """True when If-None-Match names ``etag`` (weak comparison, as RFC 9110 says)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    bare = etag.strip('"')
    return any(part.strip().removeprefix("W/").strip('"') == bare for part in header.split(","))


def quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def query(request: Request) -> dict[str, str]:
    """The query parameters, each sent once: which of two values was meant is anybody's guess."""
    params = request.query_params or {}
    repeated = sorted(name for name in params if len(params.getlist(name)) > 1)
    if repeated:
        raise BadRequest(
            f"Query parameter(s) sent more than once: {', '.join(repeated)}.",
            {"parameters": repeated},
        )
    return dict(params)
