"""`cms export DIR --format hugo|json`: published content as files, kept up to date with the
change feed.

Hugo: ``content/{collection}/{slug}/index.md`` page bundles (front matter ``title``, ``date``,
``lastmod``, ``tags``, ``draft: false`` and the entry's own fields; the Markdown body with its
``media:`` images downloaded into the bundle). The Markdown comes from the management API, so
it needs a key; without one, or when the draft was edited after it was published, the bundle
is ``index.html`` with the published HTML (Hugo takes HTML content files as they are).

JSON: ``{collection}/{slug}.json``, the delivery API's entry plus ``body`` (Markdown, when
the key allows).

Incremental: ``.cms-export.json`` in DIR keeps the feed cursor and the files of each entry. A
run reads ``GET /v1/sync`` from the cursor, writes what was upserted (a file whose bytes are
the same is not rewritten) and removes what was deleted or unpublished. A 410 (the server's
index was rebuilt) starts again from scratch and replaces everything. The cursor moves on
only when every change was applied, so a failed run is simply run again.
"""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .client import Client
from .documents import dump_front_matter, media_ids
from .errors import ApiError, CMSClientError, Gone, NotFound
from .models import Change, PublishedEntry
from .progress import NullProgress, Progress

STATE_FILE = ".cms-export.json"
STATE_VERSION = 1
Format = Literal["hugo", "json"]
BUILT_IN = {"title", "tags", "summary", "author", "published_at", "updated_at", "slug"}
# Hugo gives these a meaning of its own (dates, paths, templates): never copied through
HUGO_RESERVED = {"date", "lastmod", "draft", "publishDate", "expiryDate", "url", "layout", "type"}


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged_files: int = 0
    entries: int = 0  # upserts applied
    deleted: int = 0  # entries removed
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reset: bool = False  # the cursor was refused (410): everything was exported again
    from_scratch: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "deleted": self.deleted,
            "written": self.written,
            "removed": self.removed,
            "unchanged_files": self.unchanged_files,
            "failed": [{"entry": key, "reason": reason} for key, reason in self.failures],
            "warnings": self.warnings,
            "reset": self.reset,
            "from_scratch": self.from_scratch,
            "seconds": round(self.seconds, 3),
        }


class ExportState:
    def __init__(self, root: Path, url: str, fmt: str, collections: list[str]) -> None:
        self.path = root / STATE_FILE
        self.identity = {"url": url, "format": fmt, "collections": collections}
        self.cursor: str | None = None
        self.files: dict[str, list[str]] = {}
        self.stale_files: dict[str, list[str]] = {}  # of another export: to be replaced
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict) and data.get("version") == STATE_VERSION:
                files = data.get("files") if isinstance(data.get("files"), dict) else {}
                if all(data.get(k) == v for k, v in self.identity.items()):
                    self.cursor = (
                        data.get("cursor") if isinstance(data.get("cursor"), str) else None
                    )
                    self.files = files
                else:
                    self.stale_files = files

    def save(self) -> None:
        data = {"version": STATE_VERSION, **self.identity, "cursor": self.cursor}
        data["files"] = dict(sorted(self.files.items()))
        temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temp, self.path)


def _write_if_changed(root: Path, rel: str, data: bytes) -> bool:
    """Write ``data`` to ``root/rel`` unless it holds exactly that; True if written."""
    path = root / rel
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
    return True


def _remove(root: Path, rels: list[str], report: ExportReport) -> None:
    parents = set()
    for rel in rels:
        path = root / rel
        try:
            path.unlink()
            report.removed.append(rel)
        except FileNotFoundError:
            pass
        parents.add(path.parent)
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        while parent != root and parent.is_relative_to(root):
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent


@dataclass
class Rendered:
    """The files of one entry: relative path -> bytes."""

    files: dict[str, bytes]
    warnings: list[str]


class Exporter:
    def __init__(
        self,
        client: Client,
        fmt: Format,
        *,
        collections: list[str] | None = None,
        workers: int = 4,
        progress: Progress | None = None,
    ) -> None:
        if fmt not in ("hugo", "json"):
            raise ValueError(f"unknown format {fmt!r}: hugo or json")
        self.client = client
        self.format = fmt
        self.collections = sorted(set(collections or []))
        self.workers = max(1, workers)
        self.progress = progress or NullProgress()
        self._media_lock = threading.Lock()
        self._media: dict[str, tuple[str, bytes] | None] = {}  # id -> (file name, bytes)
        self._root = Path(".")

    def run(self, root: Path) -> ExportReport:
        started = time.perf_counter()
        root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        self._root = root
        report = ExportReport()
        state = ExportState(root, self.client.url, self.format, self.collections)
        if state.stale_files:  # another format or server before: replace it
            _remove(root, [f for files in state.stale_files.values() for f in files], report)
        report.from_scratch = state.cursor is None
        try:
            changes, cursor = self._changes(state.cursor)
        except Gone:  # replace everything: export all again, then drop what is left over
            report.reset = report.from_scratch = True
            previous, state.files = state.files, {}
            changes, cursor = self._changes(None)
            self._apply(root, changes, state, report)
            kept = {f for files in state.files.values() for f in files}
            leftovers = [f for files in previous.values() for f in files if f not in kept]
            _remove(root, leftovers, report)
        else:
            self._apply(root, changes, state, report)
        if not report.failures:
            state.cursor = cursor
        state.save()
        report.seconds = time.perf_counter() - started
        return report

    def _changes(self, cursor: str | None) -> tuple[list[Change], str | None]:
        """The latest change of each entry since ``cursor``, and the cursor after them."""
        feed = self.client.changes(cursor)
        latest: dict[tuple[str, str], Change] = {}
        for change in feed:
            if not self.collections or change.collection in self.collections:
                latest.pop((change.collection, change.slug), None)
                latest[(change.collection, change.slug)] = change
        return list(latest.values()), feed.cursor

    def _apply(
        self, root: Path, changes: list[Change], state: ExportState, report: ExportReport
    ) -> None:
        upserts = [c for c in changes if c.type == "upsert"]
        for change in changes:
            key = f"{change.collection}/{change.slug}"
            if change.type == "delete" and key in state.files:
                _remove(root, state.files.pop(key), report)
                report.deleted += 1
        if not upserts:
            return
        with (
            self.progress.task("Exporting entries", len(upserts)) as bar,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            futures = {pool.submit(self._render, c): c for c in upserts}
            for future in as_completed(futures):
                change = futures[future]
                key = f"{change.collection}/{change.slug}"
                bar.advance()
                try:
                    rendered = future.result()
                except NotFound:  # unpublished since the feed was read: it will say so
                    _remove(root, state.files.pop(key, []), report)
                    continue
                except (CMSClientError, OSError) as exc:
                    detail = exc.problem.describe() if isinstance(exc, ApiError) else str(exc)
                    report.failures.append((key, detail))
                    continue
                report.warnings.extend(rendered.warnings)
                for rel, data in rendered.files.items():
                    if _write_if_changed(root, rel, data):
                        report.written.append(rel)
                    else:
                        report.unchanged_files += 1
                stale = [f for f in state.files.get(key, []) if f not in rendered.files]
                _remove(root, stale, report)
                state.files[key] = sorted(rendered.files)
                report.entries += 1

    # --- one entry ----------------------------------------------------------------------------

    def _render(self, change: Change) -> Rendered:
        entry = self.client.get_published(change.collection, change.slug)
        assert entry is not None  # no If-None-Match was sent
        body = self._markdown(entry)
        if self.format == "json":
            data = {**entry.raw, "etag": entry.etag, "body": body}
            text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
            return Rendered({f"{entry.collection}/{entry.slug}.json": text.encode()}, [])
        return self._hugo(entry, body)

    def _markdown(self, entry: PublishedEntry) -> str | None:
        """The Markdown of the published version, when the key can read it and the draft was
        not edited since it was published (same ``updated_at``)."""
        if not self.client.key:
            return None
        try:
            draft = self.client.get_entry(entry.collection, entry.slug)
        except ApiError as exc:
            if exc.status in (401, 403, 404):
                return None
            raise
        if draft.front_matter.get("updated_at") != entry.updated_at:
            return None
        return draft.body

    def _hugo(self, entry: PublishedEntry, body: str | None) -> Rendered:
        bundle = f"content/{entry.collection}/{entry.slug}"
        fm: dict[str, Any] = {"title": entry.title}
        if entry.published_at:
            fm["date"] = entry.published_at
        if entry.updated_at:
            fm["lastmod"] = entry.updated_at
        fm["draft"] = False
        if entry.tags:
            fm["tags"] = entry.tags
        for name in ("summary", "author"):
            value = entry.front_matter.get(name)
            if isinstance(value, str):
                fm[name] = value
        for name, value in entry.front_matter.items():
            if name not in BUILT_IN and name not in HUGO_RESERVED and name not in fm:
                fm[name] = value
        files: dict[str, bytes] = {}
        warnings: list[str] = []
        if body is None:
            text = dump_front_matter(fm, entry.html + "\n")
            files[f"{bundle}/index.html"] = text.encode("utf-8")
            return Rendered(files, warnings)
        for media_id in media_ids(body):
            found = self._media_file(media_id, bundle)
            if found is None:
                warnings.append(f"{entry.collection}/{entry.slug}: media {media_id} not available")
                continue
            name, data = found
            files[f"{bundle}/{name}"] = data
            body = body.replace(f"media:{media_id}", name)
        files[f"{bundle}/index.md"] = dump_front_matter(fm, body).encode("utf-8")
        return Rendered(files, warnings)

    def _media_file(self, media_id: str, bundle: str) -> tuple[str, bytes] | None:
        """(file name, bytes) of an asset: from the bundle when it is there already (a
        variant of an asset never changes), else downloaded."""
        with self._media_lock:
            if media_id in self._media:
                return self._media[media_id]
        for existing in sorted((self._root / bundle).glob(f"{media_id}-*")):
            if not existing.name.startswith("."):
                return existing.name, existing.read_bytes()
        try:
            asset = self.client.get_media(media_id)
            chosen = asset.best_file()
            found = None
            if chosen is not None:
                name, url = chosen
                found = (f"{media_id}-{name}", self.client.download(url))
        except NotFound:
            found = None
        with self._media_lock:
            self._media[media_id] = found
        return found
