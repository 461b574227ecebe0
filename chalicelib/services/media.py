"""Media use cases for editors and sites: upload, presigned upload, edit, delete, list, view.

A write is: validate, put the objects (conditionally), update the index; the object-created
event then makes the variants (``services.thumbnails``).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..domain import cursors
from ..domain import media as m
from ..domain.errors import (
    BadRequest,
    CMSError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from ..domain.limits import json_integer, parse_page_size
from ..domain.media_html import Responsive, link_target
from ..domain.media_types import BY_CONTENT_TYPE, MediaType, check_pixels, image_size, sniff
from ..domain.names import normalize_tag, validate_collection_name
from ..domain.timeutil import to_iso
from ..domain.upload_policy import UploadPolicy
from ..ports import (
    Backend,
    MediaQuery,
    ObjectInfo,
    ObjectNotFound,
    ObjectPreconditionFailed,
    StoredObject,
)
from .collections import require_collection


def _now(backend: Backend) -> str:
    return to_iso(backend.clock.now())


def require(backend: Backend, media_id: str) -> m.MediaRecord:
    m.validate_media_id(media_id)
    record = backend.media.get_media(media_id)
    if record is None:
        raise NotFound(f"There is no media asset {media_id!r}.")
    return record


# --- URLs -----------------------------------------------------------------------------------


def _version(record: m.MediaRecord) -> str:
    """A page resource's original can be replaced under the same id, and its variants keep
    their names (``320.webp``): its links carry the original's hash, so a file served as
    immutable is never the old picture under the new link."""
    sha = record.derived.sha256
    return f"?v={sha[:16]}" if record.meta.is_resource and sha else ""


@dataclass(frozen=True)
class MediaUrls:
    """Where a client fetches a file of an asset.

    ``stable`` URLs never expire (a CDN base, or this API's files route, which redirects to
    the bucket on AWS): they go into HTML that sites keep. ``direct`` URLs may be presigned.
    """

    backend: Backend
    base_url: str | None
    api_origin: str

    def stable(self, record: m.MediaRecord, name: str) -> str:
        if self.base_url:
            url = f"{self.base_url}/{m.object_key(record.id, name)}"
        else:
            url = f"{self.api_origin}/v1/media/{record.id}/files/{name}"
        return url + _version(record)

    def direct(self, record: m.MediaRecord, name: str) -> str:
        if self.base_url:
            return self.stable(record, name)
        filename = record.meta.filename if name == m.ORIGINAL else None
        url = self.backend.links.download_url(
            m.object_key(record.id, name), filename=filename, cache_control=m.FILE_CACHE_CONTROL
        )
        return url if url is not None else self.stable(record, name)


def view(
    record: m.MediaRecord, url: Callable[[m.MediaRecord, str], str], *, editor: bool
) -> dict[str, Any]:
    meta, derived = record.meta, record.derived
    body: dict[str, Any] = {
        "id": record.id,
        "filename": meta.filename,
        "alt": meta.alt,
        "caption": meta.caption,
        "focal_point": (
            {"x": meta.focal_point.x, "y": meta.focal_point.y} if meta.focal_point else None
        ),
        "tags": meta.tags,
        "status": derived.status,
        "kind": derived.kind,
        "content_type": derived.content_type,
        "bytes": derived.bytes,
        "width": derived.width,
        "height": derived.height,
        "animated": derived.animated,
        "placeholder": derived.placeholder,
        "dominant_color": derived.dominant_color,
        "created_at": meta.created_at,
        "updated_at": meta.updated_at,
        "variants": [
            {
                "name": v.name,
                "width": v.width,
                "height": v.height,
                "format": v.format,
                "content_type": v.content_type,
                "bytes": v.bytes,
                "url": url(record, v.name),
            }
            for v in derived.variants
        ],
    }
    pieces = Responsive.of(record)
    if pieces is not None:
        body["srcset"] = {
            "webp": pieces.srcset(pieces.webp, lambda v: url(record, v.name)),
            "fallback": pieces.srcset(pieces.fallback, lambda v: url(record, v.name)),
            "sizes": pieces.sizes,
        }
    target = link_target(record)
    body["url"] = url(record, target) if target is not None else None
    if editor:  # where a resource sits in a site (a draft's folder, perhaps) is editors' only
        body["error"] = derived.error
        body["sha256"] = derived.sha256
        body["collection"] = meta.collection
        body["path"] = meta.path
    return body


# --- uploads ----------------------------------------------------------------------------------


def _declared_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _new_meta(
    backend: Backend, filename: str | None, edits: dict[str, Any], fallback: str
) -> m.MediaMeta:
    now = _now(backend)
    meta = m.MediaMeta(
        id=m.new_media_id(int(backend.clock.now().timestamp() * 1000)),
        filename=m.clean_filename(filename, fallback),
        created_at=now,
        updated_at=now,
    )
    return replace(meta, **{k: v for k, v in edits.items() if k != "filename"})


def _put_meta(backend: Backend, meta: m.MediaMeta, *, if_match: str | None = None) -> str:
    info = backend.objects.put(
        m.object_key(meta.id, m.META),
        json.dumps(meta.to_dict(), ensure_ascii=False).encode("utf-8"),
        content_type="application/json",
        if_match=if_match,
        if_none_match=if_match is None,
    )
    backend.media.put_media_meta(meta, sequencer=None)
    return info.etag


def _checked(settings: m.MediaSettings, data: bytes, content_type: str | None) -> MediaType:
    """What a direct upload is, from its bytes; refused here, before anything is stored."""
    if len(data) > settings.max_direct_bytes:
        raise PayloadTooLarge(
            f"Direct uploads are limited to {settings.max_direct_bytes} bytes; use"
            " POST /v1/manage/media/uploads for a presigned upload.",
            {"limit": settings.max_direct_bytes},
        )
    kind = sniff(data, _declared_type(content_type))
    check_pixels(image_size(data, kind), settings.max_pixels)
    return kind


def _put_original(
    backend: Backend, media_id: str, data: bytes, kind: MediaType, *, if_none_match: bool
) -> ObjectInfo:
    return backend.objects.put(
        m.object_key(media_id, m.ORIGINAL),
        data,
        content_type=kind.content_type,
        metadata={"sha256": hashlib.sha256(data).hexdigest()},
        if_none_match=if_none_match,
    )


def _processing(kind: MediaType, data: bytes, *, replaces: str | None = None) -> m.MediaDerived:
    return m.MediaDerived(
        status="processing",
        kind="image" if kind.is_image else "file",
        content_type=kind.content_type,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        replaces=replaces,
    )


def upload(
    backend: Backend,
    settings: m.MediaSettings,
    data: bytes,
    *,
    content_type: str | None,
    filename: str | None,
    edits: dict[str, Any],
) -> m.MediaRecord:
    """A direct upload: the bytes are checked here, then stored; variants follow."""
    kind = _checked(settings, data, content_type)
    meta = _new_meta(backend, filename, edits, f"upload.{kind.extension}")
    _put_meta(backend, meta)
    _put_original(backend, meta.id, data, kind, if_none_match=True)
    backend.media.put_media_derived(meta.id, _processing(kind, data), sequencer=None)
    return require(backend, meta.id)


# --- page resources: a site's file by (collection, path) -------------------------------------

Outcome = Literal["created", "replaced", "unchanged"]
RESOURCE_ATTEMPTS = 3
RESOURCE_FIELDS = ("collection", "path", "sha256")  # of a presigned upload's request
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ResourceUpload:
    record: m.MediaRecord
    outcome: Outcome


_resource_keys: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()
RESOURCE_KEY = "secrets/resource-ids"


def resource_key(backend: Backend) -> bytes:
    """The site's key for page resource ids (made once, kept in the config store)."""
    found = _resource_keys.get(backend.config)
    if found is None:
        value = backend.config.get(RESOURCE_KEY) or backend.config.put_if_absent(
            RESOURCE_KEY, secrets.token_hex(32), secret=True
        )
        found = _resource_keys[backend.config] = bytes.fromhex(value)
    return found


def resource_of(backend: Backend, collection: str, path: str) -> str:
    """The media id of a collection's page resource at ``path``."""
    return m.resource_id(collection, path, resource_key(backend))


def resource_target(backend: Backend, collection: Any, path: Any) -> tuple[str, str, str]:
    """(collection, path, media id) of a resource upload: the path valid (422), the
    collection existing (404)."""
    if not isinstance(collection, str):
        raise ValidationFailed("collection must be a string.", [])
    m.validate_resource_path(path)
    require_collection(backend, collection)
    return collection, path, resource_of(backend, collection, path)


def _stored_resource_meta(backend: Backend, media_id: str) -> tuple[m.MediaMeta, str] | None:
    """The resource's meta.json and its ETag; None if there is none. An unreadable one is
    replaced by the index row's metadata (or a fresh one) under the same condition."""
    try:
        stored = backend.objects.get(m.object_key(media_id, m.META))
    except ObjectNotFound:
        return None
    meta = _stored_meta(media_id, stored.data)
    if meta is None:
        row = backend.media.get_media(media_id)
        meta = row.meta if row is not None else m.MediaMeta(id=media_id, filename=media_id)
    return meta, stored.info.etag


def _resource_edit(
    backend: Backend,
    media_id: str,
    collection: str,
    path: str,
    filename: str | None,
    edits: dict[str, Any],
) -> tuple[m.MediaMeta | None, str | None, m.MediaMeta]:
    """(the stored meta, its ETag, the meta after this upload) of a resource."""
    stored = _stored_resource_meta(backend, media_id)
    base, meta_etag = stored if stored is not None else (None, None)
    meta = _resource_meta(
        backend, base, media_id=media_id, collection=collection, path=path,
        filename=filename, edits=edits,
    )  # fmt: skip
    return base, meta_etag, meta


def _resource_meta(
    backend: Backend,
    base: m.MediaMeta | None,
    *,
    media_id: str,
    collection: str,
    path: str,
    filename: str | None,
    edits: dict[str, Any],
) -> m.MediaMeta:
    """The metadata after this upload: the editor's kept unless new values were sent."""
    now = _now(backend)
    if base is None:
        base = m.MediaMeta(
            id=media_id,
            filename=m.clean_filename(path.rsplit("/", 1)[-1], media_id),
            created_at=now,
            updated_at=now,
        )
    changes: dict[str, Any] = {k: v for k, v in edits.items() if k != "filename"}
    if filename is not None:
        changes["filename"] = m.clean_filename(filename, base.filename)
    changes.update(collection=collection, path=path)
    meta = replace(base, **changes)
    return meta if meta == base else replace(meta, updated_at=now)


def _same_bytes(info: ObjectInfo, data: bytes) -> bool:
    """True if the stored original has exactly these bytes: its recorded SHA-256, or (for an
    object put by another tool) its ETag, the MD5 of a single-part upload."""
    recorded = {k.lower(): v for k, v in info.metadata.items()}.get("sha256")
    if recorded:
        return bool(recorded == hashlib.sha256(data).hexdigest())
    return info.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()


def upload_resource(
    backend: Backend,
    settings: m.MediaSettings,
    data: bytes,
    *,
    collection: Any,
    path: Any,
    content_type: str | None,
    filename: str | None,
    edits: dict[str, Any],
) -> ResourceUpload:
    """Create the resource, or replace its original (a new version; the editor's metadata
    stays unless new values are sent). The same bytes again change nothing."""
    collection, path, media_id = resource_target(backend, collection, path)
    kind = _checked(settings, data, content_type)
    for _ in range(RESOURCE_ATTEMPTS):
        base, meta_etag, meta = _resource_edit(backend, media_id, collection, path, filename, edits)
        original = backend.objects.head(m.object_key(media_id, m.ORIGINAL))
        try:
            if meta != base:
                _put_meta(backend, meta, if_match=meta_etag)
            if original is not None and _same_bytes(original, data):
                return ResourceUpload(require(backend, media_id), "unchanged")
            _put_original(backend, media_id, data, kind, if_none_match=original is None)
        except ObjectPreconditionFailed:
            continue  # another upload of this resource came first: look again
        replaces = original.etag if original is not None else None
        backend.media.put_media_derived(
            media_id, _processing(kind, data, replaces=replaces), sequencer=None
        )
        outcome: Outcome = "created" if base is None else "replaced"
        return ResourceUpload(require(backend, media_id), outcome)
    raise PreconditionFailed(
        f"The resource {collection}/{path} kept changing while it was uploaded; try again.", {}
    )


def start_upload(
    backend: Backend, settings: m.MediaSettings, body: dict[str, Any]
) -> tuple[m.MediaRecord, Any, Outcome]:
    """A presigned upload: the asset is created 'uploading' with a form for the file. With
    ``collection`` and ``path``, the form is for that resource's original (created, or
    replaced once the file is posted); with a ``sha256`` equal to the stored original's,
    there is nothing to send and no form ("unchanged")."""
    declared = _declared_type(
        body.get("content_type") if isinstance(body.get("content_type"), str) else ""
    )
    kind = BY_CONTENT_TYPE.get(declared)
    if kind is None:
        raise UnsupportedMediaType(
            f"content_type must be one of {', '.join(sorted(BY_CONTENT_TYPE))}.",
            {"declared": declared},
        )
    size = body.get("bytes")
    if size is not None:
        size = json_integer(size)
        if size is None or size < 1:
            raise ValidationFailed("bytes must be a positive integer.", [])
    if size is not None and size > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"Uploads are limited to {settings.max_upload_bytes} bytes.",
            {"limit": settings.max_upload_bytes},
        )
    filename = body.get("filename")
    if filename is not None and not isinstance(filename, str):
        raise ValidationFailed("filename must be a string.", [])
    unknown = sorted(set(body) - {"content_type", "bytes", *RESOURCE_FIELDS, *m.EDITABLE})
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)}.", [])
    edits = m.validate_edits(body, partial=True)
    if not any(body.get(f) is not None for f in RESOURCE_FIELDS):
        meta = _new_meta(backend, filename, edits, f"upload.{kind.extension}")
        _put_meta(backend, meta)
        return require(backend, meta.id), _form(backend, settings, meta.id, kind, size), "created"
    if body.get("collection") is None or body.get("path") is None:
        raise ValidationFailed(
            "collection and path go together (and sha256 is for a resource's upload).", []
        )
    digest = body.get("sha256")
    if digest is not None and (
        not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower())
    ):
        raise ValidationFailed("sha256 must be 64 hex digits.", [])
    collection, path, media_id = resource_target(backend, body["collection"], body["path"])
    for _ in range(RESOURCE_ATTEMPTS):
        base, meta_etag, meta = _resource_edit(backend, media_id, collection, path, filename, edits)
        try:
            if meta != base:
                _put_meta(backend, meta, if_match=meta_etag)
        except ObjectPreconditionFailed:
            continue
        record = require(backend, media_id)
        if digest is not None and _stored_sha256(backend, record) == digest.lower():
            return record, None, "unchanged"
        form = _form(backend, settings, media_id, kind, size)
        return record, form, "created" if base is None else "replaced"
    raise PreconditionFailed(
        f"The resource {collection}/{path} kept changing while it was uploaded; try again.", {}
    )


def _form(
    backend: Backend, settings: m.MediaSettings, media_id: str, kind: MediaType, size: int | None
) -> Any:
    return backend.links.upload_form(
        m.object_key(media_id, m.ORIGINAL),
        content_type=kind.content_type,
        max_bytes=size or settings.max_upload_bytes,
        expires_in=settings.upload_expires_seconds,
    )


def _stored_sha256(backend: Backend, record: m.MediaRecord) -> str | None:
    """The SHA-256 of the asset's current original: recorded on it, or derived from it."""
    info = backend.objects.head(m.object_key(record.id, m.ORIGINAL))
    if info is None:
        return None
    recorded = {k.lower(): v for k, v in info.metadata.items()}.get("sha256")
    if recorded:
        return recorded
    derived = record.derived
    return derived.sha256 if derived.source_etag == info.etag else None


def accept_local_upload(
    backend: Backend, secret: bytes, fields: dict[str, str], data: bytes
) -> str:
    """Check a local upload form like S3 checks a presigned POST, then store the file."""
    policy = UploadPolicy.decode(fields.get("policy", ""), secret)
    if fields.get("key") != policy.key:
        raise BadRequest("The key does not match the upload policy.", {"field": "key"})
    if fields.get("Content-Type") != policy.content_type:
        raise BadRequest(
            "Content-Type does not match the upload policy.", {"field": "Content-Type"}
        )
    if policy.expired(backend.clock.now()):
        raise BadRequest("The upload policy has expired.", {"field": "policy"})
    if not 1 <= len(data) <= policy.max_bytes:
        raise PayloadTooLarge(
            f"The file must be 1 to {policy.max_bytes} bytes (the upload policy's range).",
            {"limit": policy.max_bytes},
        )
    parsed = m.parse_key(policy.key)
    if parsed is None or parsed[1] != m.ORIGINAL:
        raise BadRequest("The upload policy names no media original.", {"field": "policy"})
    # A form is good for one upload, like a new asset's presigned POST; a resource's may
    # replace the original (S3 does not refuse a second POST either).
    try:
        backend.objects.put(
            policy.key,
            data,
            content_type=policy.content_type,
            metadata={"sha256": hashlib.sha256(data).hexdigest()},
            if_none_match=not m.is_resource_id(parsed[0]),
        )
    except ObjectPreconditionFailed as exc:
        raise PreconditionFailed("This upload was already used.", {}) from exc
    return policy.key


# --- editing ----------------------------------------------------------------------------------


def meta_etag(backend: Backend, media_id: str) -> str | None:
    info = backend.objects.head(m.object_key(media_id, m.META))
    return f'"{info.etag}"' if info is not None else None


def update(
    backend: Backend, media_id: str, body: dict[str, Any], *, if_match: str | None
) -> m.MediaRecord:
    record = require(backend, media_id)
    edits = m.validate_edits(body, partial=False)
    base = record.meta
    try:
        stored = backend.objects.get(m.object_key(media_id, m.META))
        current_etag: str | None = stored.info.etag
    except ObjectNotFound:
        current_etag = None
    else:
        # meta.json is the source of truth, and the condition of the write below: edit what
        # it holds, not the index row, which lags a write whose event is not handled yet.
        base = _stored_meta(media_id, stored.data) or base
    if (
        if_match is not None
        and if_match.strip() != "*"
        and (
            current_etag is None or if_match.strip().strip('"').removeprefix('W/"') != current_etag
        )
    ):
        raise PreconditionFailed("The asset changed since it was read (If-Match).", {})
    meta = replace(base, **edits, updated_at=_now(backend))
    try:
        if current_etag is None:
            _put_meta(backend, meta)
        else:
            _put_meta(backend, meta, if_match=current_etag)
    except ObjectPreconditionFailed as exc:
        raise PreconditionFailed("The asset changed while it was being saved.", {}) from exc
    return require(backend, media_id)


def _stored_meta(media_id: str, data: bytes) -> m.MediaMeta | None:
    try:
        parsed = json.loads(data)
        return m.MediaMeta.from_dict(media_id, parsed) if isinstance(parsed, dict) else None
    except (ValueError, RecursionError, CMSError):
        return None  # invalid (recorded by its event): the index row is the best base


def delete(backend: Backend, media_id: str, *, if_match: str | None) -> None:
    require(backend, media_id)
    if if_match is not None:
        current = meta_etag(backend, media_id)
        if if_match.strip() != "*" and if_match.strip() != current:
            raise PreconditionFailed("The asset changed since it was read (If-Match).", {})
    remove_objects(backend, media_id, keep_meta=False)
    backend.media.delete_media(media_id)


def remove_objects(backend: Backend, media_id: str, *, keep_meta: bool) -> None:
    """Delete the asset's objects: variants and manifest first, the original, then meta."""
    prefix = m.object_key(media_id, "")
    keys = [i.key for i in backend.objects.list_objects(prefix)]
    last = [m.object_key(media_id, m.ORIGINAL), m.object_key(media_id, m.META)]
    for key in [k for k in keys if k not in last] + [k for k in last if k in keys]:
        if keep_meta and key.endswith(f"/{m.META}"):
            continue
        backend.objects.delete(key)


# --- reading ----------------------------------------------------------------------------------


def list_media(
    backend: Backend,
    cursor_secret: bytes,
    *,
    tag: str | None,
    limit: str | None,
    cursor: str | None,
    collection: str | None = None,
) -> tuple[list[m.MediaRecord], str | None]:
    """A page of assets: all or by tag newest first (by id), or a collection's resources by
    path. The cursor holds the last id (or path) seen."""
    size = parse_page_size(limit, default=50, maximum=100)
    try:
        tag_value = normalize_tag(tag) if tag is not None else None
    except ValueError as exc:
        raise BadRequest(f"tag: {exc}.", {"parameter": "tag"}) from exc
    if collection is not None:
        if tag_value is not None:
            raise BadRequest("List by tag or by collection, not both.", {"parameter": "collection"})
        try:
            validate_collection_name(collection)
        except ValidationFailed as exc:
            raise BadRequest(exc.detail, {"parameter": "collection"}) from exc
    # The query a cursor was made for; lists by tag keep the shape their cursors always had.
    made_for: dict[str, Any] = {"media": tag_value}
    if collection is not None:
        made_for["collection"] = collection
    after = None
    if cursor:
        payload = cursors.decode(cursor, cursor_secret)
        if payload.get("q") != made_for or not isinstance(payload.get("a"), str):
            raise BadRequest("The cursor was made for another query.", {"parameter": "cursor"})
        after = payload["a"]
    records = backend.media.list_media(
        MediaQuery(tag=tag_value, limit=size + 1, after=after, collection=collection)
    )
    next_cursor = None
    if len(records) > size:
        records = records[:size]
        last = records[-1]
        position = last.meta.path if collection is not None else last.id
        next_cursor = cursors.encode({"q": made_for, "a": position}, cursor_secret)
    return records, next_cursor


def original(backend: Backend, media_id: str) -> tuple[m.MediaRecord, StoredObject]:
    """An asset's original for its editors (never served publicly: it may carry GPS)."""
    record = require(backend, media_id)
    try:
        stored = backend.objects.get(m.object_key(media_id, m.ORIGINAL))
    except ObjectNotFound as exc:
        raise NotFound(f"Media asset {media_id!r} has no original (yet).") from exc
    return record, stored


def original_url(backend: Backend, record: m.MediaRecord) -> str | None:
    """A short-lived URL of the original in the bucket, or None: the API serves it."""
    return backend.links.download_url(
        m.object_key(record.id, m.ORIGINAL), filename=record.meta.filename
    )


def find_file(backend: Backend, media_id: str, name: str) -> m.MediaRecord:
    """The asset if ``name`` is one of its public files: a variant, or a file's original
    (an image's original is never served: it may carry GPS and other metadata)."""
    record = require(backend, media_id)
    if record.status != "ready":
        raise NotFound(f"Media asset {media_id!r} is not ready.")
    names = {v.name for v in record.derived.variants}
    if record.derived.kind == "file":
        names.add(m.ORIGINAL)
    if name not in names:
        raise NotFound(f"Media asset {media_id!r} has no file {name!r}.")
    return record
