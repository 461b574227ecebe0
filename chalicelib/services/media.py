"""Media use cases for editors and sites: upload, presigned upload, edit, delete, list, view.

A write is: validate, put the objects (conditionally), update the index; the object-created
event then makes the variants (``services.thumbnails``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

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
from ..domain.limits import parse_page_size
from ..domain.media_html import Responsive, link_target
from ..domain.media_types import BY_CONTENT_TYPE, check_pixels, image_size, sniff
from ..domain.names import normalize_tag
from ..domain.timeutil import to_iso
from ..domain.upload_policy import UploadPolicy
from ..ports import Backend, MediaQuery, ObjectNotFound, ObjectPreconditionFailed


def _now(backend: Backend) -> str:
    return to_iso(backend.clock.now())


def require(backend: Backend, media_id: str) -> m.MediaRecord:
    m.validate_media_id(media_id)
    record = backend.media.get_media(media_id)
    if record is None:
        raise NotFound(f"There is no media asset {media_id!r}.")
    return record


# --- URLs -----------------------------------------------------------------------------------


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
            return f"{self.base_url}/{m.object_key(record.id, name)}"
        return f"{self.api_origin}/v1/media/{record.id}/files/{name}"

    def direct(self, record: m.MediaRecord, name: str) -> str:
        if self.base_url:
            return self.stable(record, name)
        filename = record.meta.filename if name == m.ORIGINAL else None
        url = self.backend.links.download_url(m.object_key(record.id, name), filename=filename)
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
    if editor:
        body["error"] = derived.error
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
    if len(data) > settings.max_direct_bytes:
        raise PayloadTooLarge(
            f"Direct uploads are limited to {settings.max_direct_bytes} bytes; use"
            " POST /v1/manage/media/uploads for a presigned upload.",
            {"limit": settings.max_direct_bytes},
        )
    kind = sniff(data, _declared_type(content_type))
    check_pixels(image_size(data, kind), settings.max_pixels)
    meta = _new_meta(backend, filename, edits, f"upload.{kind.extension}")
    _put_meta(backend, meta)
    backend.objects.put(
        m.object_key(meta.id, m.ORIGINAL), data, content_type=kind.content_type, if_none_match=True
    )
    backend.media.put_media_derived(
        meta.id,
        m.MediaDerived(
            status="processing",
            kind="image" if kind.is_image else "file",
            content_type=kind.content_type,
            bytes=len(data),
        ),
        sequencer=None,
    )
    return require(backend, meta.id)


def start_upload(
    backend: Backend, settings: m.MediaSettings, body: dict[str, Any]
) -> tuple[m.MediaRecord, Any]:
    """A presigned upload: the asset is created 'uploading' with a form for the file."""
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
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
        raise ValidationFailed("bytes must be a positive integer.", [])
    if size is not None and size > settings.max_upload_bytes:
        raise PayloadTooLarge(
            f"Uploads are limited to {settings.max_upload_bytes} bytes.",
            {"limit": settings.max_upload_bytes},
        )
    filename = body.get("filename")
    if filename is not None and not isinstance(filename, str):
        raise ValidationFailed("filename must be a string.", [])
    unknown = sorted(set(body) - {"content_type", "bytes", *m.EDITABLE})
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)}.", [])
    edits = m.validate_edits(body, partial=True)
    meta = _new_meta(backend, filename, edits, f"upload.{kind.extension}")
    _put_meta(backend, meta)
    form = backend.links.upload_form(
        m.object_key(meta.id, m.ORIGINAL),
        content_type=kind.content_type,
        max_bytes=size or settings.max_upload_bytes,
        expires_in=settings.upload_expires_seconds,
    )
    return require(backend, meta.id), form


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
    try:
        backend.objects.put(policy.key, data, content_type=policy.content_type, if_none_match=True)
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
) -> tuple[list[m.MediaRecord], str | None]:
    size = parse_page_size(limit, default=50, maximum=100)
    try:
        tag_value = normalize_tag(tag) if tag is not None else None
    except ValueError as exc:
        raise BadRequest(f"tag: {exc}.", {"parameter": "tag"}) from exc
    after = None
    if cursor:
        payload = cursors.decode(cursor, cursor_secret)
        if payload.get("q") != {"media": tag_value} or not isinstance(payload.get("a"), str):
            raise BadRequest("The cursor was made for another query.", {"parameter": "cursor"})
        after = payload["a"]
    records = backend.media.list_media(MediaQuery(tag=tag_value, limit=size + 1, after=after))
    next_cursor = None
    if len(records) > size:
        records = records[:size]
        next_cursor = cursors.encode(
            {"q": {"media": tag_value}, "a": records[-1].id}, cursor_secret
        )
    return records, next_cursor


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
