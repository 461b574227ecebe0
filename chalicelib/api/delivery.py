"""The public, read-only delivery API: published, due entries only."""

from __future__ import annotations

import json
import os

from chalice import Blueprint, Response

from ..services import delivery, sync
from ..wiring import container
from .http import JSON, entry_path, json_response, none_match, query, route
from .media import urls

bp = Blueprint(__name__)

LIST_PARAMS = {"tag", "sort", "limit", "cursor", "section"}


def _cache_control(name: str, default: str) -> str:
    return os.environ.get(name, default)


@route(bp, "/v1/content/{collection}", methods=["GET"])
def list_entries(collection: str) -> Response:
    params = query(bp.current_request)
    delivery.check_bad_request_params(params, LIST_PARAMS)
    c = container()
    page = delivery.list_published(
        c.backend,
        c.limits,
        c.cursor_secret,
        collection,
        tag=params.get("tag"),
        sort=params.get("sort"),
        limit=params.get("limit"),
        cursor=params.get("cursor"),
        section=params.get("section"),
    )
    return json_response(
        page,
        headers={
            "Cache-Control": _cache_control("CMS_LIST_CACHE_CONTROL", "public, max-age=30"),
        },
    )


@route(bp, "/v1/content/{collection}/{slug}", methods=["GET"])
def get_entry(collection: str, slug: str) -> Response:
    c = container()
    request = bp.current_request
    entry = delivery.find_published(c.backend, collection, entry_path(slug))
    body, html = delivery.cached_entry(c.backend, entry)
    etag = entry.etag
    if html is not None:  # it refers to media: resolved as they are now
        resolved = delivery.with_media(c.backend, entry, html, urls(c, request).stable)
        etag = resolved.etag
    headers = {
        "ETag": etag,
        "Cache-Control": _cache_control(
            "CMS_ENTRY_CACHE_CONTROL", "public, max-age=60, stale-while-revalidate=300"
        ),
    }
    if none_match(request, etag):
        return Response(body="", status_code=304, headers=headers)
    if html is not None:
        body = json.dumps(entry.to_dict(resolved.html), ensure_ascii=False)
    return Response(body=body, status_code=200, headers={"Content-Type": JSON, **headers})


@route(bp, "/v1/sync", methods=["GET"])
def sync_feed() -> Response:
    params = query(bp.current_request)
    delivery.check_bad_request_params(params, {"cursor", "limit"})
    c = container()
    page = sync.changes_since(
        c.backend,
        c.cursor_secret,
        cursor=params.get("cursor"),
        limit=params.get("limit"),
        settle_seconds=c.limits.sync_settle_seconds,
    )
    return json_response(page, headers={"Cache-Control": "no-store"})


@route(bp, "/health", methods=["GET"])
def health() -> Response:
    c = container()
    c.backend.index.get_collection("health-check")
    return json_response(
        {"status": "ok", "backend": c.backend_name}, headers={"Cache-Control": "no-store"}
    )
