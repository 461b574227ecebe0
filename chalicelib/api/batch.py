"""Batch upsert of entries: the bulk path of `cms import`.

``POST /v1/manage/content/{collection}/batch`` takes ``{"items": [...]}``, up to MAX_ITEMS,
each ``{"slug"?, "front_matter", "body", "publish"?, "if_match"?}``. Every item goes through
the same services as the single routes (create, or replace with If-Match, then publish or
unpublish), so validation, conditional writes and events are the same. What is new:

- an item whose normalized front matter and body equal the stored draft writes nothing
  (``unchanged``), and an entry whose published snapshot was made from the current draft is
  not published again: sending the same batch twice changes nothing;
- ``publish``: true makes the draft the published version (its ``published_at`` decides
  published or scheduled), false unpublishes, absent leaves publication alone;
- each item answers on its own: a bad item is a problem+json object in its result, never a
  failed request. The request fails only when the collection does not exist, the key lacks
  ``content:write`` or the body is not a batch at all;
- the response comes once every item is stored, before rendering (on both backends): entries
  list as ``render_status: pending`` until their events are handled.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Response

from ..domain import frontmatter
from ..domain.entries import object_key, validate_front_matter
from ..domain.errors import CMSError, FieldError, NotFound, PreconditionFailed, ValidationFailed
from ..domain.names import slugify, validate_slug
from ..domain.timeutil import to_iso
from ..ports import Backend
from ..services import entries, publishing
from ..services.collections import require_collection
from ..wiring import container
from .auth import require
from .http import JSON, etag_value, json_object, json_response, route
from .problems import TYPE_BASE

bp = Blueprint(__name__)
BASE = "/v1/manage/content"
MAX_ITEMS = 100
ITEM_FIELDS = {"slug", "front_matter", "body", "publish", "if_match"}
IGNORED_ON_COMPARE = {"slug", "updated_at"}

log = logging.getLogger(__name__)


def _problem(error: CMSError) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        **error.extra,
    }


def _item_input(item: Any) -> tuple[dict[str, Any], str, Any, str | None, str | None]:
    if not isinstance(item, dict):
        raise ValidationFailed("An item must be a JSON object.", [FieldError("", "not an object")])
    errors = [
        FieldError(n, "unknown field", "unknown-field") for n in sorted(set(item) - ITEM_FIELDS)
    ]
    fm, body = item.get("front_matter", {}), item.get("body", "")
    publish, slug, match = item.get("publish"), item.get("slug"), item.get("if_match")
    if not isinstance(fm, dict):
        errors.append(FieldError("front_matter", "must be an object", "type"))
    if not isinstance(body, str):
        errors.append(FieldError("body", "must be a string", "type"))
    if publish is not None and not isinstance(publish, bool):
        errors.append(FieldError("publish", "must be true, false or absent", "type"))
    for name, value in (("slug", slug), ("if_match", match)):
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(name, "must be a string", "type"))
    if isinstance(body, str) and not frontmatter.is_utf8(body):
        errors.append(FieldError("body", "must be valid Unicode (no lone surrogates)", "type"))
    if errors:
        raise ValidationFailed("The batch item is invalid.", errors)
    frontmatter.check_json_compatible(fm)
    return fm, body, publish, slug, match


def _slug_of(front_matter: dict[str, Any], given: str | None) -> str:
    in_fm = front_matter.get("slug")
    if given is not None and in_fm is not None and in_fm != given:
        raise ValidationFailed(
            "The item's slug and its front matter slug differ.",
            [FieldError("slug", f"front matter says {in_fm!r}", "slug-mismatch")],
        )
    slug = given or in_fm
    if slug is None:
        title = front_matter.get("title")
        slug = slugify(title) if isinstance(title, str) and title.strip() else ""
    return validate_slug(slug)


def _same(current: entries.Document, normalized: dict[str, Any], body: str) -> bool:
    def comparable(fm: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in fm.items() if k not in IGNORED_ON_COMPARE}

    return (
        current.readable
        and current.body == body
        and comparable(current.front_matter) == comparable(normalized)
    )


def _publication(backend: Backend, collection: str, slug: str) -> str:
    record = backend.index.get_entry(collection, "published", slug)
    if record is None or record.deleted or record.published_at is None:
        return "draft"
    return "scheduled" if record.published_at > to_iso(backend.clock.now()) else "published"


def _upsert(collection: str, item: Any) -> dict[str, Any]:
    c = container()
    backend = c.backend
    fm, body, publish, given_slug, if_match = _item_input(item)
    if_match = etag_value(if_match)  # quoted or not, as the single routes take it
    slug = _slug_of(fm, given_slug)
    result: dict[str, Any] = {"slug": slug}
    try:
        current: entries.Document | None = entries.read_draft(backend, collection, slug)
    except NotFound:
        current = None
    if current is None and if_match is not None:
        raise PreconditionFailed(f"There is no entry {slug!r} to match if_match against.")
    if current is None:
        doc = entries.create_entry(backend, c.limits, collection, {**fm, "slug": slug}, body)
        result["status"] = "created"
    else:
        entries.check_if_match(current.etag, if_match)
        normalized = validate_front_matter(fm, require_collection(backend, collection))
        if _same(current, normalized, body):
            doc, result["status"] = current, "unchanged"
        else:
            doc, _ = entries.replace_entry(
                backend, c.limits, collection, slug, fm, body, if_match=current.etag
            )
            result["status"] = "updated"
    result["etag"] = doc.etag
    published = backend.objects.head(object_key(collection, slug, "published"))
    if publish is True and (published is None or published.metadata.get("draft-etag") != doc.etag):
        result["publication"] = publishing.publish(backend, collection, slug, if_match=doc.etag)[
            "state"
        ]
    elif publish is False and published is not None:
        result["publication"] = publishing.unpublish(backend, collection, slug)["state"]
    else:
        result["publication"] = _publication(backend, collection, slug)
    return result


@route(bp, f"{BASE}/{{collection}}/batch", methods=["POST"], content_types=[JSON])
def batch_upsert(collection: str) -> Response:
    request = bp.current_request
    require(request, "content:write")
    c = container()
    require_collection(c.backend, collection)
    c.defer_events()  # locally rendered in the background, as on AWS (event_delivery.py)
    data = json_object(request)
    items = data.get("items")
    unknown = sorted(set(data) - {"items"})
    if unknown or not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise ValidationFailed(
            f'Send {{"items": [...]}} with 1 to {MAX_ITEMS} entries.',
            [FieldError("items", f"must be a list of 1 to {MAX_ITEMS} items", "invalid")]
            + [FieldError(n, "unknown field", "unknown-field") for n in unknown],
        )
    results: list[dict[str, Any]] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    for index, item in enumerate(items):
        try:
            outcome = _upsert(collection, item)
        except CMSError as error:
            slug = item.get("slug") if isinstance(item, dict) else None
            slug = slug if isinstance(slug, str) else None
            outcome = {"slug": slug, "status": "failed", "error": _problem(error)}
        counts[outcome["status"]] += 1
        results.append({"index": index, **outcome})
    log.info("batch upsert into %s: %s", collection, counts)
    return json_response({"items": results, "summary": counts})
