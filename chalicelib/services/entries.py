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
    EntryRecord,
    Stage,
    object_key,
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
from ..domain.media_html import UrlFor, markdown_ids, referenced_ids, resolve, valid_ids
from ..domain.names import slugify, validate_slug
from ..domain.timeutil import to_iso
from ..ports import Backend, ManageQuery, ObjectInfo, ObjectNotFound, ObjectPreconditionFailed
from .collections import require_collection

MARKDOWN_TYPE = "text/markdown; charset=utf-8"


@dataclass(frozen=True)
class Document:
    """A draft as stored: its front matter, body and object version."""

    collection: str
    slug: str
    front_matter: dict[str, Any]
    body: str
    etag: str
    version_id: str
    last_modified: str
    readable: bool = True  # False: the stored text is not UTF-8 or its front matter is broken


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
    """Validate and normalize what an editor sends; stamps ``updated_at``."""
    check_markdown_size(body, limits)
    normalized = validate_front_matter(front_matter, collection)
    _check_references(backend, collection, normalized)
    normalized["updated_at"] = to_iso(backend.clock.now())
    return normalized


def _record_for(
    collection: str, slug: str, front_matter: dict[str, Any], info: ObjectInfo, stage: str
) -> EntryRecord:
    return EntryRecord(
        collection=collection,
        slug=slug,
        stage=stage,  # type: ignore[arg-type]
        title=str(front_matter.get("title", slug)),
        front_matter=front_matter,
        tags=list(front_matter.get("tags", [])),
        published_at=front_matter.get("published_at"),
        updated_at=front_matter.get("updated_at"),
        source_etag=info.etag,
        version_id=info.version_id,
        render_status="pending",
    )


STALE = (
    "The entry changed since you read it (If-Match does not match); "
    "fetch it again and reapply your change."
)


def _write(
    backend: Backend,
    collection: str,
    slug: str,
    front_matter: dict[str, Any],
    body: str,
    *,
    previous_etag: str | None,
    if_match: str | None,
    create: bool,
) -> ObjectInfo:
    stored_fm = {k: v for k, v in front_matter.items() if k != "slug"}
    data = frontmatter.serialize(stored_fm, body).encode("utf-8")
    key = object_key(collection, slug, "draft")
    try:
        info = backend.objects.put(
            key,
            data,
            content_type=MARKDOWN_TYPE,
            if_none_match=create,
            if_match=None if create else if_match,
        )
    except ObjectPreconditionFailed as exc:
        if create:
            raise Conflict(
                f"An entry with slug {slug!r} already exists in {collection!r}.", {"slug": slug}
            ) from exc
        raise PreconditionFailed(STALE) from exc
    backend.index.stage_entry(
        _record_for(collection, slug, stored_fm, info, "draft"),
        expected_etag=previous_etag,
    )
    return info


def _document(collection: str, slug: str, data: bytes, info: ObjectInfo) -> Document:
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
        slug,
        fm,
        body,
        info.etag,
        info.version_id,
        to_iso(info.last_modified),
        readable,
    )


def read_draft(backend: Backend, collection: str, slug: str) -> Document:
    require_collection(backend, collection)
    validate_slug(slug)
    try:
        stored = backend.objects.get(object_key(collection, slug, "draft"))
    except ObjectNotFound as exc:
        raise NotFound(f"There is no entry {slug!r} in {collection!r}.") from exc
    return _document(collection, slug, stored.data, stored.info)


def create_entry(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    front_matter: dict[str, Any],
    body: str,
) -> Document:
    collection = require_collection(backend, collection_name)
    normalized = prepare(backend, limits, collection, front_matter, body)
    slug = normalized.get("slug") or slugify(normalized["title"])
    validate_slug(slug)
    info = _write(
        backend,
        collection_name,
        slug,
        normalized,
        body,
        previous_etag=None,
        if_match=None,
        create=True,
    )
    return read_back(collection_name, slug, normalized, body, info)


def read_back(
    collection: str, slug: str, front_matter: dict[str, Any], body: str, info: ObjectInfo
) -> Document:
    stored_fm = {k: v for k, v in front_matter.items() if k != "slug"}
    return Document(
        collection, slug, stored_fm, body, info.etag, info.version_id, to_iso(info.last_modified)
    )


def _check_slug_unchanged(slug: str, front_matter: dict[str, Any]) -> None:
    given = front_matter.get("slug")
    if given is not None and given != slug:
        raise ValidationFailed(
            "The slug of an entry cannot change; create a new entry and delete this one.",
            [FieldError("front_matter.slug", f"must be {slug!r} or absent", "slug-mismatch")],
        )


def check_if_match(etag: str, if_match: str | None) -> None:
    if if_match is not None and if_match not in ("*", etag):
        raise PreconditionFailed(STALE, {"current_etag": etag})


def _current(backend: Backend, collection: str, slug: str, if_match: str | None) -> ObjectInfo:
    info = backend.objects.head(object_key(collection, slug, "draft"))
    if info is None:
        raise NotFound(f"There is no entry {slug!r} in {collection!r}.")
    check_if_match(info.etag, if_match)
    return info


def replace_entry(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    slug: str,
    front_matter: dict[str, Any],
    body: str,
    *,
    if_match: str | None,
) -> tuple[Document, bool]:
    """PUT: replace the draft; creates it when absent and no If-Match was given."""
    collection = require_collection(backend, collection_name)
    validate_slug(slug)
    _check_slug_unchanged(slug, front_matter)
    previous = backend.objects.head(object_key(collection_name, slug, "draft"))
    if previous is None and if_match is not None:
        raise PreconditionFailed(f"There is no entry {slug!r} to match If-Match against.")
    if previous is not None:
        check_if_match(previous.etag, if_match)
    normalized = prepare(backend, limits, collection, front_matter, body)
    info = _write(
        backend,
        collection_name,
        slug,
        normalized,
        body,
        previous_etag=previous.etag if previous else None,
        if_match=previous.etag if previous else None,
        create=previous is None,
    )
    return read_back(collection_name, slug, normalized, body, info), previous is None


def patch_entry(
    backend: Backend,
    limits: Limits,
    collection_name: str,
    slug: str,
    changes: dict[str, Any],
    *,
    if_match: str | None,
) -> Document:
    """PATCH: merge front matter (a null removes a field) and optionally replace the body."""
    collection = require_collection(backend, collection_name)
    validate_slug(slug)
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
    _check_slug_unchanged(slug, fm_changes)
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
    normalized = prepare(backend, limits, collection, merged, body)
    info = _write(
        backend,
        collection_name,
        slug,
        normalized,
        body,
        previous_etag=current.etag,
        if_match=current.etag,
        create=False,
    )
    return read_back(collection_name, slug, normalized, body, info)


def delete_entry(backend: Backend, collection: str, slug: str, *, if_match: str | None) -> None:
    """Delete the draft and its published snapshot; revisions stay restorable."""
    require_collection(backend, collection)
    validate_slug(slug)
    info = _current(backend, collection, slug, if_match)
    try:  # the draft first and conditionally: a lost race changes nothing
        backend.objects.delete(object_key(collection, slug, "draft"), if_match=info.etag)
    except ObjectPreconditionFailed as exc:
        raise PreconditionFailed("The entry changed while it was being deleted.") from exc
    backend.index.stage_removal(collection, "draft", slug, expected_etag=info.etag)
    published = backend.objects.head(object_key(collection, slug, "published"))
    if published is not None:
        backend.objects.delete(object_key(collection, slug, "published"))
        backend.index.stage_removal(collection, "published", slug, expected_etag=published.etag)


def list_revisions(backend: Backend, collection: str, slug: str) -> list[dict[str, Any]]:
    require_collection(backend, collection)
    validate_slug(slug)
    versions = backend.objects.list_versions(object_key(collection, slug, "draft"))
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
    """Make an earlier revision the current draft again (as a new revision)."""
    collection = require_collection(backend, collection_name)
    validate_slug(slug)
    key = object_key(collection_name, slug, "draft")
    try:
        old = backend.objects.get(key, version_id=revision)
    except ObjectNotFound as exc:
        raise NotFound(f"Entry {slug!r} has no revision {revision!r}.") from exc
    fm, body = parse_stored(old.data)
    previous = backend.objects.head(key)
    if if_match is not None and previous is None:
        raise PreconditionFailed(f"There is no entry {slug!r} to match If-Match against.")
    if previous is not None:
        check_if_match(previous.etag, if_match)
    normalized = prepare(backend, limits, collection, fm, body)
    info = _write(
        backend,
        collection_name,
        slug,
        normalized,
        body,
        previous_etag=previous.etag if previous else None,
        if_match=previous.etag if previous else None,
        create=previous is None,
    )
    return read_back(collection_name, slug, normalized, body, info)


def _publication(backend: Backend, collection: str, slug: str) -> dict[str, Any]:
    record = backend.index.get_entry(collection, "published", slug)
    if record is None or record.deleted:
        return {"state": "draft", "published_at": None}
    now = to_iso(backend.clock.now())
    due = record.published_at is not None and record.published_at <= now
    return {
        "state": "published" if due else "scheduled",
        "published_at": record.published_at,
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
        if html is not None and url_for is not None and referenced_ids(html):
            found = backend.media.get_media_many(valid_ids(referenced_ids(html)))
            html = resolve(html, found, url_for)
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
        "front_matter": doc.front_matter,
        "body": doc.body,
        "etag": doc.etag,
        "revision": doc.version_id,
        "saved_at": doc.last_modified,
        "render": render,
        "media_warnings": media_warnings(backend, doc.body),
        "publication": _publication(backend, doc.collection, doc.slug),
    }


def list_drafts(
    backend: Backend,
    collection: str,
    *,
    status: str | None,
    limit: int,
    after: str | None,
    stage: Stage = "draft",
) -> list[dict[str, Any]]:
    """The drafts of a collection by slug, or its published snapshots (``stage``)."""
    require_collection(backend, collection)
    records = backend.index.list_entries(
        ManageQuery(collection=collection, stage=stage, status=status, limit=limit, after=after)
    )
    return [
        {
            "slug": r.slug,
            "title": r.title,
            "tags": r.tags,
            "updated_at": r.updated_at,
            "etag": r.source_etag,
            "render_status": r.render_status,
            "render_error": r.render_error,
        }
        for r in records
    ]
