"""Rebuild the whole index from the object store alone: collections first, then every draft
and published entry, then media, through the same handlers the object events use."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain import media
from ..domain.entries import STAGE_PREFIX
from ..domain.errors import CMSError
from ..domain.limits import Limits
from ..domain.s3_events import ObjectEvent
from ..ports import Backend, StorageUnavailable
from . import collections, rendering, thumbnails

# Lower than any sequencer S3 sends: a real event arriving during or after the rebuild wins.
REINDEX_SEQUENCER = rendering.OWN_SEQUENCER

Progress = Callable[[str], None]
log = logging.getLogger(__name__)


@dataclass
class ReindexReport:
    collections: int = 0
    entries: int = 0
    media: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "collections": self.collections,
            "entries": self.entries,
            "media": self.media,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
        }


def _each(backend: Backend, event: ObjectEvent, handle: Callable[[ObjectEvent], None]) -> None:
    """One object of the rebuild; one that fails is recorded, never the end of the rebuild
    (storage faults aside: those stop it, to be run again)."""
    try:
        handle(event)
    except StorageUnavailable:
        raise
    except Exception as exc:
        log.exception("reindex could not index %s", event.key)
        backend.index.record_object_error(
            event.key, f"Could not be indexed: {type(exc).__name__}: {exc}"[:1000], None
        )


def reindex(backend: Backend, limits: Limits, *, progress: Progress | None = None) -> ReindexReport:
    """Clear the index, then index every object again. Delivery answers the same after as
    before (tombstones of deleted entries are not kept: the bucket has no record of them
    beyond object versions)."""
    started = time.perf_counter()
    report = ReindexReport()
    backend.index.clear()
    backend.media.clear()
    for info in backend.objects.list_objects(collections.PREFIX):
        try:
            collections.sync_from_object(backend, info.key)
            report.collections += 1
        except CMSError as exc:
            backend.index.record_object_error(info.key, rendering.describe(exc), None)
        if progress:
            progress(info.key)
    for prefix in STAGE_PREFIX.values():
        for info in backend.objects.list_objects(f"{prefix}/"):
            event = ObjectEvent(
                bucket="",
                key=info.key,
                event_name="ObjectCreated:Put",
                sequencer=REINDEX_SEQUENCER,
            )
            _each(backend, event, lambda e: rendering.on_entry_object(backend, limits, e))
            report.entries += 1
            if progress:
                progress(info.key)
    for info in backend.objects.list_objects(media.PREFIX):
        parsed = media.parse_key(info.key)
        if parsed is None or parsed[1] not in (media.META, media.ORIGINAL):
            continue  # variants and manifests are read through their original
        event = ObjectEvent(
            bucket="", key=info.key, event_name="ObjectCreated:Put", sequencer=REINDEX_SEQUENCER
        )
        _each(backend, event, lambda e: thumbnails.on_media_object(backend, limits.media, e))
        report.media += parsed[1] == media.ORIGINAL
        if progress:
            progress(info.key)
    report.errors = [f"{e.key}: {e.error}" for e in backend.index.list_object_errors(1000)]
    report.seconds = time.perf_counter() - started
    return report
