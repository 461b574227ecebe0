"""The object-changed handler for media: index the editor's metadata, make the variants.

Like rendering, it reconciles with the objects as they are *now* and writes only when the
event's sequencer is newer than what the index holds. The same event twice makes the
variants once: a current ``manifest.json`` for the same original is reused, not remade.
A bad file (corrupt, truncated, a bomb, a polyglot) marks the asset failed with the reason;
it does not raise, so it never crash-loops the function.
"""

from __future__ import annotations

import json
import logging

from ..domain import media as m
from ..domain.errors import CMSError
from ..domain.media_types import sniff
from ..domain.s3_events import ObjectEvent
from ..domain.sequencer import is_newer
from ..ports import Backend, ObjectNotFound, StorageUnavailable
from . import media as media_service
from . import webhooks

log = logging.getLogger(__name__)


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
        except (ValueError, CMSError) as exc:
            backend.index.record_object_error(key, f"Invalid media metadata: {exc}", sequencer)
            return
    backend.media.put_media_meta(meta, sequencer=sequencer)
    backend.index.clear_object_error(key)


def _cached(backend: Backend, media_id: str, etag: str) -> m.MediaDerived | None:
    """The manifest of an earlier run on this very original, if there is one."""
    try:
        stored = backend.objects.get(m.object_key(media_id, m.MANIFEST))
        derived = m.MediaDerived.from_dict(json.loads(stored.data))
    except (ObjectNotFound, ValueError, TypeError, KeyError):
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
    info = backend.objects.head(m.object_key(media_id, m.ORIGINAL))
    if info is None:
        if not _exists(backend, media_id, m.META):
            backend.media.delete_media(media_id)
        else:
            media_service.remove_objects(backend, media_id, keep_meta=True)
            backend.media.put_media_derived(
                media_id, m.MediaDerived(status="uploading"), sequencer=sequencer
            )
        return
    row = backend.media.get_media(media_id)
    if (
        row is not None
        and row.derived.source_etag == info.etag
        and row.status in ("ready", "failed")
        and not is_newer(sequencer, row.original_sequencer)
    ):
        return  # a duplicate of an event already handled
    derived = _cached(backend, media_id, info.etag) or derive(backend, settings, media_id)
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


def derive(backend: Backend, settings: m.MediaSettings, media_id: str) -> m.MediaDerived:
    """Process the original now: write the variants and the manifest, return what they are."""
    stored = backend.objects.get(m.object_key(media_id, m.ORIGINAL))
    data, etag = stored.data, stored.info.etag
    try:
        kind = sniff(data)
        if not kind.is_image:
            derived = m.MediaDerived(
                status="ready", source_etag=etag, kind="file",
                content_type=kind.content_type, bytes=len(data),
            )  # fmt: skip
        else:
            from ..domain.images import make_variants  # Pillow loads here, never in the API

            image = make_variants(data, kind, settings)
            for name, encoded in image.files.items():
                variant_type = m.VARIANT_TYPES[name.rsplit(".", 1)[1]]
                backend.objects.put(
                    m.object_key(media_id, name), encoded, content_type=variant_type
                )
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
            )
    except StorageUnavailable:
        raise  # the event is retried; the file is not at fault
    except CMSError as exc:
        derived = _failed(etag, len(data), exc.detail)
    except MemoryError:
        derived = _failed(etag, len(data), "The image needs more memory than is available.")
    except Exception as exc:  # Pillow raises many types on hostile files; none may crash-loop
        from ..domain.images import ImageRejected

        if not isinstance(exc, ImageRejected):
            log.warning("media %s could not be processed", media_id, exc_info=True)
        derived = _failed(etag, len(data), str(exc) or type(exc).__name__)
    backend.objects.put(
        m.object_key(media_id, m.MANIFEST),
        json.dumps(derived.to_dict()).encode("utf-8"),
        content_type="application/json",
    )
    return derived


def _failed(etag: str, size: int, error: str) -> m.MediaDerived:
    return m.MediaDerived(status="failed", source_etag=etag, bytes=size, error=error[:1000])
