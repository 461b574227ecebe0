"""The change log behind ``GET /v1/sync``: at most three rows per entry, its last words.

A row's *position* is ``{instant}#{collection}#{slug}`` with the instant to the microsecond,
so positions sort as text in time order and never tie. Readers never read past "now". The
log is compacted: a write replaces the entry's rows (``rows_after``), so a reader who pages
from a position sees each entry's changes after it in order, and the last word on each.

The rules (docs/architecture.md, "The change feed"), for a write at ``now``:

- a published entry that is due: one upsert at ``now``;
- a published entry scheduled for later: an upsert at its ``published_at`` (readers see it
  when it becomes due, which no write would otherwise mark), and, when readers may have it
  (its last row at or before ``now`` is an upsert), a delete at ``now``: delivery stops
  serving it until then, so a sync client must drop it too;
- a removal (delete, unpublish): a delete at ``now`` only if readers may have the entry;
  otherwise the delete already in the log, or no row at all. A slug that was never served
  publicly (a scheduled entry withdrawn before its time) never appears in the feed;
- a published entry with an end (``expires_at``, Hugo's ``expiryDate``): the rows above and a
  delete at that instant (readers stop seeing it then, which no write marks either); one
  whose end is already past, or not after its ``published_at``, is a removal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from .entries import EntryRecord
from .timeutil import parse_instant

ChangeKind = Literal["upsert", "delete"]
START = ""  # before every position


def instant_us(value: dt.datetime) -> str:
    """A fixed-width UTC instant to the microsecond: '2025-06-01T12:00:00.000000Z'."""
    value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.%fZ")


def position(instant: str, collection: str, slug: str) -> str:
    return f"{instant}#{collection}#{slug}"


@dataclass(frozen=True)
class Change:
    position: str
    kind: ChangeKind
    collection: str
    slug: str
    title: str | None = None
    published_at: str | None = None
    updated_at: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def at(self) -> str:
        return self.position.split("#", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(**{**data, "tags": tuple(data.get("tags") or ())})


def is_visible(record: EntryRecord) -> bool:
    """A published stage readers can get (due or not: due-ness is the position's job)."""
    return (
        record.stage == "published"
        and not record.deleted
        and record.html_key is not None
        and record.published_at is not None
    )


def _upsert(record: EntryRecord, at: str) -> Change:
    return Change(
        position=position(at, record.collection, record.slug),
        kind="upsert",
        collection=record.collection,
        slug=record.slug,
        title=record.title,
        published_at=record.published_at,
        updated_at=record.updated_at,
        tags=tuple(record.tags),
    )


def rows_after(
    existing: Sequence[Change], record: EntryRecord, now: dt.datetime
) -> list[Change] | None:
    """The entry's rows of the log once ``record`` (a write of one of its stages) is applied,
    in position order; None leaves them as they are (drafts; a published stage still waiting
    for its render, whose last good rendering readers keep seeing)."""
    if record.stage != "published":
        return None
    at = instant_us(now)
    seen = [c for c in existing if c.at <= at]  # what a reader may already have read
    last_seen = max(seen, key=lambda c: c.position) if seen else None
    readers_have_it = last_seen is not None and last_seen.kind == "upsert"
    collection, slug = record.collection, record.slug
    names = (collection, slug)
    if readers_have_it:
        earlier = [Change(position(at, collection, slug), "delete", *names)]
    else:
        earlier = [last_seen] if last_seen is not None else []
    if record.deleted:
        return earlier
    if not is_visible(record):
        return None
    assert record.published_at is not None
    due = parse_instant(record.published_at)
    ending: list[Change] = []
    if record.expires_at is not None:
        expires = parse_instant(record.expires_at)
        if expires <= max(due, now):  # readers never see it again
            return earlier
        ending = [Change(position(instant_us(expires), collection, slug), "delete", *names)]
    if due <= now:
        return [_upsert(record, at), *ending]
    return [*earlier, _upsert(record, instant_us(due)), *ending]
