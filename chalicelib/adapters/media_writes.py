"""The write half of the MediaIndex port, shared by both adapters: which write wins is the
domain's rule (``merge_meta``/``merge_derived``); an adapter supplies ``_update``, an atomic
read-merge-write of one asset's row."""

from __future__ import annotations

from collections.abc import Callable

from ..domain.media import MediaDerived, MediaMeta, MediaRecord, merge_derived, merge_meta

Merge = Callable[[MediaRecord | None], MediaRecord | None]


class MergedMediaWrites:
    def _update(self, media_id: str, merge: Merge) -> bool:
        raise NotImplementedError

    def put_media_meta(self, meta: MediaMeta, *, sequencer: str | None) -> bool:
        return self._update(meta.id, lambda row: merge_meta(row, meta, sequencer))

    def put_media_derived(
        self, media_id: str, derived: MediaDerived, *, sequencer: str | None
    ) -> bool:
        return self._update(media_id, lambda row: merge_derived(row, media_id, derived, sequencer))
