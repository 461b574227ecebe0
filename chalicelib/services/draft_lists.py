"""Editors' lists of a collection's entries by path: every draft with where it stands in
publishing, filtered by that state and by a search in titles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ..domain.entries import EntryRecord, Stage, publication_state
from ..domain.timeutil import to_iso
from ..ports import Backend, ManageQuery
from .collections import require_collection

State = Literal["draft", "scheduled", "published", "expired"]
STATES: tuple[State, ...] = ("draft", "scheduled", "published", "expired")
MAX_SEARCH = 200  # characters of a title search
# A filtered page reads the index in batches and stops after this many entries, full or not:
# a search through a large collection answers in bounded time and says where to go on.
BATCH = 100
SCAN_LIMIT = 1_000


@dataclass(frozen=True)
class DraftFilter:
    """Which entries a page lists: a render status and a stage (what the index filters), a
    publication state and a case-insensitive search in titles and paths (what this reads)."""

    status: str | None = None
    stage: Stage = "draft"
    section: str | None = None
    state: str | None = None  # one of STATES
    search: str | None = None

    @property
    def filtered(self) -> bool:
        return self.state is not None or bool(self.search)

    def matches(self, item: dict[str, Any]) -> bool:
        if self.state is not None and item["state"] != self.state:
            return False
        if not self.search:
            return True
        needle = self.search.casefold()
        return needle in (item["title"] or "").casefold() or needle in item["slug"]


def _state(record: EntryRecord | None, now: str) -> tuple[State, str | None, str | None]:
    """The publication state, ``published_at`` and ``expires_at`` of a published snapshot."""
    if record is None or record.deleted:
        return "draft", None, None
    state = publication_state(record.published_at, record.expires_at, now)
    return state, record.published_at, record.expires_at


def _snapshots(
    backend: Backend, collection: str, section: str | None, after: str | None, slugs: list[str]
) -> dict[str, EntryRecord]:
    """The published snapshots of a page of drafts (``slugs``, in path order, all after
    ``after``). The snapshots in the page's range of paths are read in order, as long as
    that range is about as dense as the page (usually one query); the page's other paths,
    when the page is sparse (a status filter picks a few entries across a collection), one
    by one, rather than every snapshot of the collection in between."""
    wanted, last = set(slugs), slugs[-1]
    found: dict[str, EntryRecord] = {}
    for _ in range(2 + len(slugs) // BATCH):
        query = ManageQuery(collection, "published", limit=BATCH, after=after, section=section)
        records = backend.index.list_entries(query)
        for record in records:
            if record.slug > last:
                return found
            if record.slug in wanted:
                found[record.slug] = record
        if len(records) < BATCH:
            return found
        after = records[-1].slug
    for slug in slugs:
        if after is not None and slug > after:
            record = backend.index.get_entry(collection, "published", slug)
            if record is not None and not record.deleted:
                found[slug] = record
    return found


def _summary(
    record: EntryRecord, state: State, published_at: str | None, expires_at: str | None
) -> dict[str, Any]:
    return {
        "slug": record.slug,
        "kind": record.kind,
        "file": record.source_file,
        "title": record.title,
        "tags": record.tags,
        "updated_at": record.updated_at,
        "etag": record.source_etag,
        "render_status": record.render_status,
        "render_error": record.render_error,
        "state": state,
        "published_at": published_at,
        "expires_at": expires_at,
    }


def _items(
    backend: Backend, collection: str, where: DraftFilter, after: str | None, batch: int
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every entry after ``after`` in path order, with whether it matches, a batch at a
    time; ends with the index."""
    now = to_iso(backend.clock.now())
    while True:
        query = ManageQuery(
            collection, where.stage, where.status, limit=batch, after=after, section=where.section
        )
        records = backend.index.list_entries(query)
        if not records:
            return
        if where.stage == "published":
            published = {r.slug: r for r in records}
        else:
            slugs = [r.slug for r in records]
            published = _snapshots(backend, collection, where.section, after, slugs)
        for record in records:
            item = _summary(record, *_state(published.get(record.slug), now))
            yield item, where.matches(item)
        if len(records) < batch:
            return
        after = records[-1].slug


def list_drafts(
    backend: Backend,
    collection: str,
    where: DraftFilter,
    *,
    limit: int,
    after: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the collection's drafts (or published snapshots) by path, each with its
    publication ``state``, and the path to pass as ``after`` for the next page (None at the
    end). Filtered by state or search, a page reads at most SCAN_LIMIT entries: it may hold
    fewer than ``limit`` items and still have a next one."""
    require_collection(backend, collection)
    batch = BATCH if where.filtered else limit + 1
    items: list[dict[str, Any]] = []
    for scanned, (item, wanted) in enumerate(_items(backend, collection, where, after, batch), 1):
        if wanted:
            items.append(item)
        if len(items) > limit:
            return items[:limit], items[limit - 1]["slug"]
        if where.filtered and scanned >= SCAN_LIMIT:
            return items, item["slug"]
    return items, None
