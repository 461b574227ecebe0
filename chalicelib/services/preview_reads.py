"""What preview serves: an entry's draft, rendered, in the delivery routes' shapes.

The same fields as ``delivery`` (summary, HTML with its media resolved, toc), plus
``"preview": true`` and the entry's ``state``: ``draft`` (not published), ``scheduled``
(published for later) or ``published`` (the draft may hold changes not yet published).
Nothing here is cached: a preview is always the draft as it is now.
"""

from __future__ import annotations

import json
from typing import Any

from ..domain import cursors
from ..domain.entries import EntryRecord, snapshot_state, sort_title
from ..domain.errors import BadRequest, Conflict, NotFound
from ..domain.limits import Limits
from ..domain.media_html import UrlFor, referenced_ids, relative_images
from ..domain.paths import validate_path
from ..domain.timeutil import to_iso
from ..ports import Backend, ManageQuery
from .collections import require_collection
from .delivery import PublishedEntry, entity_tag, list_query, summary, with_media

MAX_DRAFTS = 2000  # a preview list reads at most this many drafts (an editor's view)
_PAGE = 500


def find_draft(backend: Backend, collection: str, slug: str) -> PublishedEntry:
    """The entry's draft, if it has been rendered; NotFound, or Conflict (not rendered yet,
    or its render failed: the reason is in the detail)."""
    require_collection(backend, collection)
    validate_path(slug)
    record = backend.index.get_entry(collection, "draft", slug)
    if record is None or record.deleted:
        raise NotFound(f"There is no entry {slug!r} in {collection!r}.")
    if record.html_key is None:
        reason = f": {record.render_error}" if record.render_error else ""
        raise Conflict(
            f"The draft of {slug!r} has no rendering yet ({record.render_status}{reason}).",
            {"render_status": record.render_status},
        )
    return PublishedEntry(record, entity_tag(record))


def state_of(backend: Backend, draft: EntryRecord) -> str:
    published = backend.index.get_entry(draft.collection, "published", draft.slug)
    return snapshot_state(published, to_iso(backend.clock.now()))


def entry_body(backend: Backend, entry: PublishedEntry, url_for: UrlFor) -> str:
    assert entry.record.html_key is not None
    html = backend.objects.get(entry.record.html_key).data.decode("utf-8")
    if referenced_ids(html) or relative_images(html):
        html = with_media(backend, entry, html, url_for).html
    body = {**entry.to_dict(html), "preview": True, "state": state_of(backend, entry.record)}
    return json.dumps(body, ensure_ascii=False)


def _drafts(backend: Backend, collection: str, section: str | None) -> list[EntryRecord]:
    found: list[EntryRecord] = []
    after = None
    while len(found) < MAX_DRAFTS:
        query = ManageQuery(collection, "draft", limit=_PAGE, after=after, section=section)
        page = backend.index.list_entries(query)
        found += [r for r in page if not r.deleted and r.html_key is not None]
        if len(page) < _PAGE:
            break
        after = page[-1].slug
    return found[:MAX_DRAFTS]


def _ordered(records: list[EntryRecord], order: str) -> list[EntryRecord]:
    if order == "title":
        return sorted(records, key=lambda r: (sort_title(r.title), r.slug))
    dated = sorted(records, key=lambda r: (r.published_at or "", r.slug))
    return dated[::-1] if order.startswith("-") else dated


def list_drafts(
    backend: Backend,
    limits: Limits,
    cursor_secret: bytes,
    collection: str,
    *,
    tag: str | None = None,
    sort: str | None = None,
    limit: str | None = None,
    cursor: str | None = None,
    section: str | None = None,
) -> dict[str, Any]:
    """The list route's page over the collection's rendered drafts (undated ones sort as the
    oldest), at most ``MAX_DRAFTS`` of them."""
    scope, size = list_query(backend, limits, collection, tag, sort, limit, section)
    scope = {**scope, "v": "preview"}  # a preview cursor never pages the published list
    offset = 0
    if cursor:
        payload = cursors.decode(cursor, cursor_secret)
        if payload.get("q") != scope or not isinstance(payload.get("o"), int):
            raise BadRequest("The cursor was made for another query.", {"parameter": "cursor"})
        offset = payload["o"]
    records = _drafts(backend, collection, scope["p"])
    if scope["t"] is not None:
        records = [r for r in records if scope["t"] in r.tags]
    ordered = _ordered(records, scope["s"])
    page = ordered[offset : offset + size]
    more = offset + size < len(ordered)
    next_cursor = cursors.encode({"q": scope, "o": offset + size}, cursor_secret) if more else None
    items = [{**summary(r), "preview": True} for r in page]
    return {"items": items, "next_cursor": next_cursor, "preview": True}
