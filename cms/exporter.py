"""`cms export DIR --format hugo|json`: content as files, kept up to date with the change feed.

Hugo: each published entry's stored document, byte for byte (front matter exactly as it was
written: nothing renamed, dropped or added), at its own file name under ``--content-dir``
(default ``content/{collection}``), so an imported site comes back as the same tree; every
page resource (image, PDF) of the collection is written there too, as the original bytes at
its path. ``--drafts`` adds the entries that are not published, from their working copy (a
page with ``draft: true`` comes back and Hugo skips it as before). The documents come from
the management API, so they need a key; without one each entry is ``{name}.html`` with its
front matter and the published HTML (Hugo takes HTML content files as they are).

JSON: ``{collection}/{path}.json``, the delivery API's entry plus ``document`` (the Markdown
file, when the key allows).

Incremental and resumable: ``.cms-export.json`` in DIR keeps the feed cursor, the files of
each entry and resource, and entries to try again. Each finished entry is appended to
``.cms-export.journal`` at once, and the cursor is saved after each page of the feed, so an
interrupted export resumes where it stopped. An entry that cannot be written is reported and
kept for the next run, without holding the cursor back. A 410 (the server's index was
rebuilt) starts again from scratch and replaces everything.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from .client import Client
from .errors import ApiError, CMSClientError, Gone, NotFound
from .models import Change, MediaAsset
from .progress import NullProgress, Progress

STATE_FILE = ".cms-export.json"
JOURNAL_FILE = ".cms-export.journal"
STATE_VERSION = 2
DEFAULT_CONTENT_DIR = "content/{collection}"
Format = Literal["hugo", "json"]


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged_files: int = 0
    entries: int = 0  # entries written (or found unchanged)
    deleted: int = 0  # entries removed
    resources: int = 0  # page resources written (or found unchanged)
    failures: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reset: bool = False  # the cursor was refused (410): everything was exported again
    from_scratch: bool = False
    retried: int = 0  # entries a previous run could not write, done now
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "deleted": self.deleted,
            "resources": self.resources,
            "written": self.written,
            "removed": self.removed,
            "unchanged_files": self.unchanged_files,
            "failed": [{"entry": key, "reason": reason} for key, reason in self.failures],
            "warnings": self.warnings,
            "reset": self.reset,
            "from_scratch": self.from_scratch,
            "retried": self.retried,
            "seconds": round(self.seconds, 3),
        }


class ExportState:
    """``.cms-export.json`` and its journal: what was exported, and where the feed is."""

    def __init__(self, root: Path, identity: dict[str, Any]) -> None:
        self.path = root / STATE_FILE
        self.journal = root / JOURNAL_FILE
        self.identity = identity
        self.cursor: str | None = None
        self.entries: dict[str, dict[str, Any]] = {}  # 'collection/path' -> files, stage, etag
        self.media: dict[str, dict[str, Any]] = {}  # media id -> file, version
        self.retry: dict[str, str] = {}  # entries to write again -> why they failed
        self.stale_files: list[str] = []  # of an export with another identity: replaced
        self._lock = threading.Lock()
        data = self._read()
        if not data:  # a first run, perhaps interrupted: its journal still counts
            self._replay()
        elif data.get("version") == STATE_VERSION and all(
            data.get(k) == v for k, v in identity.items()
        ):
            self.cursor = data.get("cursor") if isinstance(data.get("cursor"), str) else None
            self.entries = dict(data.get("entries") or {})
            self.media = dict(data.get("media") or {})
            self.retry = dict(data.get("retry") or {})
            self.stale_files = list(data.get("stale") or [])
            self._replay()
        else:  # another export wrote here: its files go once this one has finished
            self.stale_files = sorted(
                {f for e in (data.get("entries") or {}).values() for f in e.get("files", [])}
                | {m["file"] for m in (data.get("media") or {}).values() if "file" in m}
                | {f for files in (data.get("files") or {}).values() for f in files}
                | set(data.get("stale") or [])
            )
            self.journal.unlink(missing_ok=True)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _replay(self) -> None:
        """Apply what an interrupted run of this same export finished after its last save
        (the journal's first line names the export it belongs to)."""
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        try:
            if not lines or json.loads(lines[0]) != {"export": self.identity}:
                return
        except ValueError:
            return
        for line in lines[1:]:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by the interruption
            self._apply(record)

    def _apply(self, record: dict[str, Any]) -> None:
        kind, key, value = record.get("kind"), str(record.get("key")), record.get("value")
        table = {"entry": self.entries, "media": self.media, "retry": self.retry}.get(str(kind))
        if table is None:
            return
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value

    def note(self, kind: str, key: str, value: Any) -> None:
        """Record one finished step at once (appended to the journal)."""
        record = {"kind": kind, "key": key, "value": value}
        with self._lock:
            self._apply(record)
            fresh = not self.journal.exists()
            with self.journal.open("a", encoding="utf-8") as journal:
                if fresh:
                    journal.write(json.dumps({"export": self.identity}) + "\n")
                journal.write(json.dumps(record) + "\n")

    def owners(self) -> dict[str, str]:
        """Each file -> the entry or asset that wrote it."""
        owned = {f: key for key, e in self.entries.items() for f in e.get("files", [])}
        owned.update({m["file"]: f"media:{key}" for key, m in self.media.items()})
        return owned

    def save(self) -> None:
        with self._lock:
            data = {
                "version": STATE_VERSION,
                **self.identity,
                "cursor": self.cursor,
                "entries": dict(sorted(self.entries.items())),
                "media": dict(sorted(self.media.items())),
                "retry": self.retry,
                "stale": self.stale_files,
            }
            temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temp.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(temp, self.path)
            self.journal.unlink(missing_ok=True)


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
    try:
        temp.write_bytes(data)
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)
        raise
    return True


def _remove(root: Path, rels: Iterable[str], report: ExportReport) -> None:
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


_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\:]")  # controls, and what Windows reads as a path


def _safe_rel(folder: str, name: str) -> str:
    """``name`` (a server's answer) inside ``folder`` of the export (``.`` is the export
    folder itself); ValueError for anything that could leave it or name a folder."""
    folders = [part for part in folder.split("/") if part not in ("", ".")]
    names = name.split("/")
    if any(part == ".." or _UNSAFE.search(part) for part in folders) or any(
        part in ("", ".", "..") or _UNSAFE.search(part) for part in names
    ):
        raise ValueError(f"{name!r} is not a file inside the export folder")
    return "/".join([*folders, *names])


@dataclass
class Written:
    """The files of one entry: relative path -> bytes, and the version they are of."""

    files: dict[str, bytes]
    etag: str | None = None
    warnings: list[str] = field(default_factory=list)


class Exporter:
    def __init__(
        self,
        client: Client,
        fmt: Format,
        *,
        collections: list[str] | None = None,
        workers: int = 4,
        content_dir: str = DEFAULT_CONTENT_DIR,
        drafts: bool = False,
        progress: Progress | None = None,
    ) -> None:
        if fmt not in ("hugo", "json"):
            raise ValueError(f"unknown format {fmt!r}: hugo or json")
        self.client = client
        self.format = fmt
        self.collections = sorted(set(collections or []))
        self.workers = max(1, workers)
        self.content_dir = content_dir
        self.drafts = drafts
        self.progress = progress or NullProgress()

    def _identity(self) -> dict[str, Any]:
        return {
            "url": self.client.url,
            "format": self.format,
            "collections": self.collections,
            "content_dir": self.content_dir,
            "drafts": self.drafts,
            "keyed": bool(self.client.key),
        }

    def _wanted(self, collection: str) -> bool:
        return not self.collections or collection in self.collections

    def _folder(self, collection: str) -> str:
        return self.content_dir.replace("{collection}", collection).strip("/")

    def run(self, root: Path) -> ExportReport:
        started = time.perf_counter()
        root = root.resolve()
        root.mkdir(parents=True, exist_ok=True)
        report = ExportReport()
        state = ExportState(root, self._identity())
        report.from_scratch = state.cursor is None
        self._retry(root, state, report)
        try:
            self._follow(root, state, state.cursor, report)
        except Gone:  # replace everything: export all again, then drop what is left over
            report.reset = report.from_scratch = True
            previous, state.entries, state.retry = state.owners(), {}, {}
            state.cursor = None
            self._follow(root, state, None, report)
            if self.drafts:
                self._export_drafts(root, state, report)
            kept = state.owners()
            _remove(root, [f for f in previous if f not in kept], report)
        else:
            if self.drafts:
                self._export_drafts(root, state, report)
        if self.format == "hugo" and self.client.key:
            self._export_resources(root, state, report)
        if state.stale_files:  # another format, folder or server before: what is left of it
            kept = state.owners()
            _remove(root, [f for f in state.stale_files if f not in kept], report)
            state.stale_files = []
        state.save()
        report.seconds = time.perf_counter() - started
        return report

    # --- the change feed ----------------------------------------------------------------------

    def _follow(
        self, root: Path, state: ExportState, cursor: str | None, report: ExportReport
    ) -> None:
        """Apply the feed page by page; the cursor is saved after each page."""
        feed = self.client.changes(cursor)
        for page in feed.pages():
            latest: dict[str, Change] = {}
            for change in page.items:
                if self._wanted(change.collection):
                    latest[f"{change.collection}/{change.slug}"] = change
            self._apply(root, state, latest, report)
            state.cursor = page.next_cursor
            state.save()

    def _apply(
        self, root: Path, state: ExportState, changes: dict[str, Change], report: ExportReport
    ) -> None:
        upserts = {k: c for k, c in changes.items() if c.type == "upsert"}
        for key, change in changes.items():
            if change.type == "delete":
                self._drop(root, state, key, report)
        self._write_all(
            root,
            state,
            {k: (c.collection, c.slug, "published") for k, c in upserts.items()},
            report,
        )

    def _retry(self, root: Path, state: ExportState, report: ExportReport) -> None:
        """Entries an earlier run could not write, written first."""
        if not state.retry:
            return
        todo = {}
        for key in list(state.retry):
            collection, _, slug = key.partition("/")
            stage = state.entries.get(key, {}).get("stage", "published")
            todo[key] = (collection, slug, stage)
        before = len(report.failures)
        self._write_all(root, state, todo, report)
        report.retried = len(todo) - (len(report.failures) - before)

    def _write_all(
        self,
        root: Path,
        state: ExportState,
        todo: dict[str, tuple[str, str, str]],
        report: ExportReport,
    ) -> None:
        if not todo:
            return
        with (
            self.progress.task("Exporting entries", len(todo)) as bar,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            futures = {
                pool.submit(self._render, collection, slug, stage): key
                for key, (collection, slug, stage) in todo.items()
            }
            for future in as_completed(futures):
                key = futures[future]
                bar.advance()
                try:
                    written = future.result()
                except NotFound:  # unpublished since the feed was read: it will say so
                    self._drop(root, state, key, report)
                    state.note("retry", key, None)
                    continue
                except (CMSClientError, OSError, ValueError) as exc:
                    detail = exc.problem.describe() if isinstance(exc, ApiError) else str(exc)
                    report.failures.append((key, detail))
                    state.note("retry", key, detail)
                    continue
                self._store(root, state, key, todo[key][2], written, report)

    def _store(
        self,
        root: Path,
        state: ExportState,
        key: str,
        stage: str,
        written: Written,
        report: ExportReport,
    ) -> None:
        report.warnings.extend(written.warnings)
        for rel, data in written.files.items():
            try:
                changed = _write_if_changed(root, rel, data)
            except OSError as exc:  # e.g. a folder where the file goes: next run tries again
                report.failures.append((key, f"{rel}: {exc}"))
                state.note("retry", key, f"{rel}: {exc}")
                return
            if changed:
                report.written.append(rel)
            else:
                report.unchanged_files += 1
        previous = state.entries.get(key, {}).get("files", [])
        owners = state.owners()
        stale = [f for f in previous if f not in written.files and owners.get(f) == key]
        _remove(root, stale, report)
        value = {"files": sorted(written.files), "stage": stage, "etag": written.etag}
        state.note("entry", key, value)
        state.note("retry", key, None)
        report.entries += 1

    def _drop(self, root: Path, state: ExportState, key: str, report: ExportReport) -> None:
        entry = state.entries.get(key)
        if entry is None:
            return
        owners = state.owners()
        _remove(root, [f for f in entry.get("files", []) if owners.get(f) == key], report)
        state.note("entry", key, None)
        report.deleted += 1

    # --- one entry ----------------------------------------------------------------------------

    def _render(self, collection: str, slug: str, stage: str) -> Written:
        if self.format == "json":
            return self._json(collection, slug)
        if not self.client.key:
            return self._html(collection, slug)
        source = self.client.get_source(collection, slug, stage=stage)
        rel = _safe_rel(self._folder(collection), source.file)
        return Written({rel: source.data}, source.etag)

    def _json(self, collection: str, slug: str) -> Written:
        entry = self.client.get_published(collection, slug)
        assert entry is not None  # no If-None-Match was sent
        document = None
        if self.client.key:
            try:
                source = self.client.get_source(collection, slug, stage="published")
                document = source.data.decode("utf-8")
            except ApiError as exc:
                if exc.status not in (401, 403):
                    raise
        data = {**entry.raw, "etag": entry.etag, "document": document}
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        return Written({_safe_rel(collection, f"{slug}.json"): text.encode()}, entry.etag)

    def _html(self, collection: str, slug: str) -> Written:
        """Without a key: the published HTML with the front matter the delivery API gives."""
        entry = self.client.get_published(collection, slug)
        assert entry is not None
        front = yaml.safe_dump(entry.front_matter, sort_keys=False, allow_unicode=True)
        text = f"---\n{front}---\n{entry.html}\n"
        rel = _safe_rel(self._folder(collection), f"{slug}.html")
        return Written({rel: text.encode("utf-8")}, entry.etag)

    # --- working copies and resources -----------------------------------------------------------

    def _collections(self) -> list[str]:
        return self.collections or [c.name for c in self.client.list_collections()]

    def _export_drafts(self, root: Path, state: ExportState, report: ExportReport) -> None:
        """Entries the feed has not delivered (drafts, scheduled entries not yet due, entries
        past their end), from their working copy (Hugo format only)."""
        if self.format != "hugo" or not self.client.key:
            return
        todo: dict[str, tuple[str, str, str]] = {}
        seen = set()
        for collection in self._collections():
            for draft in self.client.iter_drafts(collection):
                key = f"{collection}/{draft.slug}"
                if state.entries.get(key, {}).get("stage") == "published":
                    continue
                seen.add(key)
                known = state.entries.get(key, {})
                if known.get("stage") != "draft" or known.get("etag") != draft.etag:
                    todo[key] = (collection, draft.slug, "draft")
        for key, entry in list(state.entries.items()):
            if (
                entry.get("stage") == "draft"
                and key not in seen
                and self._wanted(key.split("/")[0])
            ):
                self._drop(root, state, key, report)
        self._write_all(root, state, todo, report)

    def _export_resources(self, root: Path, state: ExportState, report: ExportReport) -> None:
        """Every page resource of the collections, as its original bytes at its path."""
        assets: dict[str, MediaAsset] = {}
        try:
            for collection in self._collections():
                for asset in self.client.iter_media(collection=collection):
                    if asset.path and asset.collection == collection:
                        assets[asset.id] = asset
        except ApiError as exc:
            if exc.status not in (401, 403):
                raise
            report.warnings.append("page resources (images) not exported: the key needs media:read")
            return
        for media_id, known in list(state.media.items()):
            if media_id not in assets:
                _remove(root, [known["file"]], report)
                state.note("media", media_id, None)
        todo = []
        for asset in assets.values():
            try:
                rel = _safe_rel(self._folder(str(asset.collection)), str(asset.path))
            except ValueError as exc:
                report.failures.append((f"{asset.collection}/{asset.path}", str(exc)))
                continue
            known = state.media.get(asset.id, {})
            if known.get("version") != _version(asset) or not (root / rel).exists():
                todo.append((asset, rel))
            else:
                report.unchanged_files += 1
            report.resources += 1
        self._each(todo, lambda item: self._write_resource(root, state, *item, report), "images")

    def _write_resource(
        self, root: Path, state: ExportState, asset: MediaAsset, rel: str, report: ExportReport
    ) -> None:
        try:
            data = self.client.download_original(asset.id)
            changed = _write_if_changed(root, rel, data)
        except (CMSClientError, OSError) as exc:
            detail = exc.problem.describe() if isinstance(exc, ApiError) else str(exc)
            report.failures.append((f"{asset.collection}/{asset.path}", detail))
            return
        if changed:
            report.written.append(rel)
        else:
            report.unchanged_files += 1
        state.note("media", asset.id, {"file": rel, "version": _version(asset)})

    def _each(self, items: list[Any], work: Callable[[Any], None], what: str) -> None:
        if not items:
            return
        with (
            self.progress.task(f"Exporting {what}", len(items)) as bar,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            for future in as_completed([pool.submit(work, item) for item in items]):
                future.result()
                bar.advance()


def _version(asset: MediaAsset) -> str:
    """What changes when a resource's original is replaced."""
    raw = asset.raw
    return f"{raw.get('bytes')}|{raw.get('updated_at')}|{raw.get('etag', '')}"
