"""The object-changed handler for entries: render Markdown to sanitized HTML, fill the index.

Order-safe and idempotent: it reconciles the index with the object as it is *now* and
writes only if the event's sequencer is newer than the one the index holds, so duplicate,
late and shuffled events never regress an entry.
"""

from __future__ import annotations

import contextlib
import logging

from ..domain import frontmatter
from ..domain.entries import EntryRecord, cap_toc, parse_object_key, sha256_hex
from ..domain.entries import validate_front_matter as validate
from ..domain.errors import CMSError, ValidationFailed
from ..domain.limits import Limits
from ..domain.names import validate_collection_name, validate_slug
from ..domain.rendering import render_markdown  # Markdown itself loads on the first render
from ..domain.s3_events import ObjectEvent
from ..domain.timeutil import to_iso
from ..ports import Backend, ObjectNotFound, ObjectPreconditionFailed
from . import webhooks
from .entries import check_markdown_size

log = logging.getLogger(__name__)


def html_key(collection: str, slug: str, source_sha256: str) -> str:
    return f"rendered/{collection}/{slug}/{source_sha256}.html"


def describe(exc: CMSError) -> str:
    if isinstance(exc, ValidationFailed):
        details = [f"{e.field}: {e.message}" for e in exc.errors if e.message != exc.detail]
        return " ".join([exc.detail, "; ".join(details)]) if details else exc.detail
    return exc.detail


def on_entry_object(backend: Backend, limits: Limits, event: ObjectEvent) -> None:
    parsed = parse_object_key(event.key)
    if parsed is None:
        backend.index.record_object_error(
            event.key,
            "Not an entry key: expected {content|published}/{collection}/{slug}.md",
            event.sequencer,
        )
        return
    stage, collection_name, slug = parsed
    try:
        validate_collection_name(collection_name)
        validate_slug(slug)
    except ValidationFailed as exc:
        backend.index.record_object_error(event.key, describe(exc), event.sequencer)
        return
    try:
        stored = backend.objects.get(event.key)
    except ObjectNotFound:
        removed = backend.index.apply_render(
            EntryRecord(
                collection=collection_name,
                slug=slug,
                stage=stage,
                title=slug,
                deleted=True,
                render_status="rendered",
                sequencer=event.sequencer,
            )
        )
        if removed:
            event_name = "entry.unpublished" if stage == "published" else "entry.deleted"
            webhooks.emit(backend, event_name, {"collection": collection_name, "slug": slug})
        return
    collection = backend.index.get_collection(collection_name)
    if collection is None:
        backend.index.record_object_error(
            event.key,
            f"There is no collection named {collection_name!r}; create it, then "
            "reindex or write the object again.",
            event.sequencer,
        )
        return
    try:
        text = stored.data.decode("utf-8")
        fm, body = frontmatter.parse(text)
        fm = validate(fm, collection)
        check_markdown_size(body, limits)
    except UnicodeDecodeError:
        error = "The object is not UTF-8 text."
    except CMSError as exc:
        error = describe(exc)
    else:
        error = None
    if error is not None:
        backend.index.apply_failure(
            collection_name,
            stage,
            slug,
            error=error,
            source_etag=stored.info.etag,
            version_id=stored.info.version_id,
            sequencer=event.sequencer,
        )
        log.warning("entry %s failed to render: %s", event.key, error)
        return

    source_sha = sha256_hex(stored.data)
    rendered = render_markdown(body, summary=fm.get("summary"))
    target = html_key(collection_name, slug, source_sha)
    with contextlib.suppress(ObjectPreconditionFailed):  # content-addressed: written once
        backend.objects.put(
            target,
            rendered.html.encode("utf-8"),
            content_type="text/html; charset=utf-8",
            if_none_match=True,
        )
    published_at = fm.get("published_at")
    if stage == "published" and published_at is None:
        published_at = to_iso(stored.info.last_modified)
        fm["published_at"] = published_at
    record = EntryRecord(
        collection=collection_name,
        slug=slug,
        stage=stage,
        title=fm["title"],
        front_matter={k: v for k, v in fm.items() if k != "slug"},
        tags=list(fm.get("tags", [])),
        published_at=published_at,
        updated_at=fm.get("updated_at") or to_iso(stored.info.last_modified),
        source_etag=stored.info.etag,
        version_id=stored.info.version_id,
        render_status="rendered",
        rendered_sha256=source_sha,
        html_key=target,
        toc=cap_toc(rendered.toc),
        excerpt=rendered.excerpt,
        word_count=rendered.word_count,
        reading_time_minutes=rendered.reading_time_minutes,
        sequencer=event.sequencer,
    )
    if backend.index.apply_render(record) and stage == "published":
        webhooks.emit(
            backend,
            "entry.published",
            {
                "collection": collection_name,
                "slug": slug,
                "title": record.title,
                "published_at": record.published_at,
                "updated_at": record.updated_at,
                "href": f"/v1/content/{collection_name}/{slug}",
            },
        )
