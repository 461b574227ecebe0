"""Batch upsert of entries: the bulk path of `cms import`.

``POST /v1/manage/batch/{collection}`` takes ``{"items": [...]}``, up to MAX_ITEMS, each
``{"file"? | "slug"?, "document" | "front_matter" + "body", "publish"?, "if_match"?}``:

- ``file`` (``methods/page/Params.md``) is the entry's source file: its path is made from it
  and the bucket keeps the name, so an export recreates the tree; ``slug`` names the path
  directly; with neither, the front matter's slug or title makes one;
- ``document`` is the Markdown file as it is (front matter included), stored byte for byte.

Every item goes through the same services as the single routes (create, or replace with
If-Match, then publish or unpublish), so validation, conditional writes and events are the
same. What is new:

- an item whose document equals the stored draft (byte for byte, or the same front matter
  and body) writes nothing (``unchanged``), and an entry whose published snapshot was made
  from the current draft is not published again: sending the same batch twice changes nothing;
- ``publish``: true makes the draft the published version (its date decides published or
  scheduled), false unpublishes, absent leaves publication alone;
- each item answers on its own: a bad item is a problem+json object in its result, never a
  failed request. The request fails only when the collection does not exist, the key lacks
  ``content:write`` or the body is not a batch at all;
- the response comes once every item is stored, before rendering (on both backends): entries
  list as ``render_status: pending`` until their events are handled.

It lives outside ``/v1/manage/content/{collection}/`` so that no entry path can shadow it.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Response

from ..domain.entries import object_key, snapshot_state
from ..domain.errors import CMSError, FieldError, NotFound, PreconditionFailed, ValidationFailed
from ..domain.timeutil import to_iso
from ..ports import Backend
from ..services import entries, publishing
from ..services.collections import require_collection
from ..wiring import container
from .auth import require
from .http import JSON, entry_from_json, etag_value, json_object, json_response, route
from .problems import TYPE_BASE

bp = Blueprint(__name__)
PATH = "/v1/manage/batch/{collection}"
MAX_ITEMS = 100
CONTROL_FIELDS = frozenset({"slug", "file", "publish", "if_match"})

log = logging.getLogger(__name__)


def _problem(error: CMSError) -> dict[str, Any]:
    return {
        "type": TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        **error.extra,
    }


def _item_input(
    item: Any,
) -> tuple[entries.EntryInput, Any, str | None, str | None, str | None]:
    if not isinstance(item, dict):
        raise ValidationFailed("An item must be a JSON object.", [FieldError("", "not an object")])
    errors = []
    publish, slug, file, match = (item.get(k) for k in ("publish", "slug", "file", "if_match"))
    if publish is not None and not isinstance(publish, bool):
        errors.append(FieldError("publish", "must be true, false or absent", "type"))
    for name, value in (("slug", slug), ("file", file), ("if_match", match)):
        if value is not None and not isinstance(value, str):
            errors.append(FieldError(name, "must be a string", "type"))
    if errors:
        raise ValidationFailed("The batch item is invalid.", errors)
    entry = entry_from_json(item, CONTROL_FIELDS)
    return entry, publish, slug, file, match


def _same(current: entries.Document, entry: entries.EntryInput) -> bool:
    """A document sent as text is the same only byte for byte (a comment or a quoting
    change is a change); front matter and body, as the values they are."""
    if not current.readable:
        return False
    if entry.text is not None:
        return current.text == entry.text
    return current.body == entry.body and current.front_matter == entry.front_matter


def _publication(backend: Backend, collection: str, path: str) -> str:
    record = backend.index.get_entry(collection, "published", path)
    return snapshot_state(record, to_iso(backend.clock.now()))


def _upsert(collection: str, item: Any) -> dict[str, Any]:
    c = container()
    backend = c.backend
    entry, publish, slug, file, if_match = _item_input(item)
    if_match = etag_value(if_match)  # quoted or not, as the single routes take it
    path = entries.identity(entry, slug.replace("~", "/") if slug else slug, file)[0]
    result: dict[str, Any] = {"slug": path}
    try:
        current: entries.Document | None = entries.read_draft(backend, collection, path)
    except NotFound:
        current = None
    if current is None and if_match is not None:
        raise PreconditionFailed(f"There is no entry {path!r} to match if_match against.")
    if current is None:
        doc = entries.create(backend, c.limits, collection, entry, path=path, file=file)
        result["status"] = "created"
    else:
        entries.check_if_match(current.etag, if_match)
        if file is not None and current.source_file != file:
            raise ValidationFailed(
                f"Entry {path!r} comes from {current.source_file}, not {file}.",
                [FieldError("file", f"the entry's file is {current.source_file}", "conflict")],
            )
        if _same(current, entry):
            doc, result["status"] = current, "unchanged"
        else:
            doc, _ = entries.replace_entry(
                backend,
                c.limits,
                collection,
                path,
                entry.front_matter,
                entry.body,
                if_match=current.etag,
                text=entry.text,
            )
            result["status"] = "updated"
    result["etag"] = doc.etag
    result["file"] = doc.source_file
    published = backend.objects.head(object_key(collection, doc.source_file, "published"))
    if publish is True and (published is None or published.metadata.get("draft-etag") != doc.etag):
        result["publication"] = publishing.publish(backend, collection, path, if_match=doc.etag)[
            "state"
        ]
    elif publish is False and published is not None:
        result["publication"] = publishing.unpublish(backend, collection, path)["state"]
    else:
        result["publication"] = _publication(backend, collection, path)
    return result


@route(bp, PATH, methods=["POST"], content_types=[JSON])
def batch_upsert(collection: str) -> Response:
    request = bp.current_request
    principal = require(request, "content:write")
    c = container()
    require_collection(c.backend, collection)
    c.defer_events(principal.key_id)  # rendered in the background, as on AWS (event_delivery.py)
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
            given = item if isinstance(item, dict) else {}
            outcome = {"status": "failed", "error": _problem(error)}
            for name in ("slug", "file"):
                value = given.get(name)
                outcome[name] = value if isinstance(value, str) else None
        counts[outcome["status"]] += 1
        results.append({"index": index, **outcome})
    log.info("batch upsert into %s: %s", collection, counts)
    return json_response({"items": results, "summary": counts})
