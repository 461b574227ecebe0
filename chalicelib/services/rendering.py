"""The object-changed handler for entries: render Markdown to sanitized HTML, fill the index.

Order-safe and idempotent: it reconciles the index with the object as it is *now* and
writes only if the event's sequencer is newer than the one the index holds, so duplicate,
late and shuffled events never regress an entry.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

from ..domain import frontmatter
from ..domain.entries import (
    PUBLISHED_AT_META,
    EntryRecord,
    Stage,
    cap_toc,
    derive,
    entry_href,
    object_key,
    parse_object_key,
    removal,
    sha256_hex,
)
from ..domain.entries import validate_front_matter as validate
from ..domain.errors import CMSError, ValidationFailed
from ..domain.limits import Limits
from ..domain.names import validate_collection_name
from ..domain.paths import path_of_file
from ..domain.render_budget import RenderRefused
from ..domain.rendering import RENDERER_VERSION  # Markdown itself loads on the first render
from ..domain.s3_events import ObjectEvent
from ..domain.timeutil import to_iso
from ..ports import Backend, ObjectInfo, ObjectNotFound, ObjectPreconditionFailed, OtherFile
from . import webhooks
from .entries import check_markdown_size, saved_at
from .entry_files import files_of_path

log = logging.getLogger(__name__)


def html_key(collection: str, slug: str, source_sha256: str) -> str:
    """Addressed by the source and the renderer's version: a new renderer writes anew."""
    return f"rendered/{collection}/{slug}/{source_sha256}.r{RENDERER_VERSION}.html"


def describe(exc: CMSError) -> str:
    if isinstance(exc, ValidationFailed):
        details = [f"{e.field}: {e.message}" for e in exc.errors if e.message != exc.detail]
        return " ".join([exc.detail, "; ".join(details)]) if details else exc.detail
    return exc.detail


RESOURCE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".pdf")

# An event the handler makes for itself (a file taking over a path; reindex): lower than any
# sequencer S3 sends, so a real event on that key always wins.
OWN_SEQUENCER = "0"


def _removed(
    backend: Backend,
    limits: Limits,
    stage: Stage,
    collection: str,
    path: str,
    event: ObjectEvent,
) -> None:
    file = parse_object_key(event.key)[2]  # type: ignore[index]
    record = removal(collection, stage, path, file, event.sequencer)
    try:
        removed = backend.index.apply_render(record)
    except OtherFile:  # a file the entry never was (one that lost its path), removed
        backend.index.clear_object_error(event.key)
        return
    if not removed:
        return
    others = [f for f in files_of_path(backend, collection, stage, path) if f != file]
    if others:  # another file of the same path takes the entry over
        key = object_key(collection, others[0], stage)
        on_entry_object(backend, limits, ObjectEvent("", key, "ObjectCreated:Put", OWN_SEQUENCER))
        return
    event_name = "entry.unpublished" if stage == "published" else "entry.deleted"
    webhooks.emit(backend, event_name, {"collection": collection, "slug": path})


def _applied(
    backend: Backend,
    stage: Stage,
    collection: str,
    path: str,
    file: str,
    write: Callable[[bool], bool],
) -> bool:
    """``write(replace_file)`` of an event of ``file``; when the entry is another file's (two
    files that make one path, 'Params.md' and 'params.md') the entry is the one whose name
    sorts first, whichever event came first, so a rebuild gives the same answer; the other
    is an object error. Only that rare case costs more than the write itself."""
    try:
        return write(False)
    except OtherFile as conflict:
        other = conflict.file
    if backend.objects.head(object_key(collection, other, stage)) is not None:
        loser, winner = (file, other) if other < file else (other, file)
        backend.index.record_object_error(
            object_key(collection, loser, stage),
            f"{loser} and {winner} are both the entry {path!r} (a path is made of the file's "
            f"slugified name); {winner} is kept. Rename or remove one.",
            None,
        )
        if winner != file:
            return False
    return write(True)  # this file wins, or the entry's file is gone: it takes its place


def _failed(
    backend: Backend,
    event: ObjectEvent,
    stage: Stage,
    collection: str,
    path: str,
    file: str,
    error: str,
    info: ObjectInfo | None = None,
) -> bool:
    """The object could not be rendered: the entry says why, and keeps its last rendering.
    False when the event was older than what the entry holds (nothing was written)."""
    applied = _applied(
        backend,
        stage,
        collection,
        path,
        file,
        lambda replace: backend.index.apply_failure(
            collection,
            stage,
            path,
            error=error,
            source_etag=info.etag if info else event.etag,
            version_id=info.version_id if info else event.version_id,
            sequencer=event.sequencer,
            file=file,
            replace_file=replace,
        ),
    )
    if applied:
        log.warning("entry %s failed to render: %s", event.key, error)
    return applied


def on_entry_object(backend: Backend, limits: Limits, event: ObjectEvent) -> None:
    parsed = parse_object_key(event.key)
    if parsed is None:
        problem = "Not an entry key: expected {content|published}/{collection}/{path}.md"
        if event.key.lower().endswith(RESOURCE_SUFFIXES):
            problem += (
                "; an image of a site's tree is a page resource: upload it with `cms import`"
                " or POST /v1/manage/media?collection=...&path=..."
            )
        backend.index.record_object_error(event.key, problem, event.sequencer)
        return
    stage, collection_name, file = parsed
    try:
        validate_collection_name(collection_name)
        path = path_of_file(file)
    except ValidationFailed as exc:
        backend.index.record_object_error(event.key, describe(exc), event.sequencer)
        return
    try:
        stored = backend.objects.get(event.key)
    except ObjectNotFound:
        _removed(backend, limits, stage, collection_name, path, event)
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
        source, body = frontmatter.parse(text)
        normalized = validate(source, collection)
        check_markdown_size(body, limits)
    except UnicodeDecodeError:
        error = "The object is not UTF-8 text."
    except CMSError as exc:
        error = describe(exc)
    else:
        error = None
    if error is not None:
        _failed(backend, event, stage, collection_name, path, file, error, stored.info)
        return

    fields = derive(normalized, source, path, file)
    source_sha = sha256_hex(stored.data)
    try:
        rendered = backend.renderer.render(
            body, summary=fields.summary, front_matter=source, budget=limits.render_budget
        )
    except RenderRefused as refused:  # recorded once, never retried: it would fail again
        reason = str(refused)
        if _failed(backend, event, stage, collection_name, path, file, reason, stored.info):
            backend.index.record_object_error(event.key, reason, event.sequencer)
        return
    target = html_key(collection_name, path, source_sha)
    with contextlib.suppress(ObjectPreconditionFailed):  # content-addressed: written once
        backend.objects.put(
            target,
            rendered.html.encode("utf-8"),
            content_type="text/html; charset=utf-8",
            if_none_match=True,
        )
    published_at, updated_at = fields.published_at, fields.updated_at or saved_at(stored.info)
    if stage == "published":
        recorded = (stored.info.metadata or {}).get(PUBLISHED_AT_META)
        published_at = recorded or published_at or to_iso(stored.info.last_modified)
    record = EntryRecord(
        collection=collection_name,
        slug=path,
        stage=stage,
        title=fields.title,
        front_matter=source,
        tags=fields.tags,
        published_at=published_at,
        updated_at=updated_at,
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
        file=file,
        expires_at=fields.expires_at,
    )
    applied = _applied(
        backend,
        stage,
        collection_name,
        path,
        file,
        lambda replace: backend.index.apply_render(record, replace_file=replace),
    )
    if applied and stage == "published":
        webhooks.emit(
            backend,
            "entry.published",
            {
                "collection": collection_name,
                "slug": path,
                "kind": record.kind,
                "title": record.title,
                "published_at": record.published_at,
                "updated_at": record.updated_at,
                "href": entry_href(collection_name, path),
            },
        )
