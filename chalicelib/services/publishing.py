"""Publish (now or at a future instant) and unpublish entries."""

from __future__ import annotations

from typing import Any

from ..domain.entries import (
    PUBLISHED_AT_META,
    UPDATED_AT_META,
    EntryRecord,
    derive,
    object_key,
    publication_state,
    validate_front_matter,
)
from ..domain.errors import Conflict, FieldError, NotFound, ValidationFailed
from ..domain.paths import validate_path
from ..domain.timeutil import normalize_instant, to_iso
from ..ports import Backend, ObjectNotFound, ObjectPreconditionFailed
from .collections import require_collection
from .entries import (
    MARKDOWN_TYPE,
    check_if_match,
    file_of,
    parse_stored,
    saved_at,
    stored_draft,
)
from .entry_files import remove_all


def _publish_instant(value: Any) -> str:
    try:
        if not isinstance(value, str):
            raise TypeError
        return normalize_instant(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "publish_at must be an ISO 8601 date-time.",
            [FieldError("publish_at", "must be an ISO 8601 date-time", "invalid-datetime")],
        ) from exc


def _last_published_at(backend: Backend, key: str) -> str | None:
    """The published_at of the latest published snapshot, from the object's versions."""
    for version in backend.objects.list_versions(key):
        if version.is_delete_marker:
            continue
        try:
            info = backend.objects.get(key, version_id=version.version_id).info
        except ObjectNotFound:
            return None
        recorded = (info.metadata or {}).get(PUBLISHED_AT_META)
        return recorded if isinstance(recorded, str) else None
    return None


def publish(
    backend: Backend,
    collection_name: str,
    slug: str,
    *,
    publish_at: Any = None,
    if_match: str | None = None,
) -> dict[str, Any]:
    """Snapshot the current draft, byte for byte, as the published version.

    The date shown to readers is ``publish_at`` if given, else the one the front matter
    gives (``published_at``, Hugo's ``publishDate`` or ``date``, a Jekyll file name), else
    the date of the earlier publication, else now. A date in the future schedules it. The
    date goes on the snapshot's metadata, never into the document.
    """
    collection = require_collection(backend, collection_name)
    path = validate_path(slug)
    file, draft = stored_draft(backend, collection_name, path)
    check_if_match(draft.info.etag, if_match)
    source, _ = parse_stored(draft.data)
    fields = derive(validate_front_matter(source, collection), source, path, file)
    key = object_key(collection_name, file, "published")
    previous = backend.index.get_entry(collection_name, "published", path, consistent=True)
    if publish_at is not None:
        published_at = _publish_instant(publish_at)
    elif fields.published_at is not None:
        published_at = fields.published_at
    else:
        earlier = previous.published_at if previous and not previous.deleted else None
        if earlier is None and previous is not None:  # unpublished once: ask its history
            earlier = _last_published_at(backend, key)
        published_at = earlier or to_iso(backend.clock.now())
    updated_at = fields.updated_at or saved_at(draft.info)
    before = backend.objects.head(key)
    info = backend.objects.put(
        key,
        draft.data,
        content_type=MARKDOWN_TYPE,
        metadata={
            "draft-etag": draft.info.etag,
            "draft-version": draft.info.version_id,
            PUBLISHED_AT_META: published_at,
            UPDATED_AT_META: updated_at,
        },
    )
    if previous is not None and not previous.deleted and previous.source_file != file:
        remove_all(backend, collection_name, "published", path, but=file)  # a stale snapshot
    backend.index.stage_entry(
        EntryRecord(
            collection=collection_name,
            slug=path,
            stage="published",
            title=fields.title,
            front_matter=source,
            tags=fields.tags,
            published_at=published_at,
            updated_at=updated_at,
            source_etag=info.etag,
            version_id=info.version_id,
            file=file,
            expires_at=fields.expires_at,
        ),
        expected_etag=before.etag if before else None,
    )
    return {
        "collection": collection_name,
        "slug": path,
        "state": publication_state(published_at, fields.expires_at, to_iso(backend.clock.now())),
        "published_at": published_at,
        "expires_at": fields.expires_at,
        "draft_etag": draft.info.etag,
        "revision": info.version_id,
    }


def unpublish(backend: Backend, collection_name: str, slug: str) -> dict[str, Any]:
    require_collection(backend, collection_name)
    path = validate_path(slug)
    key = object_key(
        collection_name, file_of(backend, collection_name, path, "published"), "published"
    )
    before = backend.objects.head(key)
    if before is None:
        draft_key = object_key(collection_name, file_of(backend, collection_name, path), "draft")
        if backend.objects.head(draft_key) is None:
            raise NotFound(f"There is no entry {path!r} in {collection_name!r}.")
        return {"collection": collection_name, "slug": path, "state": "draft"}
    try:
        backend.objects.delete(key, if_match=before.etag)
    except ObjectPreconditionFailed as exc:
        raise Conflict("The entry was published again meanwhile; read it and retry.") from exc
    backend.index.stage_removal(collection_name, "published", path, expected_etag=before.etag)
    remove_all(backend, collection_name, "published", path, but="")  # no other snapshot returns
    return {"collection": collection_name, "slug": path, "state": "draft"}
