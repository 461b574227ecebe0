"""The change log behind ``GET /v1/sync``: one row per published entry, its latest change.

A row's *position* is ``{instant}#{collection}#{slug}`` with the instant to the microsecond,
so positions sort as text in time order and never tie. The log is compacted: a new change
to an entry replaces its row, so a reader who pages from a position sees every entry whose
latest change came after it, exactly once, and the last word on each (a deletion is a row
too, kept until the log is rebuilt).

An upsert of an entry scheduled for later is positioned at its ``published_at``: readers,
who never read past "now", see it when it becomes due, which no write would otherwise mark.
"""

from __future__ import annotations

import datetime as dt
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


def change_for(record: EntryRecord, now: dt.datetime) -> Change | None:
    """The change a write of a published stage makes, or None (drafts; a published stage
    still waiting for its render, whose last good rendering readers keep seeing)."""
    if record.stage != "published":
        return None
    collection, slug = record.collection, record.slug
    if record.deleted:
        return Change(position(instant_us(now), collection, slug), "delete", collection, slug)
    if not is_visible(record):
        return None
    assert record.published_at is not None
    due = max(now, parse_instant(record.published_at))
    return Change(
        position=position(instant_us(due), collection, slug),
        kind="upsert",
        collection=collection,
        slug=slug,
        title=record.title,
        published_at=record.published_at,
        updated_at=record.updated_at,
        tags=tuple(record.tags),
    )
