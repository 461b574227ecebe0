"""The object-changed handler for media: index the editor's metadata, make the variants.

Like rendering, it reconciles with the objects as they are *now* and writes only when the
event's sequencer is newer than what the index holds. The same event twice makes the
variants once: a current ``manifest.json`` for the same original is reused, not remade.
A bad file (corrupt, truncated, a bomb, a polyglot) marks the asset failed with the reason;
it does not raise, so it never crash-loops the function.
"""

from __future__ import annotations

import hashlib
import json
import logging

from ..domain import media as m
from ..domain.errors import CMSError
from ..domain.media_types import sniff
from ..domain.s3_events import ObjectEvent
from ..domain.sequencer import is_newer
from ..ports import Backend, ObjectNotFound
from . import webhooks

log = logging.getLogger(__name__)
MAX_PASSES = 3  # an original replaced this often while it is processed: retry the event


def on_media_object(backend: Backend, settings: m.MediaSettings, event: ObjectEvent) -> None:
    parsed = m.parse_key(event.key)
    if parsed is None:
        backend.index.record_object_error(
            event.key, "Not a media key: expected media/{id}/{name}", event.sequencer
        )
        return
    media_id, name = parsed
    if name == m.META:
        sync_meta(backend, media_id, event.sequencer)
    elif name == m.ORIGINAL:
        process_original(backend, settings, media_id, event.sequencer)
    # variants and manifest.json are this handler's own output


def _exists(backend: Backend, media_id: str, name: str) -> bool:
    return backend.objects.head(m.object_key(media_id, name)) is not None


def sync_meta(backend: Backend, media_id: str, sequencer: str) -> None:
    key = m.object_key(media_id, m.META)
    try:
        stored = backend.objects.get(key)
    except ObjectNotFound:
        if not _exists(backend, media_id, m.ORIGINAL):
            backend.media.delete_media(media_id)
            return
        meta = m.MediaMeta(id=media_id, filename=media_id)
    else:
        try:
            data = json.loads(stored.data)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            meta = m.MediaMeta.from_dict(media_id, data)
        except (ValueError, RecursionError, CMSError) as exc:
            backend.index.record_object_error(key, f"Invalid media metadata: {exc}", sequencer)
            return
    backend.media.put_media_meta(meta, sequencer=sequencer)
    backend.index.clear_object_error(key)


def _cached(backend: Backend, media_id: str, etag: str) -> m.MediaDerived | None:
    """The manifest of an earlier run on this very original, if there is one."""
    try:
        stored = backend.objects.get(m.object_key(media_id, m.MANIFEST))
        derived = m.MediaDerived.from_dict(json.loads(stored.data))
    except (ObjectNotFound, ValueError, TypeError, KeyError, RecursionError):
        return None
    if derived.source_etag != etag or derived.status not in ("ready", "failed"):
        return None
    if derived.status == "ready" and not all(
        _exists(backend, media_id, v.name) for v in derived.variants
    ):
        return None
    return derived


def process_original(
    backend: Backend, settings: m.MediaSettings, media_id: str, sequencer: str
) -> None:
    key = m.object_key(media_id, m.ORIGINAL)
    info = backend.objects.head(key)
    if info is None:
        _original_gone(backend, media_id, sequencer)
        return
    row = backend.media.get_media(media_id)
    if (
        row is not None
        and row.derived.source_etag == info.etag
        and not is_newer(sequencer, row.original_sequencer)
        and _finished(backend, media_id, row)
    ):
        return  # a duplicate of an event already handled
    derived = _cached(backend, media_id, info.etag)
    for _ in range(MAX_PASSES):
        if derived is None:
            try:
                derived = derive(backend, settings, media_id)
            except ObjectNotFound:
                derived = None  # removed since the head: seen below
        # Reconcile with the bucket as it is now: a handler for an original replaced (or
        # removed) while it ran may have written its variants over the newer ones.
        current = backend.objects.head(key)
        if current is None:
            _original_gone(backend, media_id, sequencer)
            return
        if derived is not None and derived.source_etag == current.etag:
            if _remove_stale_variants(backend, media_id, derived):
                # Widths an earlier original had are gone. Look again: an original put
                # meanwhile may have had its variants (by those names) removed just now.
                current = backend.objects.head(key)
                if current is None:
                    _original_gone(backend, media_id, sequencer)
                    return
            if derived.source_etag == current.etag:
                _apply(backend, media_id, derived, sequencer)
                return
        derived = None  # made again from the current original, never from the cache
    raise RuntimeError(f"media {media_id}: the original kept changing while it was processed")


def _apply(backend: Backend, media_id: str, derived: m.MediaDerived, sequencer: str) -> None:
    applied = backend.media.put_media_derived(media_id, derived, sequencer=sequencer)
    if applied and derived.status == "ready":
        webhooks.emit(
            backend,
            "media.ready",
            {
                "id": media_id,
                "kind": derived.kind,
                "content_type": derived.content_type,
                "width": derived.width,
                "height": derived.height,
                "href": f"/v1/media/{media_id}",
            },
        )


def _finished(backend: Backend, media_id: str, row: m.MediaRecord) -> bool:
    """The row's outcome is final for its original: ready, or failed because of the file
    (the manifest says so). A failure recorded from the dead-letter queue is not: the
    redrive of that very event must process the original again."""
    if row.status == "ready":
        return True
    if row.status != "failed" or row.derived.source_etag is None:
        return False
    cached = _cached(backend, media_id, row.derived.source_etag)
    return cached is not None and cached.status == "failed"


def _original_gone(backend: Backend, media_id: str, sequencer: str) -> None:
    """The original is not in the bucket: its variants go too (they would keep a deleted
    image public). The editor's metadata, if any, stays for a new upload."""
    if not _exists(backend, media_id, m.META):
        backend.media.delete_media(media_id)
    elif not backend.media.put_media_derived(
        media_id, m.MediaDerived(status="uploading"), sequencer=sequencer
    ):
        return  # a newer event for the original was applied: the files are its own
    _remove_derived(backend, media_id)


def _remove_derived(backend: Backend, media_id: str) -> None:
    """Variants and the manifest; never the original or meta.json, which may have been
    uploaded again since the original was found missing."""
    keep = {m.object_key(media_id, m.ORIGINAL), m.object_key(media_id, m.META)}
    for info in backend.objects.list_objects(m.object_key(media_id, "")):
        if info.key not in keep:
            backend.objects.delete(info.key)


def _remove_stale_variants(backend: Backend, media_id: str, derived: m.MediaDerived) -> bool:
    """Delete the variants an earlier original had that this one has not (a replaced image
    that is smaller, or no longer an image); True if there were any."""
    keep = {v.name for v in derived.variants} if derived.status == "ready" else set()
    stale = [
        info.key
        for info in backend.objects.list_objects(m.object_key(media_id, ""))
        if m.VARIANT_RE.fullmatch(info.key.rsplit("/", 1)[-1])
        and info.key.rsplit("/", 1)[-1] not in keep
    ]
    for key in stale:
        backend.objects.delete(key)
    return bool(stale)


def derive(backend: Backend, settings: m.MediaSettings, media_id: str) -> m.MediaDerived:
    """Process the original now: write the variants and the manifest, return what they are."""
    stored = backend.objects.get(m.object_key(media_id, m.ORIGINAL))
    data, etag = stored.data, stored.info.etag
    digest = hashlib.sha256(data).hexdigest()
    files: dict[str, bytes] = {}
    try:
        kind = sniff(data)
        if not kind.is_image:
            derived = m.MediaDerived(
                status="ready", source_etag=etag, kind="file",
                content_type=kind.content_type, bytes=len(data), sha256=digest,
            )  # fmt: skip
        else:
            from ..domain.images import make_variants  # Pillow loads here, never in the API

            image = make_variants(data, kind, settings)
            files = image.files
            derived = m.MediaDerived(
                status="ready",
                source_etag=etag,
                kind="image",
                content_type=kind.content_type,
                bytes=len(data),
                width=image.width,
                height=image.height,
                animated=image.animated,
                frames=image.frames,
                placeholder=image.placeholder,
                dominant_color=image.dominant_color,
                variants=image.variants,
                sha256=digest,
            )
    except CMSError as exc:
        derived = _failed(etag, len(data), exc.detail, digest)
    except MemoryError:
        derived = _failed(etag, len(data), "The image needs more memory than is available.", digest)
    except Exception as exc:  # Pillow raises many types on hostile files; none may crash-loop
        from ..domain.images import ImageRejected

        if not isinstance(exc, ImageRejected):
            log.warning("media %s could not be processed", media_id, exc_info=True)
        derived = _failed(etag, len(data), str(exc) or type(exc).__name__, digest)
    # Written outside the try: a storage fault is retried, never blamed on the file.
    for name, encoded in files.items():
        variant_type = m.VARIANT_TYPES[name.rsplit(".", 1)[1]]
        backend.objects.put(m.object_key(media_id, name), encoded, content_type=variant_type)
    backend.objects.put(
        m.object_key(media_id, m.MANIFEST),
        json.dumps(derived.to_dict()).encode("utf-8"),
        content_type="application/json",
    )
    return derived


def _failed(etag: str, size: int, error: str, digest: str | None = None) -> m.MediaDerived:
    return m.MediaDerived(
        status="failed", source_etag=etag, bytes=size, error=error[:1000], sha256=digest
    )
