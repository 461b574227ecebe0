"""The public, read-only delivery API: published, due entries only; drafts for preview
(a key with the ``preview`` scope, or a preview link: services/previews.py)."""

from __future__ import annotations

import json
import os

from chalice import Blueprint, Response
from chalice.app import Request

from ..domain.errors import Unauthorized
from ..services import delivery, preview_reads, previews, sync
from ..wiring import container
from .auth import principal_of
from .http import JSON, entry_path, json_response, none_match, query, route
from .media import urls

bp = Blueprint(__name__)

LIST_PARAMS = {"tag", "sort", "limit", "cursor", "section"}


# A preview is the draft as it is now, for one reader: no cache keeps it, no engine indexes it.
PREVIEW_HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}
# The same URL answers a preview key with the draft: a cache that kept the published answer
# must not hand it to a request with another Authorization (nor the other way round).
VARY = {"Vary": "Authorization"}


def _cache_control(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _preview(request: Request, collection: str, slug: str | None = None) -> bool:
    """Whether this request reads drafts: a preview link to this entry, or a key made with
    the ``preview`` scope. Any other request reads what the site publishes, one with a key
    without the scope or a key that is not valid too (delivery never needed credentials)."""
    token = query(request).get("preview") if slug is not None else None  # links: one entry
    if token is not None:
        c = container()
        previews.check_link(c.backend, c.cursor_secret, token, collection, slug)
        return True
    if not (request.headers.get("authorization") or "").strip():
        return False
    try:
        return previews.SCOPE in principal_of(request).scopes
    except Unauthorized:
        return False


@route(bp, "/v1/content/{collection}", methods=["GET"])
def list_entries(collection: str) -> Response:
    request = bp.current_request
    params = query(request)
    delivery.check_bad_request_params(params, LIST_PARAMS)
    c = container()
    if _preview(request, collection):
        drafts = preview_reads.list_drafts(
            c.backend,
            c.limits,
            c.cursor_secret,
            collection,
            **{k: params.get(k) for k in LIST_PARAMS},
        )
        return json_response(drafts, headers=PREVIEW_HEADERS)
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
            **VARY,
        },
    )


@route(bp, "/v1/content/{collection}/{slug}", methods=["GET"])
def get_entry(collection: str, slug: str) -> Response:
    c = container()
    request = bp.current_request
    path = entry_path(slug)
    if _preview(request, collection, path):
        draft = preview_reads.find_draft(c.backend, collection, path)
        body = preview_reads.entry_body(c.backend, draft, urls(c, request).stable)
        return Response(
            body=body, status_code=200, headers={"Content-Type": JSON, **PREVIEW_HEADERS}
        )
    entry = delivery.find_published(c.backend, collection, path)
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
        **VARY,
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
