"""Publish (now or at a future instant) and unpublish entries."""

from __future__ import annotations

from typing import Any

from ..domain import frontmatter
from ..domain.entries import EntryRecord, object_key, validate_front_matter
from ..domain.errors import CMSError, Conflict, FieldError, NotFound, ValidationFailed
from ..domain.names import validate_slug
from ..domain.timeutil import normalize_instant, to_iso
from ..ports import Backend, ObjectNotFound, ObjectPreconditionFailed
from .collections import require_collection
from .entries import MARKDOWN_TYPE, check_if_match, parse_stored


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


def _last_published_at(backend: Backend, collection: str, slug: str) -> str | None:
    """The published_at of the latest published snapshot, from the object's versions."""
    key = object_key(collection, slug, "published")
    for version in backend.objects.list_versions(key):
        if version.is_delete_marker:
            continue
        try:
            data = backend.objects.get(key, version_id=version.version_id).data
            value = frontmatter.parse(data.decode("utf-8"))[0].get("published_at")
        except (ObjectNotFound, UnicodeDecodeError, CMSError):
            return None
        return value if isinstance(value, str) else None
    return None


def publish(
    backend: Backend,
    collection_name: str,
    slug: str,
    *,
    publish_at: Any = None,
    if_match: str | None = None,
) -> dict[str, Any]:
    """Snapshot the current draft as the published version.

    The date shown to readers is ``publish_at`` if given, else the draft's ``published_at``,
    else the date of the earlier publication, else now. A date in the future schedules it.
    """
    collection = require_collection(backend, collection_name)
    validate_slug(slug)
    try:
        draft = backend.objects.get(object_key(collection_name, slug, "draft"))
    except ObjectNotFound as exc:
        raise NotFound(f"There is no entry {slug!r} in {collection_name!r}.") from exc
    check_if_match(draft.info.etag, if_match)
    fm, body = parse_stored(draft.data)
    fm = validate_front_matter(fm, collection)
    previous = backend.index.get_entry(collection_name, "published", slug)
    if publish_at is not None:
        fm["published_at"] = _publish_instant(publish_at)
    elif "published_at" not in fm:
        earlier = previous.published_at if previous and not previous.deleted else None
        if earlier is None and previous is not None:  # unpublished once: ask its history
            earlier = _last_published_at(backend, collection_name, slug)
        fm["published_at"] = earlier or to_iso(backend.clock.now())
    key = object_key(collection_name, slug, "published")
    before = backend.objects.head(key)
    info = backend.objects.put(
        key,
        frontmatter.serialize(fm, body).encode("utf-8"),
        content_type=MARKDOWN_TYPE,
        metadata={"draft-etag": draft.info.etag, "draft-version": draft.info.version_id},
    )
    backend.index.stage_entry(
        EntryRecord(
            collection=collection_name,
            slug=slug,
            stage="published",
            title=fm["title"],
            front_matter=fm,
            tags=list(fm.get("tags", [])),
            published_at=fm["published_at"],
            updated_at=fm.get("updated_at"),
            source_etag=info.etag,
            version_id=info.version_id,
        ),
        expected_etag=before.etag if before else None,
    )
    scheduled = fm["published_at"] > to_iso(backend.clock.now())
    return {
        "collection": collection_name,
        "slug": slug,
        "state": "scheduled" if scheduled else "published",
        "published_at": fm["published_at"],
        "draft_etag": draft.info.etag,
        "revision": info.version_id,
    }


def unpublish(backend: Backend, collection_name: str, slug: str) -> dict[str, Any]:
    require_collection(backend, collection_name)
    validate_slug(slug)
    key = object_key(collection_name, slug, "published")
    before = backend.objects.head(key)
    if before is None:
        if backend.objects.head(object_key(collection_name, slug, "draft")) is None:
            raise NotFound(f"There is no entry {slug!r} in {collection_name!r}.")
        return {"collection": collection_name, "slug": slug, "state": "draft"}
    try:
        backend.objects.delete(key, if_match=before.etag)
    except ObjectPreconditionFailed as exc:
        raise Conflict("The entry was published again meanwhile; read it and retry.") from exc
    backend.index.stage_removal(collection_name, "published", slug, expected_etag=before.etag)
    return {"collection": collection_name, "slug": slug, "state": "draft"}
