"""The management API for editors: collections, entries, publishing, revisions."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, unquote

from chalice import Blueprint, Response

from ..domain.errors import BadRequest
from ..domain.limits import parse_page_size
from ..domain.paths import to_url, validate_path, validate_section
from ..services import collections, draft_lists, entries, publishing
from ..services.delivery import check_bad_request_params
from ..services.entries import Document
from ..wiring import container
from .auth import require
from .http import (
    ENTRY_TYPES,
    JSON,
    entry_from_json,
    entry_input,
    entry_path,
    if_match,
    json_object,
    json_response,
    media_type,
    query,
    quoted,
    route,
)
from .media import urls

bp = Blueprint(__name__)
BASE = "/v1/manage"
REVISION_RE = re.compile(r"^[A-Za-z0-9._+=-]{1,1024}$")


def _entry_response(doc: Document, status: int = 200) -> Response:
    c = container()
    headers = {"ETag": quoted(doc.etag), "Cache-Control": "no-store"}
    if status == 201:
        headers["Location"] = f"{BASE}/content/{doc.collection}/{to_url(doc.slug)}"
    view = entries.editor_view(c.backend, doc, url_for=urls(c, bp.current_request).stable)
    return json_response(view, status, headers)


# --- collections --------------------------------------------------------------------------


@route(bp, f"{BASE}/collections", methods=["GET"])
def list_collections() -> Response:
    require(bp.current_request, "content:read")
    items = [c.to_public() for c in collections.list_collections(container().backend)]
    return json_response({"items": items})


@route(bp, f"{BASE}/collections/{{name}}", methods=["PUT"], content_types=[JSON])
def put_collection(name: str) -> Response:
    require(bp.current_request, "admin")
    collection, created = collections.put_collection(
        container().backend, name, json_object(bp.current_request)
    )
    headers = {"Location": f"{BASE}/collections/{name}"} if created else {}
    return json_response(collection.to_public(), 201 if created else 200, headers)


@route(bp, f"{BASE}/collections/{{name}}", methods=["GET"])
def get_collection(name: str) -> Response:
    require(bp.current_request, "content:read")
    return json_response(collections.require_collection(container().backend, name).to_public())


@route(bp, f"{BASE}/collections/{{name}}/renders", methods=["GET"])
def get_render_counts(name: str) -> Response:
    require(bp.current_request, "content:read")
    counts = collections.render_counts(container().backend, name)
    return json_response(counts, headers={"Cache-Control": "no-store"})


@route(bp, f"{BASE}/collections/{{name}}", methods=["DELETE"])
def delete_collection(name: str) -> Response:
    require(bp.current_request, "admin")
    collections.delete_collection(container().backend, name)
    return Response(body="", status_code=204)


# --- entries ------------------------------------------------------------------------------


@route(bp, f"{BASE}/content/{{collection}}", methods=["POST"], content_types=ENTRY_TYPES)
def create_entry(collection: str) -> Response:
    """The entry's path: the ``slug`` or ``file`` field of a JSON body, or the ``slug`` or
    ``file`` query parameter with a Markdown body; else made from the front matter's slug or
    title."""
    request = bp.current_request
    require(request, "content:write")
    c = container()
    params = query(request)
    check_bad_request_params(params, {"slug", "file"})
    if media_type(request) == JSON:
        data = json_object(request)
        entry = entry_from_json(data, frozenset({"slug", "file"}))
        path, file = data.get("slug"), data.get("file")
    else:
        entry = entry_input(request)
        path, file = params.get("slug"), params.get("file")
    if isinstance(path, str):
        path = path.replace("~", "/")
    doc = entries.create(c.backend, c.limits, collection, entry, path=path, file=file)
    return _entry_response(doc, 201)


@route(bp, f"{BASE}/content/{{collection}}", methods=["GET"])
def list_drafts(collection: str) -> Response:
    require(bp.current_request, "content:read")
    params = query(bp.current_request)
    limit = parse_page_size(params.get("limit"), default=50, maximum=100)
    status = _choice(params, "status", (None, "pending", "rendered", "failed"))
    stage = _choice(params, "stage", ("draft", "published"), "draft")
    state = _choice(params, "state", (None, *draft_lists.STATES))
    search = params.get("q") or None
    if search is not None and len(search) > draft_lists.MAX_SEARCH:
        raise BadRequest(f"q is at most {draft_lists.MAX_SEARCH} characters.", {"parameter": "q"})
    after = params.get("after")
    if after is not None:
        after = validate_path(after.replace("~", "/"), "after")
    section = params.get("section")
    where = draft_lists.DraftFilter(
        status=status,
        stage="published" if stage == "published" else "draft",
        section=validate_section(section) if section is not None else None,
        state=state,
        search=search,
    )
    items, next_after = draft_lists.list_drafts(
        container().backend, collection, where, limit=limit, after=after
    )
    return json_response({"items": items, "next_after": next_after})


def _choice(
    params: dict[str, str], name: str, allowed: tuple[str | None, ...], default: str | None = None
) -> str | None:
    value = params.get(name, default)
    if value not in allowed:
        names = [a for a in allowed if a is not None]
        raise BadRequest(
            f"{name} must be {', '.join(names[:-1])} or {names[-1]}.", {"parameter": name}
        )
    return value


@route(bp, f"{BASE}/content/{{collection}}/{{slug}}", methods=["GET"])
def get_entry(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:read")
    return _entry_response(entries.read_draft(container().backend, collection, entry_path(slug)))


@route(bp, f"{BASE}/content/{{collection}}/{{slug}}/source", methods=["GET"])
def get_source(collection: str, slug: str) -> Response:
    """The stored document, byte for byte: the draft, or with ``?stage=published`` the
    published snapshot (what an export writes)."""
    request = bp.current_request
    require(request, "content:read")
    params = query(request)
    check_bad_request_params(params, {"stage"})
    stage = _choice(params, "stage", ("draft", "published"), "draft")
    doc = entries.read_source(
        container().backend,
        collection,
        entry_path(slug),
        "published" if stage == "published" else "draft",
    )
    headers = {
        "Content-Type": "text/markdown; charset=utf-8",
        "ETag": quoted(doc.etag),
        "Cache-Control": "no-store",
        "X-CMS-File": quote(doc.source_file, safe="/"),
    }
    return Response(body=doc.text or "", status_code=200, headers=headers)


@route(bp, f"{BASE}/content/{{collection}}/{{slug}}", methods=["PUT"], content_types=ENTRY_TYPES)
def replace_entry(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:write")
    c = container()
    entry = entry_input(bp.current_request)
    doc, created = entries.replace_entry(
        c.backend,
        c.limits,
        collection,
        entry_path(slug),
        entry.front_matter,
        entry.body,
        if_match=if_match(bp.current_request),
        text=entry.text,
    )
    return _entry_response(doc, 201 if created else 200)


@route(bp, f"{BASE}/content/{{collection}}/{{slug}}", methods=["PATCH"], content_types=[JSON])
def patch_entry(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:write")
    c = container()
    changes = json_object(bp.current_request)
    unknown = sorted(set(changes) - {"front_matter", "body"})
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}; send front_matter and/or body.")
    doc = entries.patch_entry(
        c.backend,
        c.limits,
        collection,
        entry_path(slug),
        changes,
        if_match=if_match(bp.current_request),
    )
    return _entry_response(doc)


@route(bp, f"{BASE}/content/{{collection}}/{{slug}}", methods=["DELETE"])
def delete_entry(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:write")
    entries.delete_entry(
        container().backend, collection, entry_path(slug), if_match=if_match(bp.current_request)
    )
    return Response(body="", status_code=204)


# --- publishing ---------------------------------------------------------------------------


@route(
    bp, f"{BASE}/content/{{collection}}/{{slug}}/publish", methods=["POST"], content_types=[JSON]
)
def publish(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:write")
    options: dict[str, Any] = json_object(bp.current_request, required=False)
    unknown = sorted(set(options) - {"publish_at"})
    if unknown:
        raise BadRequest(f"Unknown field(s): {', '.join(unknown)}; only publish_at is taken.")
    result = publishing.publish(
        container().backend,
        collection,
        entry_path(slug),
        publish_at=options.get("publish_at"),
        if_match=if_match(bp.current_request),
    )
    return json_response(result)


@route(
    bp, f"{BASE}/content/{{collection}}/{{slug}}/unpublish", methods=["POST"], content_types=[JSON]
)
def unpublish(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:write")
    return json_response(publishing.unpublish(container().backend, collection, entry_path(slug)))


# --- revisions ----------------------------------------------------------------------------


@route(bp, f"{BASE}/content/{{collection}}/{{slug}}/revisions", methods=["GET"])
def list_revisions(collection: str, slug: str) -> Response:
    require(bp.current_request, "content:read")
    items = entries.list_revisions(container().backend, collection, entry_path(slug))
    return json_response({"items": items})


@route(
    bp,
    f"{BASE}/content/{{collection}}/{{slug}}/revisions/{{revision}}/restore",
    methods=["POST"],
    content_types=[JSON],
)
def restore_revision(collection: str, slug: str, revision: str) -> Response:
    require(bp.current_request, "content:write")
    c = container()
    # A client may percent-encode '+' and '=' of a revision id: API Gateway decodes path
    # parameters, `chalice local` hands them over as sent. An id has no '%' of its own.
    revision = unquote(revision)
    if not REVISION_RE.fullmatch(revision):
        raise BadRequest("That is not a revision id.", {"parameter": "revision"})
    doc = entries.restore_revision(
        c.backend,
        c.limits,
        collection,
        entry_path(slug),
        revision,
        if_match=if_match(bp.current_request),
    )
    return _entry_response(doc)
