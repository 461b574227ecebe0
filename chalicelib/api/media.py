"""Media routes: editors upload and edit assets; sites read them and fetch their files."""

from __future__ import annotations

import os
import re
from typing import Any

from chalice import Blueprint, Response
from chalice.app import Request

from ..domain import media as m
from ..domain.errors import BadRequest, CMSError, NotFound, PayloadTooLarge
from ..domain.limits import is_ascii_int
from ..domain.media_types import BY_CONTENT_TYPE, sniff
from ..domain.upload_policy import LOCAL_UPLOAD_PATH
from ..ports import ObjectNotFound
from ..services import delivery, media, site
from ..wiring import Container, container, upload_secret
from .auth import require
from .http import (
    JSON,
    if_match,
    json_object,
    json_response,
    none_match,
    query,
    quoted,
    route,
)
from .multipart import parse_form

bp = Blueprint(__name__)
BASE = "/v1/manage/media"
FORM = "multipart/form-data"
# Accepted as request bodies so the bytes reach the sniffer (which refuses what it must);
# also served as binary responses (app.api.binary_types).
UPLOAD_TYPES = [
    *sorted(BY_CONTENT_TYPE),
    "application/octet-stream",
    "image/svg+xml",
    "image/tiff",
    "image/bmp",
    "image/heic",
]
BINARY_TYPES = [*UPLOAD_TYPES, FORM]
LIST_PARAMS = {"tag", "limit", "cursor", "collection"}
_STAGE = re.compile(r"[A-Za-z0-9_-]{1,128}")  # an API Gateway stage name
UPLOAD_PARAMS = {"filename", "alt", "caption", "tags", "collection", "path"}
PRIVATE = "private, no-store"


def binary_needs_accept() -> bool:
    """Whether a binary body needs an Accept header naming a binary type: behind API Gateway
    (AWS backend) yes; the local backend's server sends bytes to any client."""
    return container().backend_name != "local"


def _accepts_binary(request: Request, content_type: str) -> bool:
    """Whether Chalice will let a binary body through for this request: it needs an Accept
    header naming a binary type (the response's) or */*, unless no rule needs one."""
    if not binary_needs_accept():
        return True
    accept = (request.headers.get("accept") or "").lower()
    ranges = {part.split(";")[0].strip() for part in accept.split(",")}
    return bool(ranges & {"*/*", content_type.lower(), *(t.lower() for t in BINARY_TYPES)})


def api_origin(request: Request) -> str:
    """This API's public base URL for links in responses: ``CMS_PUBLIC_URL``, else the site
    settings' ``api_url``, else none: links are then paths from this API's root (with the
    API Gateway stage's prefix when the request came through it). Never a request header:
    entry HTML and feeds are public and cached by shared caches, so one request with a
    forged ``Host`` must not decide the links everybody gets."""
    configured = os.environ.get("CMS_PUBLIC_URL", "").rstrip("/")
    if configured:
        return configured
    api_url = site.get_settings(container().backend).api_url
    if api_url:
        return api_url
    context = request.context or {}
    stage, path = str(context.get("stage") or ""), str(context.get("path") or "")
    if _STAGE.fullmatch(stage) and path.startswith(f"/{stage}/"):
        return f"/{stage}"
    return ""


def urls(c: Container, request: Request) -> media.MediaUrls:
    return media.MediaUrls(c.backend, c.limits.media.base_url, api_origin(request))


def _editor_response(record: m.MediaRecord, status: int = 200, **extra: Any) -> Response:
    c = container()
    request = bp.current_request
    body = media.view(record, urls(c, request).direct, editor=True) | extra
    headers = {"Cache-Control": "no-store"}
    etag = media.meta_etag(c.backend, record.id)
    if etag is not None:
        headers["ETag"] = etag
    if status == 201:
        headers["Location"] = f"{BASE}/{record.id}"
    return json_response(body, status, headers)


def _filename(request: Request, params: dict[str, str]) -> str | None:
    if "filename" in params:
        return params["filename"]
    disposition = request.headers.get("content-disposition", "")
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename" and value:
            return value.strip('"')
    return None


# --- management -----------------------------------------------------------------------------


@route(bp, BASE, methods=["POST"], content_types=UPLOAD_TYPES)
def upload() -> Response:
    request = bp.current_request
    require(request, "media:write")
    params = query(request)
    delivery.check_bad_request_params(params, UPLOAD_PARAMS)
    c = container()
    limit = c.limits.media.max_direct_bytes
    declared = request.headers.get("content-length", "")
    if is_ascii_int(declared) and int(declared) > limit:
        raise PayloadTooLarge(
            f"Direct uploads are limited to {limit} bytes; use POST {BASE}/uploads for a"
            " presigned upload.",
            {"limit": limit},
        )
    edits = m.validate_edits(
        {k: v for k, v in params.items() if k not in ("filename", "collection", "path")},
        partial=True,
    )
    if "collection" in params or "path" in params:
        if "collection" not in params or "path" not in params:
            raise BadRequest(
                "collection and path go together: the resource's collection and its file's"
                " path in it.",
                {"parameter": "path" if "collection" in params else "collection"},
            )
        result = media.upload_resource(
            c.backend,
            c.limits.media,
            request.raw_body or b"",
            collection=params["collection"],
            path=params["path"],
            content_type=request.headers.get("content-type"),
            filename=_filename(request, params),
            edits=edits,
        )
        return _editor_response(result.record, 201 if result.outcome == "created" else 200)
    record = media.upload(
        c.backend,
        c.limits.media,
        request.raw_body or b"",
        content_type=request.headers.get("content-type"),
        filename=_filename(request, params),
        edits=edits,
    )
    return _editor_response(record, 201)


@route(bp, f"{BASE}/uploads", methods=["POST"], content_types=[JSON])
def start_upload() -> Response:
    request = bp.current_request
    require(request, "media:write")
    c = container()
    record, form, outcome = media.start_upload(c.backend, c.limits.media, json_object(request))
    upload = None
    if form is not None:
        url = form.url if not form.url.startswith("/") else api_origin(request) + form.url
        upload = {
            "method": "POST",
            "url": url,
            "fields": form.fields,
            "file_field": "file",
            "expires_at": form.expires_at,
            "max_bytes": form.max_bytes,
        }
    return _editor_response(record, 201 if outcome == "created" else 200, upload=upload)


@route(bp, BASE, methods=["GET"])
def list_media() -> Response:
    request = bp.current_request
    require(request, "media:read")
    params = query(request)
    delivery.check_bad_request_params(params, LIST_PARAMS)
    c = container()
    records, next_cursor = media.list_media(
        c.backend,
        c.cursor_secret,
        tag=params.get("tag"),
        limit=params.get("limit"),
        cursor=params.get("cursor"),
        collection=params.get("collection"),
    )
    direct = urls(c, request).direct
    items = [media.view(r, direct, editor=True) for r in records]
    return json_response(
        {"items": items, "next_cursor": next_cursor}, headers={"Cache-Control": "no-store"}
    )


@route(bp, f"{BASE}/{{media_id}}", methods=["GET"])
def get_media(media_id: str) -> Response:
    require(bp.current_request, "media:read")
    return _editor_response(media.require(container().backend, media_id))


@route(bp, f"{BASE}/{{media_id}}/original", methods=["GET"])
def get_original(media_id: str) -> Response:
    """The original's exact bytes, for editors and exporters: on AWS a redirect to a
    short-lived presigned URL of the bucket (the bytes never pass through Lambda); locally
    the bytes, which Chalice lets through only for an Accept header naming a binary type or
    */* (otherwise: 400 problem+json, like the files route). Never public: an image's
    original may carry GPS."""
    request = bp.current_request
    require(request, "media:read")
    c = container()
    record = media.require(c.backend, media_id)
    url = media.original_url(c.backend, record)
    if url is not None:
        info = c.backend.objects.head(m.object_key(media_id, m.ORIGINAL))
        if info is None:
            raise NotFound(f"Media asset {media_id!r} has no original (yet).")
        headers = {"Location": url, "Cache-Control": PRIVATE, "ETag": quoted(info.etag)}
        return Response(body="", status_code=307, headers=headers)
    record, stored = media.original(c.backend, media_id)
    # The type its bytes are, never the one it was stored with (a tool may have put a PDF
    # into the bucket as text/html); anything else is served as bytes.
    try:
        content_type = sniff(stored.data).content_type
    except CMSError:
        content_type = "application/octet-stream"
    etag = quoted(stored.info.etag)
    headers = {
        "ETag": etag,
        "Cache-Control": PRIVATE,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": m.content_disposition(record.meta.filename, "attachment"),
    }
    if none_match(request, etag):
        return Response(body="", status_code=304, headers=headers)
    if not _accepts_binary(request, content_type):
        # Chalice would refuse the binary body with its own 400: say what to send instead.
        raise BadRequest(
            f"The original is binary ({content_type}): send an Accept header naming its type"
            " or */*.",
            {"header": "Accept", "content_type": content_type},
        )
    headers["Content-Type"] = content_type
    return Response(body=stored.data, status_code=200, headers=headers)


@route(bp, f"{BASE}/{{media_id}}", methods=["PATCH"], content_types=[JSON])
def patch_media(media_id: str) -> Response:
    request = bp.current_request
    require(request, "media:write")
    record = media.update(
        container().backend,
        media_id,
        json_object(request),
        if_match=request.headers.get("if-match"),
    )
    return _editor_response(record)


@route(bp, f"{BASE}/{{media_id}}", methods=["DELETE"])
def delete_media(media_id: str) -> Response:
    request = bp.current_request
    require(request, "media:write")
    match = if_match(request)
    media.delete(container().backend, media_id, if_match=quoted(match) if match else None)
    return Response(body="", status_code=204)


# --- delivery -------------------------------------------------------------------------------


@route(bp, "/v1/media/{media_id}", methods=["GET"])
def get_public_media(media_id: str) -> Response:
    c = container()
    record = media.require(c.backend, media_id)
    if record.status != "ready":
        raise NotFound(f"Media asset {media_id!r} is not ready.")
    body = media.view(record, urls(c, bp.current_request).direct, editor=False)
    presigned = c.limits.media.base_url is None and c.backend_name == "aws"
    cache = "private, max-age=300" if presigned else "public, max-age=300"
    return json_response(body, headers={"Cache-Control": cache})


@route(bp, "/v1/media/{media_id}/files/{name}", methods=["GET"])
def get_file(media_id: str, name: str) -> Response:
    c = container()
    record = media.find_file(c.backend, media_id, name)
    request = bp.current_request
    links = urls(c, request)
    direct = links.direct(record, name)
    if direct != links.stable(record, name) or c.limits.media.base_url:
        return Response(
            body="",
            status_code=302,
            headers={"Location": direct, "Cache-Control": "public, max-age=300"},
        )
    try:
        stored = c.backend.objects.get(m.object_key(media_id, name))
    except ObjectNotFound as exc:  # the asset is being deleted (objects go first), or by hand
        raise NotFound(f"Media asset {media_id!r} has no file {name!r}.") from exc
    etag = quoted(stored.info.etag)
    headers = {
        "ETag": etag,
        "Cache-Control": m.FILE_CACHE_CONTROL,
        "X-Content-Type-Options": "nosniff",
    }
    if name == m.ORIGINAL:
        headers["Content-Disposition"] = m.content_disposition(record.meta.filename)
    if none_match(request, etag):
        return Response(body="", status_code=304, headers=headers)
    # An original is served as the type sniffed from its bytes, never as the type it was
    # stored with (a tool may have put a PDF into the bucket as text/html).
    sniffed = record.derived.content_type if name == m.ORIGINAL else None
    headers["Content-Type"] = sniffed or stored.info.content_type
    return Response(body=stored.data, status_code=200, headers=headers)


# --- the local backend's upload form target (S3 takes these directly on AWS) ----------------


@route(bp, LOCAL_UPLOAD_PATH, methods=["POST"], content_types=[FORM])
def local_upload() -> Response:
    c = container()
    if c.backend_name != "local":
        raise NotFound("Uploads go to the bucket's presigned URL on this backend.")
    request = bp.current_request
    body = request.raw_body or b""
    limit = c.limits.media.max_upload_bytes + 65_536
    if len(body) > limit:
        raise PayloadTooLarge(f"The form is over the {limit}-byte limit.", {"limit": limit})
    fields, file = parse_form(request.headers.get("content-type", ""), body)
    if file is None:
        raise BadRequest("The form has no 'file' field.", {"field": "file"})
    media.accept_local_upload(c.backend, upload_secret(c.backend.config), fields, file)
    return Response(body="", status_code=204)
