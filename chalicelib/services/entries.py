"""Entries for editors: create, read, replace, patch, delete, revisions and restore.

A write validates, puts the object (conditionally), then stages the index; the
object-created event renders it and completes the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain import frontmatter
from ..domain.collections import Collection
from ..domain.entries import (
    STAGES,
    UPDATED_AT_META,
    EntryRecord,
    Stage,
    derive,
    object_key,
    publication_state,
    reference_fields,
    validate_front_matter,
)
from ..domain.errors import (
    Conflict,
    FieldError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ValidationFailed,
)
from ..domain.limits import Limits
from ..domain.media_html import UrlFor, markdown_ids, valid_ids
from ..domain.names import slugify
from ..domain.paths import (
    check_file,
    default_file,
    kind_of,
    path_of_file,
    section_of,
    validate_path,
)
from ..domain.timeutil import to_iso
from ..ports import (
    Backend,
    ObjectInfo,
    ObjectNotFound,
    ObjectPreconditionFailed,
    StoredObject,
)
from .collections import require_collection
from .delivery import resolve_media
from .entry_files import remove_all

MARKDOWN_TYPE = "text/markdown; charset=utf-8"


@dataclass(frozen=True)
class Document:
    """A draft as stored: its text (exactly as written), front matter, body and version."""

    collection: str
    slug: str  # the entry's path in its collection
    front_matter: dict[str, Any]
    body: str
    etag: str
    version_id: str
    last_modified: str
    readable: bool = True  # False: the stored text is not UTF-8 or its front matter is broken
    file: str | None = None  # the source file; None: '{slug}.md'
    text: str | None = None  # the stored document

    @property
    def source_file(self) -> str:
        return self.file or default_file(self.slug)


@dataclass(frozen=True)
class EntryInput:
    """What a client sends for an entry: a document as text (stored as it is), or front
    matter and body (stored as YAML front matter and the body)."""

    front_matter: dict[str, Any]
    body: str
    text: str | None = None

    def document(self) -> str:
        return (
            self.text
            if self.text is not None
            else frontmatter.serialize(self.front_matter, self.body)
        )


def parse_stored(data: bytes) -> tuple[dict[str, Any], str]:
    """Front matter and body of a stored document; 422 if it is not UTF-8 or not valid."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "The stored document is not UTF-8 text.",
            [FieldError("body", "not UTF-8", "not-utf8")],
        ) from exc
    return frontmatter.parse(text)


def check_markdown_size(body: str, limits: Limits) -> None:
    size = len(body.encode("utf-8"))
    if size > limits.max_markdown_bytes:
        raise PayloadTooLarge(
            f"The Markdown body is {size} bytes; the limit is {limits.max_markdown_bytes}.",
            {"limit": limits.max_markdown_bytes},
        )


def _check_references(
    backend: Backend, collection: Collection, front_matter: dict[str, Any]
) -> None:
    errors = []
    for name, target in reference_fields(collection).items():
        slug = front_matter.get(name)
        if slug is None:
            continue
        record = backend.index.get_entry(target, "draft", slug)
        if record is None or record.deleted:
            errors.append(
                FieldError(
                    f"front_matter.{name}",
                    f"no entry {slug!r} in collection {target!r}",
                    "unknown-reference",
                )
            )
    if errors:
        raise ValidationFailed("The front matter refers to entries that do not exist.", errors)


def prepare(
    backend: Backend,
    limits: Limits,
    collection: Collection,
    front_matter: dict[str, Any],
    body: str,
) -> dict[str, Any]:
    """Validate what an editor sends; returns the normalized front matter the index reads
    (the stored document keeps what was written)."""
    check_markdown_size(body, limits)
    normalized = validate_front_matter(front_matter, collection)
    _check_references(backend, collection, normalized)
    return normalized


def saved_at(info: ObjectInfo) -> str:
    """When a draft was saved: the instant the API recorded on it, else the object's time
    (a file dropped into the bucket)."""
    return (info.metadata or {}).get(UPDATED_AT_META) or to_iso(info.last_modified)


def _record_for(
    collection: str,
    path: str,
    file: str,
    source: dict[str, Any],
    normalized: dict[str, Any],
    info: ObjectInfo,
) -> EntryRecord:
    fields = derive(normalized, source, path, file)
    return EntryRecord(
        collection=collection,
        slug=path,
        stage="draft",
        title=fields.title,
        front_matter=source,
        tags=fields.tags,
        published_at=fields.published_at,
        updated_at=fields.updated_at or saved_at(info),
        source_etag=info.etag,
        version_id=info.version_id,
        render_status="pending",
        file=file,
        expires_at=fields.expires_at,
    )


STALE = (
    "The entry changed since you read it (If-Match does not match); "
    "fetch it again and reapply your change."
)


def _write(
    backend: Backend,
    collection: str,
    path: str,
    file: str,
    entry: EntryInput,
    normalized: dict[str, Any],
    *,
    previous_etag: str | None,
    if_match: str | None,
    create: bool,
) -> Document:
    text = entry.document()
    key = object_key(collection, file, "draft")
    now = to_iso(backend.clock.now())
    try:
        info = backend.objects.put(
            key,
            text.encode("utf-8"),
            content_type=MARKDOWN_TYPE,
            metadata={UPDATED_AT_META: now},
            if_none_match=create,
            if_match=None if create else if_match,
        )
    except ObjectPreconditionFailed as exc:
        if create:
            raise Conflict(
                f"An entry {path!r} already exists in {collection!r}.", {"slug": path}
            ) from exc
        raise PreconditionFailed(STALE) from exc
    backend.index.stage_entry(
        _record_for(collection, path, file, entry.front_matter, normalized, info),
        expected_etag=previous_etag,
    )
    return Document(
        collection,
        path,
        entry.front_matter,
        entry.body,
        info.etag,
        info.version_id,
        saved_at(info),
        file=file,
        text=text,
    )


def _document(collection: str, path: str, file: str, data: bytes, info: ObjectInfo) -> Document:
    """Editors can always open a draft, even a broken one dropped into the bucket; what is
    wrong with it is in the render status, and it can be replaced (PUT), not patched."""
    readable = True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text, readable = data.decode("utf-8", errors="replace"), False
    try:
        fm, body = frontmatter.parse(text)
    except ValidationFailed:
        fm, body, readable = {}, text, False
    return Document(
        collection,
        path,
        fm,
        body,
        info.etag,
        info.version_id,
        saved_at(info),
        readable,
        file=file,
        text=text,
    )


def file_of(backend: Backend, collection: str, path: str, stage: Stage = "draft") -> str:
    """The source file of an entry: the one the index names (a file of any name that maps
    to this path, e.g. 'methods/page/Params.md'), else '{path}.md'."""
    record = backend.index.get_entry(collection, stage, path, consistent=True)
    if record is not None and not record.deleted:
        return record.source_file
    return default_file(path)


def _entry_path(path: str) -> str:
    return validate_path(path)


def stored_draft(backend: Backend, collection: str, path: str) -> tuple[str, StoredObject]:
    """(file, stored object) of an entry's draft; NotFound if there is none."""
    file = file_of(backend, collection, path)
    try:
        return file, backend.objects.get(object_key(collection, file, "draft"))
    except ObjectNotFound as exc:
        raise NotFound(f"There is no entry {path!r} in {collection!r}.") from exc


def read_draft(backend: Backend, collection: str, slug: str) -> Document:
    require_collection(backend, collection)
    path = _entry_path(slug)
    file, stored = stored_draft(backend, collection, path)
    return _document(collection, path, file, stored.data, stored.info)


def read_source(backend: Backend, collection: str, slug: str, stage: Stage) -> Document:
    """The stored document of a stage, as it is in the bucket (the published snapshot for
    'published')."""
    if stage == "draft":
        return read_draft(backend, collection, slug)
    require_collection(backend, collection)
    path = _entry_path(slug)
    file = file_of(backend, collection, path, stage)
    try:
        stored = backend.objects.get(object_key(collection, file, stage))
    except ObjectNotFound as exc:
        raise NotFound(f"Entry {path!r} in {collection!r} is not published.") from exc
    return _document(collection, path, file, stored.data, stored.info)


def new_path(entry: EntryInput) -> str:
    """The path of a new entry that names none: its front matter's slug, else its title."""
    fm = entry.front_matter
    seed = next(
        (v for v in (fm.get("slug"), fm.get("title")) if isinstance(v, str) and v.strip()),
        None,
    )
    if seed is None:
        raise ValidationFailed(
            "Give the entry a title, a slug or a path.",
            [FieldError("front_matter.title", "Field required", "missing")],
        )
    return validate_path(slugify(seed))


def identity(entry: EntryInput, path: str | None, file: str | None) -> tuple[str, str]:
    """(path, file) of a new entry: from the file it comes from, an explicit path, the
    front matter's slug or its title, in that order."""
    if file is not None:
        derived = path_of_file(check_file(file))
        if path is not None and validate_path(path) != derived:
            raise ValidationFailed(
                f"File {file!r} is the entry {derived!r}, not {path!r}.",
                [FieldError("slug", f"must be {derived!r} or absent", "slug-mismatch")],
            )
        return derived, file
    path = validate_path(path) if path is not None else new_path(entry)
    return path, default_file(path)


def create_entry(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    front_matter: dict[str, Any],
    body: str,
    *,
    text: str | None = None,
    path: str | None = None,
    file: str | None = None,
) -> Document:
    """A new draft. ``text``: the document as sent (front matter and body), stored as it is;
    the entry's path comes from ``file``, ``path``, the front matter's slug or title."""
    entry = EntryInput(front_matter, body, text)
    return create(backend, limits, collection_name, entry, path=path, file=file)


def create(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    entry: EntryInput,
    *,
    path: str | None = None,
    file: str | None = None,
) -> Document:
    """``create_entry`` of what a client sent."""
    collection = require_collection(backend, collection_name)
    normalized = prepare(backend, limits, collection, entry.front_matter, entry.body)
    path, file = identity(entry, path, file)
    existing = backend.index.get_entry(collection_name, "draft", path, consistent=True)
    if existing is not None and not existing.deleted:
        taken = backend.objects.head(existing.key) is not None
        if taken:
            raise Conflict(
                f"An entry {path!r} already exists in {collection_name!r}"
                + (f" (file {existing.source_file})." if existing.source_file != file else "."),
                {"slug": path},
            )
    return _write(
        backend,
        collection_name,
        path,
        file,
        entry,
        normalized,
        previous_etag=None,
        if_match=None,
        create=True,
    )


def check_if_match(etag: str, if_match: str | None) -> None:
    if if_match is not None and if_match not in ("*", etag):
        raise PreconditionFailed(STALE, {"current_etag": etag})


def replace_entry(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    slug: str,
    front_matter: dict[str, Any],
    body: str,
    *,
    if_match: str | None,
    text: str | None = None,
) -> tuple[Document, bool]:
    """PUT: replace the draft; creates it when absent and no If-Match was given."""
    entry = EntryInput(front_matter, body, text)
    collection = require_collection(backend, collection_name)
    path = _entry_path(slug)
    file = file_of(backend, collection_name, path)
    previous = backend.objects.head(object_key(collection_name, file, "draft"))
    if previous is None and if_match is not None:
        raise PreconditionFailed(f"There is no entry {path!r} to match If-Match against.")
    if previous is not None:
        check_if_match(previous.etag, if_match)
    normalized = prepare(backend, limits, collection, entry.front_matter, entry.body)
    doc = _write(
        backend,
        collection_name,
        path,
        file,
        entry,
        normalized,
        previous_etag=previous.etag if previous else None,
        if_match=previous.etag if previous else None,
        create=previous is None,
    )
    return doc, previous is None


def patch_entry(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    slug: str,
    changes: dict[str, Any],
    *,
    if_match: str | None,
) -> Document:
    """PATCH: merge front matter (a null removes a field) and optionally replace the body.
    A body-only change keeps the front matter exactly as written (its format included)."""
    collection = require_collection(backend, collection_name)
    current = read_draft(backend, collection_name, slug)
    check_if_match(current.etag, if_match)
    if not current.readable:
        raise ValidationFailed(
            "The stored draft cannot be parsed (see its render error), so it cannot be "
            "patched; replace it with PUT.",
            [FieldError("front_matter", "the stored draft is unreadable", "unreadable-draft")],
        )
    fm_changes = changes.get("front_matter")
    fm_changes = {} if fm_changes is None else fm_changes
    if not isinstance(fm_changes, dict):
        raise ValidationFailed(
            "front_matter must be an object.",
            [FieldError("front_matter", "must be an object", "type")],
        )
    frontmatter.check_json_compatible(fm_changes)
    merged = dict(current.front_matter)
    for name, value in fm_changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    body = changes.get("body", current.body)
    if not isinstance(body, str):
        raise ValidationFailed(
            "body must be a string.", [FieldError("body", "must be a string", "type")]
        )
    if not frontmatter.is_utf8(body):
        raise ValidationFailed(
            "body must be valid Unicode.",
            [FieldError("body", "must be valid Unicode (no lone surrogates)", "type")],
        )
    normalized = prepare(backend, limits, collection, merged, body)
    text = (
        frontmatter.with_body(current.text, body)
        if not fm_changes and current.text is not None
        else None
    )
    return _write(
        backend,
        collection_name,
        current.slug,
        current.source_file,
        EntryInput(merged, body, text),
        normalized,
        previous_etag=current.etag,
        if_match=current.etag,
        create=False,
    )


def delete_entry(backend: Backend, collection: str, slug: str, *, if_match: str | None) -> None:
    """Delete the draft and its published snapshot; revisions stay restorable."""
    require_collection(backend, collection)
    path = _entry_path(slug)
    file = file_of(backend, collection, path)
    info = backend.objects.head(object_key(collection, file, "draft"))
    if info is None:
        raise NotFound(f"There is no entry {path!r} in {collection!r}.")
    check_if_match(info.etag, if_match)
    try:  # the draft first and conditionally: a lost race changes nothing
        backend.objects.delete(object_key(collection, file, "draft"), if_match=info.etag)
    except ObjectPreconditionFailed as exc:
        raise PreconditionFailed("The entry changed while it was being deleted.") from exc
    backend.index.stage_removal(collection, "draft", path, expected_etag=info.etag)
    published_key = object_key(
        collection, file_of(backend, collection, path, "published"), "published"
    )
    published = backend.objects.head(published_key)
    if published is not None:
        backend.objects.delete(published_key)
        backend.index.stage_removal(collection, "published", path, expected_etag=published.etag)
    for stage in STAGES:  # other files of the same path would take the entry's place
        remove_all(backend, collection, stage, path, but="")


def list_revisions(backend: Backend, collection: str, slug: str) -> list[dict[str, Any]]:
    require_collection(backend, collection)
    path = _entry_path(slug)
    file = file_of(backend, collection, path)
    versions = backend.objects.list_versions(object_key(collection, file, "draft"))
    if not versions:
        raise NotFound(f"There is no entry {slug!r} in {collection!r}.")
    return [
        {
            "revision": v.version_id,
            "etag": v.etag or None,
            "size": v.size,
            "saved_at": to_iso(v.last_modified),
            "current": v.is_latest and not v.is_delete_marker,
            "deleted": v.is_delete_marker,
        }
        for v in versions
    ]


def restore_revision(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    slug: str,
    revision: str,
    *,
    if_match: str | None,
) -> Document:
    """Make an earlier revision the current draft again (as a new revision), byte for byte."""
    collection = require_collection(backend, collection_name)
    path = _entry_path(slug)
    file = file_of(backend, collection_name, path)
    key = object_key(collection_name, file, "draft")
    try:
        old = backend.objects.get(key, version_id=revision)
    except ObjectNotFound as exc:
        raise NotFound(f"Entry {path!r} has no revision {revision!r}.") from exc
    fm, body = parse_stored(old.data)
    previous = backend.objects.head(key)
    if if_match is not None and previous is None:
        raise PreconditionFailed(f"There is no entry {path!r} to match If-Match against.")
    if previous is not None:
        check_if_match(previous.etag, if_match)
    normalized = prepare(backend, limits, collection, fm, body)
    return _write(
        backend,
        collection_name,
        path,
        file,
        EntryInput(fm, body, old.data.decode("utf-8")),
        normalized,
        previous_etag=previous.etag if previous else None,
        if_match=previous.etag if previous else None,
        create=previous is None,
    )


def _publication(backend: Backend, collection: str, slug: str) -> dict[str, Any]:
    record = backend.index.get_entry(collection, "published", slug)
    if record is None or record.deleted:
        return {"state": "draft", "published_at": None}
    now = to_iso(backend.clock.now())
    return {
        "state": publication_state(record.published_at, record.expires_at, now),
        "published_at": record.published_at,
        "expires_at": record.expires_at,
        "render_status": record.render_status,
        "render_error": record.render_error,
        "revision": record.version_id,
    }


def media_warnings(backend: Backend, body: str) -> list[dict[str, str]]:
    """The body's ``media:`` references that will not show as images, and why."""
    ids = markdown_ids(body)
    found = backend.media.get_media_many(valid_ids(ids)) if ids else {}
    warnings = []
    for media_id in ids:
        asset = found.get(media_id)
        if asset is None:
            problem = "There is no media asset with this id."
        elif asset.status == "failed":
            problem = f"The asset failed to process: {asset.derived.error}"
        elif asset.status != "ready":
            problem = f"The asset is {asset.status}; it shows once it is ready."
        else:
            continue
        warnings.append({"media_id": media_id, "problem": problem})
    return warnings


def editor_view(
    backend: Backend, doc: Document, *, with_html: bool = True, url_for: UrlFor | None = None
) -> dict[str, Any]:
    """What editors see: the draft, how its render went, and where it stands in publishing."""
    record = backend.index.get_entry(doc.collection, "draft", doc.slug)
    current = record is not None and record.source_etag == doc.etag
    render: dict[str, Any] = {
        "status": record.render_status if current and record else "pending",
        "error": record.render_error if current and record else None,
    }
    if record is not None and current and record.render_status == "rendered":
        html = None
        if with_html and record.html_key:
            try:
                html = backend.objects.get(record.html_key).data.decode("utf-8")
            except ObjectNotFound:
                html = None
        if html is not None and url_for is not None:
            html = resolve_media(backend, html, url_for, record)
        render.update(
            {
                "html": html,
                "toc": record.toc,
                "excerpt": record.excerpt,
                "word_count": record.word_count,
                "reading_time_minutes": record.reading_time_minutes,
            }
        )
    return {
        "collection": doc.collection,
        "slug": doc.slug,
        "kind": kind_of(doc.slug),
        "section": section_of(doc.slug),
        "file": doc.source_file,
        "title": record.title if record is not None and current else None,
        "front_matter": doc.front_matter,
        "body": doc.body,
        "etag": doc.etag,
        "revision": doc.version_id,
        "saved_at": doc.last_modified,
        "render": render,
        "media_warnings": media_warnings(backend, doc.body),
        "publication": _publication(backend, doc.collection, doc.slug),
    }
