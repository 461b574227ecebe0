"""The read side for sites: published, due, rendered entries only."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from ..domain import cursors
from ..domain.entries import (
    EntryRecord,
    author_of,
    entry_href,
    publication_state,
    sort_title,
    text_field,
)
from ..domain.errors import BadRequest, NotFound
from ..domain.limits import Limits, parse_page_size
from ..domain.media import resource_id
from ..domain.media_html import (
    UrlFor,
    referenced_ids,
    relative_images,
    resolve,
    resource_path,
    valid_ids,
)
from ..domain.names import normalize_tag
from ..domain.paths import section_of, validate_path, validate_section
from ..domain.rendering import RENDERER_VERSION  # a constant: Markdown itself stays unloaded
from ..domain.sized_lru import SizedLru
from ..domain.timeutil import to_iso
from ..ports import SORT_ORDERS, Backend, ObjectNotFound, PageQuery
from .collections import require_collection
from .media import resource_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedEntry:
    """One entry for readers, and its strong validator."""

    record: EntryRecord
    etag: str

    def to_dict(self, html: str) -> dict[str, Any]:
        return {**summary(self.record), "html": html, "toc": self.record.toc}


def summary(record: EntryRecord) -> dict[str, Any]:
    fm = record.front_matter
    return {
        "collection": record.collection,
        "slug": record.slug,
        "kind": record.kind,
        "section": section_of(record.slug),
        "href": entry_href(record.collection, record.slug),
        "title": record.title,
        "summary": text_field(fm, "summary") or text_field(fm, "description"),
        "author": author_of(fm),
        "tags": record.tags,
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "expires_at": record.expires_at,
        "excerpt": record.excerpt,
        "reading_time_minutes": record.reading_time_minutes,
        "word_count": record.word_count,
        "front_matter": fm,
    }


def list_query(
    backend: Backend,
    limits: Limits,
    collection: str,
    tag: str | None,
    sort: str | None,
    limit: str | None,
    section: str | None,
) -> tuple[dict[str, Any], int]:
    """A list request's parameters, checked: its scope (what a cursor is bound to), size."""
    require_collection(backend, collection)
    section_value = validate_section(section) if section is not None else None
    order = sort or "-published_at"
    if order not in SORT_ORDERS:
        raise BadRequest(f"sort must be one of {', '.join(SORT_ORDERS)}.", {"parameter": "sort"})
    size = parse_page_size(limit, default=limits.default_page_size, maximum=limits.max_page_size)
    try:
        tag_value = normalize_tag(tag) if tag is not None else None
    except ValueError as exc:
        raise BadRequest(f"tag: {exc}.", {"parameter": "tag"}) from exc
    return {"c": collection, "s": order, "t": tag_value, "p": section_value}, size


def list_published(
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
    scope, size = list_query(backend, limits, collection, tag, sort, limit, section)
    order, tag_value, section_value = scope["s"], scope["t"], scope["p"]
    after = None
    if cursor:
        payload = cursors.decode(cursor, cursor_secret)
        if payload.get("q") != scope or not isinstance(payload.get("a"), list):
            raise BadRequest("The cursor was made for another query.", {"parameter": "cursor"})
        after = tuple(str(x) for x in payload["a"])
        if len(after) != 2:
            raise BadRequest("The cursor is invalid.", {"parameter": "cursor"})
    now = to_iso(backend.clock.now())
    records = backend.index.list_published(
        PageQuery(
            collection=collection,
            now=now,
            sort=order,
            tag=tag_value,
            limit=size + 1,
            after=after,  # type: ignore[arg-type]
            section=section_value,
        )
    )
    next_cursor = None
    if len(records) > size:
        records = records[:size]
        last = records[-1]
        sort_value = sort_title(last.title) if order == "title" else last.published_at
        next_cursor = cursors.encode({"q": scope, "a": [sort_value, last.slug]}, cursor_secret)
    return {"items": [summary(r) for r in records], "next_cursor": next_cursor}


def find_published(backend: Backend, collection: str, slug: str) -> PublishedEntry:
    """The entry readers may see, or NotFound: a draft, an unpublished or a not-yet-due
    entry is indistinguishable from a missing one."""
    require_collection(backend, collection)  # a deleted collection serves nothing
    validate_path(slug)
    record = backend.index.get_entry(collection, "published", slug)
    now = to_iso(backend.clock.now())
    if (
        record is None
        or record.deleted
        or record.html_key is None
        or record.rendered_sha256 is None
        or publication_state(record.published_at, record.expires_at, now) != "published"
    ):
        raise NotFound(f"There is no published entry {slug!r} in {collection!r}.")
    return PublishedEntry(record, entity_tag(record))


def entity_tag(record: EntryRecord) -> str:
    """A strong validator: every field of the response derives from the published source,
    its dates and the renderer version."""
    parts = [
        record.rendered_sha256 or "",
        record.published_at or "",
        record.updated_at or "",
        RENDERER_VERSION,
    ]
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40] + '"'


_bodies: SizedLru[str, str] = SizedLru(32 * 1024 * 1024, len)  # immutable per ETag


def cached_entry(backend: Backend, entry: PublishedEntry) -> tuple[str | None, str | None]:
    """(the JSON body, None) for an entry without media, or (None, its stored HTML) for one
    whose ``media:`` references are resolved per request (``with_media``). Both are cached
    by collection, slug and strong ETag, so a cached value is exactly what would be rebuilt;
    the HTML read is skipped on a hit."""
    record = entry.record
    key = f"{record.collection}/{record.slug}/{entry.etag}"
    body = _bodies.get("b:" + key)
    if body is not None:
        return body, None
    html = _bodies.get("h:" + key)
    if html is not None:
        return None, html
    assert record.html_key is not None
    try:
        html = backend.objects.get(record.html_key).data.decode("utf-8")
    except ObjectNotFound as exc:  # removed by hand or a lifecycle rule: reindex restores
        log.error("rendered HTML %s is missing", record.html_key)
        raise NotFound(
            f"There is no published entry {record.slug!r} in {record.collection!r}."
        ) from exc
    if referenced_ids(html) or relative_images(html):
        _bodies.put("h:" + key, html)
        return None, html
    body = json.dumps(entry.to_dict(html), ensure_ascii=False)
    _bodies.put("b:" + key, body)
    return body, None


@dataclass(frozen=True)
class WithMedia:
    etag: str
    html: str


def page_resources(backend: Backend, record: EntryRecord, html: str) -> dict[str, str]:
    """Relative image ``src`` -> the media id of the collection's page resource it names
    (resolved against the entry's own file: a bundle's ``diagram.png``, ``../img/x.png``)."""
    srcs = relative_images(html)
    if not srcs:
        return {}
    key = resource_key(backend)
    found = {}
    for src in srcs:
        path = resource_path(record.source_file, src)
        if path is not None:
            found[src] = resource_id(record.collection, path, key)
    return found


def resolve_media(
    backend: Backend, html: str, url_for: UrlFor, record: EntryRecord | None = None
) -> str:
    """Rendered HTML with its ``media:`` images, and the page resources of ``record``'s file,
    resolved as the assets are now."""
    resources = page_resources(backend, record, html) if record is not None else {}
    wanted = valid_ids(referenced_ids(html)) + list(resources.values())
    records = backend.media.get_media_many(wanted) if wanted else {}
    return resolve(html, records, url_for, resources)


def with_media(backend: Backend, entry: PublishedEntry, html: str, url_for: UrlFor) -> WithMedia:
    """The entry's HTML with its media resolved as they are now, and an ETag that changes
    when any of them does (an image finishing processing, a new alt text, a deletion)."""
    resolved = resolve_media(backend, html, url_for, entry.record)
    digest = hashlib.sha256(f"{entry.etag}|".encode() + resolved.encode("utf-8")).hexdigest()
    return WithMedia(etag=f'"{digest[:40]}"', html=resolved)


def delivered_html(backend: Backend, entry: PublishedEntry, url_for: UrlFor) -> str:
    """The entry's HTML exactly as ``GET /v1/content/...`` delivers it (feeds embed it)."""
    body, html = cached_entry(backend, entry)
    if html is None:
        assert body is not None
        return str(json.loads(body)["html"])
    return with_media(backend, entry, html, url_for).html


def check_bad_request_params(params: dict[str, str], allowed: set[str]) -> None:
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(
            f"Unknown query parameter(s): {', '.join(unknown)}.", {"parameters": unknown}
        )
