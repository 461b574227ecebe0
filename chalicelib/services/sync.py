"""The change feed for incremental builds: every published upsert and every removal since a
cursor, in order, from the index's change log (``domain.changes``).

Readers never read past ``now - settle``: a write positioned at its own clock reading may
commit a moment later (DynamoDB; another container's clock), and the settle window keeps a
page from moving past a change that is about to land. Locally, positions are taken inside
SQLite's write lock, so the window is 0. A cursor names the last change it returned (never
an empty stretch after it) and the log's epoch: after a rebuild of the index a stored cursor
is answered with 410 so the client starts again from scratch instead of missing removals.
A cursor is always checked against the epoch as stored now (never a cached copy), so a
rebuild made by another container is seen at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..domain import cursors
from ..domain.changes import START, Change, instant_us
from ..domain.entries import entry_href
from ..domain.errors import BadRequest, Gone
from ..domain.limits import parse_page_size
from ..ports import Backend

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def item(change: Change) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": change.kind,
        "collection": change.collection,
        "slug": change.slug,
        "changed_at": change.at,
    }
    if change.kind == "upsert":
        body.update(
            {
                "title": change.title,
                "published_at": change.published_at,
                "updated_at": change.updated_at,
                "tags": list(change.tags),
                "href": entry_href(change.collection, change.slug),
            }
        )
    return body


def changes_since(
    backend: Backend,
    cursor_secret: bytes,
    *,
    cursor: str | None,
    limit: str | None,
    settle_seconds: float,
) -> dict[str, Any]:
    size = parse_page_size(limit, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
    epoch = backend.index.change_epoch(fresh=cursor is not None)
    after = START
    if cursor:
        payload = cursors.decode(cursor, cursor_secret)
        if payload.get("k") != "sync" or not isinstance(payload.get("p"), str):
            raise BadRequest("The cursor was made for another query.", {"parameter": "cursor"})
        if payload.get("e") != epoch:
            raise Gone(
                "The index was rebuilt after this cursor was made: sync again without a"
                " cursor and replace the local copy with what it returns.",
                {"parameter": "cursor"},
            )
        after = payload["p"]
    until = instant_us(backend.clock.now() - dt.timedelta(seconds=settle_seconds))
    found = backend.index.list_changes(after, until + "\uffff", size + 1)
    page = found[:size]
    last = page[-1].position if page else after
    return {
        "items": [item(c) for c in page],
        "next_cursor": cursors.encode({"k": "sync", "e": epoch, "p": last}, cursor_secret),
        "has_more": len(found) > size,
    }
