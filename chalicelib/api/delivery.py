"""The public, read-only delivery API: published, due entries only."""

from __future__ import annotations

import os

from chalice import Blueprint, Response

from ..services import delivery
from ..wiring import container
from .http import JSON, json_response, none_match, query, route

bp = Blueprint(__name__)

LIST_PARAMS = {"tag", "sort", "limit", "cursor"}


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
    entry = delivery.find_published(c.backend, collection, slug)
    headers = {
        "ETag": entry.etag,
        "Cache-Control": _cache_control(
            "CMS_ENTRY_CACHE_CONTROL", "public, max-age=60, stale-while-revalidate=300"
        ),
    }
    if none_match(bp.current_request, entry.etag):
        return Response(body="", status_code=304, headers=headers)
    body = delivery.entry_body(c.backend, entry)
    return Response(body=body, status_code=200, headers={"Content-Type": JSON, **headers})


@route(bp, "/health", methods=["GET"])
def health() -> Response:
    c = container()
    c.backend.index.get_collection("health-check")
    return json_response(
        {"status": "ok", "backend": c.backend_name}, headers={"Cache-Control": "no-store"}
    )
