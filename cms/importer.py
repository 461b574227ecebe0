"""`cms import DIR --collection NAME`: a site's content folder becomes entries, as it is.

Hugo, Jekyll and Eleventy folders:

- every Markdown file (``.md``, ``.markdown``) is an entry named by its place in the folder
  (``methods/page/Params.md`` is the entry ``methods/page/params``; ``_index.md`` is a
  section page, ``index.md`` a page bundle) and is stored byte for byte, front matter (YAML,
  TOML or JSON) and body alike: an export gives the same file back;
- a page marked ``draft: true`` (Jekyll: ``published: false``, or in a ``_drafts`` folder)
  stays a draft; every other page is published, at the date its front matter gives
  (``publishDate``, ``date``, a Jekyll ``YYYY-MM-DD-`` name) or now;
- every image and PDF is a page resource of the collection at its relative path: delivery
  turns a page's relative references to it into responsive images, an export writes the
  original bytes back;
- anything else (other file types, hidden files and folders) is counted and reported as not
  taken; so is a file the server refuses, with its reason.

Idempotent and resumable: ``.cms-import.json`` in the folder keeps the hash of each file
imported, and is saved after every batch, so an interrupted import goes on where it stopped
and a second run sends nothing that did not change. The server compares too: a document
equal to the stored draft writes nothing.

Fast: entries go in batches (``POST /v1/manage/batch/{collection}``, up to ``batch_size``
entries a request) from a few threads; resources upload in parallel. A server without the
batch route gets one request per step instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Client
from .documents import DocumentError, image_references, parse_document
from .errors import (
    ApiError,
    CMSClientError,
    ConnectionFailed,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
)
from .models import BatchItem, BatchResult, Draft, RenderCounts
from .progress import NullProgress, Progress

STATE_FILE = ".cms-import.json"
STATE_VERSION = 2
MARKDOWN_SUFFIXES = (".md", ".markdown")
RESOURCE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".pdf")
SKIPPED_FOLDERS = {"node_modules"}
MAX_BATCH_BYTES = 700_000  # JSON per request; the server takes 1 MiB bodies
DRAFT_FOLDERS = {"_drafts"}
PUBLISHED_STATES = ("published", "scheduled", "expired")  # a published snapshot exists


@dataclass
class Failure:
    path: str
    reason: str
    problem: dict[str, Any] | None = None


@dataclass
class ImportReport:
    files: int = 0  # every file found, taken or not
    entries: int = 0  # Markdown files
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # sent, and the server had it already
    skipped: int = 0  # not sent: the state file says it has not changed
    deleted: int = 0  # entries of files imported before and gone from the folder (--delete)
    published: int = 0
    drafts: int = 0
    resources: int = 0  # images and PDFs
    media_uploaded: int = 0
    not_taken: list[Failure] = field(default_factory=list)  # files the CMS does not hold
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0  # the whole run, the wait for the server's renders included
    stored_seconds: float = 0.0  # until the server had stored every entry
    rendered: bool | None = None  # None: not waited for (--no-wait, nothing sent)
    mode: str = "batch"

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "entries": self.entries,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "deleted": self.deleted,
            "published": self.published,
            "drafts": self.drafts,
            "resources": self.resources,
            "media_uploaded": self.media_uploaded,
            "not_taken": [{"path": f.path, "reason": f.reason} for f in self.not_taken],
            "failed": [
                {"path": f.path, "reason": f.reason, "problem": f.problem} for f in self.failures
            ],
            "warnings": self.warnings,
            "seconds": round(self.seconds, 3),
            "files_per_second": round(self.files / self.seconds, 1) if self.seconds else None,
            "stored_seconds": round(self.stored_seconds, 3),
            "rendered": self.rendered,
            "mode": self.mode,
        }


@dataclass
class Planned:
    """One Markdown file, read and checked, ready to send."""

    rel: str
    document: str
    publish: bool
    digest: str


@dataclass
class Resource:
    """One image or PDF of the folder."""

    rel: str
    path: Path
    digest: str


# --- the state file -------------------------------------------------------------------------


class State:
    """``.cms-import.json``: per (API URL, collection), what was imported from which file."""

    def __init__(self, root: Path, url: str, collection: str) -> None:
        self.path = root / STATE_FILE
        self.scope = f"{url}|{collection}"
        self._lock = threading.Lock()
        self._all: dict[str, Any] = {"version": STATE_VERSION, "imports": {}}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict) and loaded.get("version") == STATE_VERSION:
                    self._all = loaded
            except (OSError, ValueError):
                pass  # unreadable: start again (the server side is idempotent too)
        mine = self._all["imports"].setdefault(self.scope, {})
        self.files: dict[str, dict[str, Any]] = mine.setdefault("files", {})
        self.resources: dict[str, dict[str, Any]] = mine.setdefault("resources", {})

    def record_file(self, rel: str, info: dict[str, Any]) -> None:
        with self._lock:
            self.files[rel] = info

    def forget_file(self, rel: str) -> None:
        with self._lock:
            self.files.pop(rel, None)

    def record_resource(self, rel: str, info: dict[str, Any]) -> None:
        with self._lock:
            self.resources[rel] = info

    def save(self) -> None:
        with self._lock:
            text = json.dumps(self._all, indent=1, sort_keys=True)
            temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, self.path)


# --- reading the folder ---------------------------------------------------------------------


@dataclass
class Found:
    markdown: list[Path] = field(default_factory=list)
    resources: list[Path] = field(default_factory=list)
    not_taken: list[Failure] = field(default_factory=list)


def scan(root: Path) -> Found:
    """Every file under ``root``, sorted, sorted into Markdown, resources and the rest."""
    found = Found()
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if name.startswith(".") or name in SKIPPED_FOLDERS:
                rel = (here / name).relative_to(root).as_posix()
                found.not_taken.append(Failure(f"{rel}/", "a hidden or tool folder, not content"))
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and d not in SKIPPED_FOLDERS
        )
        for name in sorted(filenames):
            path = here / name
            rel = path.relative_to(root).as_posix()
            lower = name.lower()
            if name.startswith(STATE_FILE) or name.startswith(".cms-export"):
                continue  # the importer's and exporter's own state
            if name.startswith("."):
                found.not_taken.append(Failure(rel, "a hidden file"))
            elif lower.endswith(MARKDOWN_SUFFIXES) and lower not in MARKDOWN_SUFFIXES:
                found.markdown.append(path)
            elif lower.endswith(RESOURCE_SUFFIXES):
                found.resources.append(path)
            else:
                found.not_taken.append(
                    Failure(rel, "not Markdown, nor an image or PDF the CMS keeps as media")
                )
    found.markdown.sort()
    found.resources.sort()
    found.not_taken.sort(key=lambda f: f.path)
    return found


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def is_draft(front_matter: dict[str, Any], rel: str) -> bool:
    """A page the site does not publish: Hugo's ``draft: true``, Jekyll's ``published:
    false`` or ``_drafts`` folder."""
    in_drafts = any(part in DRAFT_FOLDERS for part in rel.split("/")[:-1])
    return in_drafts or _truthy(front_matter.get("draft")) or front_matter.get("published") is False


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plan_file(
    root: Path, file: Path, raw: bytes, present: set[str], warnings: list[str]
) -> Planned:
    """Check one Markdown file's bytes (DocumentError if it cannot be an entry)."""
    rel = file.relative_to(root).as_posix()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError("not UTF-8 text") from exc
    document = parse_document(text)
    for ref in image_references(document):
        target = Path(os.path.normpath(file.parent / ref))
        if not target.is_relative_to(root):
            warnings.append(f"{rel}: image {ref} is outside the folder; not imported")
        elif target.relative_to(root).as_posix() not in present:
            warnings.append(f"{rel}: image {ref} is not in the folder")
    return Planned(rel, text, not is_draft(document.front_matter, rel), _sha256(raw))


# --- sending --------------------------------------------------------------------------------


def _problem_of(error: CMSClientError) -> tuple[str, dict[str, Any] | None]:
    if isinstance(error, ApiError):
        return error.problem.describe(), error.problem.to_dict()
    return str(error), None


def _batches(items: list[Planned], size: int) -> Iterator[list[Planned]]:
    batch: list[Planned] = []
    weight = 0
    for item in items:
        cost = len(json.dumps([item.document, item.rel], ensure_ascii=False).encode()) + 200
        if batch and (len(batch) >= size or weight + cost > MAX_BATCH_BYTES):
            yield batch
            batch, weight = [], 0
        batch.append(item)
        weight += cost
    if batch:
        yield batch


def upsert_one(client: Client, collection: str, item: BatchItem) -> BatchResult:
    """The batch route's semantics through the single routes (for servers without it)."""
    assert item.file is not None and item.document is not None
    created = False
    try:
        draft: Draft = client.create_markdown(collection, item.document, file=item.file)
        created = True
    except ApiError as exc:
        if exc.status != 409:
            raise
        slug = exc.problem.extra.get("slug")
        if not isinstance(slug, str):
            raise
        draft = client.get_entry(collection, slug)
        if draft.file != item.file:  # another file of the same path: never overwrite it
            raise
    status = "created"
    if not created:
        source = client.get_source(collection, draft.slug)
        if source.data == item.document.encode("utf-8"):
            status = "unchanged"
        else:
            draft = client.replace_markdown(
                collection, draft.slug, item.document, if_match=source.etag
            )
            status = "updated"
    state = draft.publication_state
    if item.publish and (status != "unchanged" or state == "draft"):
        state = client.publish(collection, draft.slug, if_match=draft.etag).state
    elif item.publish is False and state != "draft":
        state = client.unpublish(collection, draft.slug).state
    return BatchResult(0, draft.slug, status, state, draft.etag, None, draft.file)


POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 5.0
STALE_GRACE_SECONDS = 5.0
Expected = tuple[str | None, bool]  # (the draft's etag as sent, a published snapshot too?)


@dataclass
class PollPace:
    """How long to wait before the next look at the pending lists. A look reads every
    pending entry, and the server spends the CPU it would render with on answering it: with
    many pending, wait until about half of them should be done at the rate seen so far, so
    the looks of a whole wait read about twice the entries first pending, not a multiple of
    it for every second of rendering."""

    pause: float = POLL_SECONDS / 8
    last: tuple[float, int] | None = None  # (when, how many were pending)

    def after(self, pending: int, now: float) -> float:
        rate = 0.0
        if self.last is not None:
            then, before = self.last
            if before > pending and now > then:
                rate = (before - pending) / (now - then)
        self.last = (now, pending)
        if rate:  # at most twice the last pause: the first rate seen may include the start
            self.pause = min(pending / rate / 2, max(self.pause * 2, POLL_SECONDS))
        else:  # nothing done yet (or more came): back off, the more slowly the more pending
            self.pause = max(min(self.pause * 2, POLL_SECONDS), pending / 1000)
        self.pause = min(max(self.pause, POLL_SECONDS / 8), MAX_POLL_SECONDS)
        return self.pause


LIST_BELOW = 100


@dataclass
class PendingLooks:
    """When the wait reads the pending lists (every pending entry), given the collection's
    count of pending renders (one cheap read): not while that count is high and falling, the
    server working through them (the lists would only say which), but once it is low, once
    it stops falling (what is left may be someone else's), and at least every
    ``MAX_POLL_SECONDS`` (others' renders may be what makes it fall)."""

    count: int | None = None
    last_look: float = float("-inf")

    def skip(self, count: int, now: float) -> bool:
        falling = self.count is not None and count < self.count
        self.count = count
        return falling and count > LIST_BELOW and now - self.last_look < MAX_POLL_SECONDS

    def looked(self, now: float) -> None:
        self.last_look = now


class Importer:
    def __init__(
        self,
        client: Client,
        collection: str,
        *,
        workers: int = 4,
        batch_size: int = 25,
        use_batch: bool = True,
        wait: bool = True,
        wait_timeout: float = 600.0,
        delete: bool = False,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.workers = max(1, workers)
        self.batch_size = max(1, min(batch_size, 100))
        self.use_batch = use_batch
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.delete = delete
        self.progress = progress or NullProgress()
        self._expected: dict[str, Expected] = {}  # what this run sent, to wait for
        self._counts_route = True  # False once the server showed it has no render counts

    def run(self, root: Path) -> ImportReport:
        started = time.perf_counter()
        self._expected = {}
        report = ImportReport(mode="batch" if self.use_batch else "single")
        root = root.resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is not a folder")
        self.client.get_collection(self.collection)  # NotFound: a clear error before any work
        state = State(root, self.client.url, self.collection)
        found = scan(root)
        report.files = len(found.markdown) + len(found.resources) + len(found.not_taken)
        report.entries, report.resources = len(found.markdown), len(found.resources)
        report.not_taken = found.not_taken
        pages = {p.relative_to(root).as_posix() for p in found.markdown}
        self._gone(sorted(set(state.files) - pages), state, report)
        present = {p.relative_to(root).as_posix() for p in found.resources}
        self._upload_resources(root, found.resources, state, report)
        todo = self._plan(root, found.markdown, present, state, report)
        self._send(todo, state, report)
        state.save()
        report.stored_seconds = time.perf_counter() - started
        if self.wait and self._expected:
            report.rendered = self._wait_rendered(dict(self._expected))
            self._render_failures(todo, state, report)
        report.seconds = time.perf_counter() - started
        return report

    # --- entries ----------------------------------------------------------------------------

    def _gone(self, gone: list[str], state: State, report: ImportReport) -> None:
        """Files this folder imported before that are no longer in it (deleted, or renamed:
        a rename is a new file). With ``delete``, their entries go too, before anything is
        sent (a file renamed in case only makes the same entry again), unless the entry was
        changed on the server since: its stored document must be the bytes imported."""
        if not gone:
            return
        if not self.delete:
            report.warnings.append(
                f"{len(gone)} file(s) imported before are no longer in the folder (such as "
                f"{gone[0]}): their entries stay; cms import --delete removes them"
            )
            return
        for rel in gone:
            info = state.files[rel]
            try:
                deleted = self._delete_unchanged(rel, str(info.get("slug")), info.get("sha256"))
            except _Kept as kept:
                report.failures.append(Failure(rel, str(kept)))
                continue
            except CMSClientError as exc:
                reason, problem = _problem_of(exc)
                report.failures.append(Failure(rel, reason, problem))
                continue
            report.deleted += deleted
            state.forget_file(rel)
        state.save()

    def _delete_unchanged(self, rel: str, slug: str, digest: str | None) -> bool:
        """True once the entry is deleted; False if it was gone already."""
        try:
            source = self.client.get_source(self.collection, slug)
        except NotFound:
            return False
        if source.file != rel:
            raise _Kept(f"gone from the folder; its entry now comes from {source.file}")
        if _sha256(source.data) != digest:
            raise _Kept(
                "gone from the folder, but its entry was changed on the server since it was"
                " imported: not deleted"
            )
        try:
            self.client.delete_entry(self.collection, slug, if_match=source.etag)
        except NotFound:
            return False
        except PreconditionFailed:
            raise _Kept("gone from the folder, but its entry changed while being deleted") from None
        return True

    def _plan(
        self,
        root: Path,
        files: list[Path],
        present: set[str],
        state: State,
        report: ImportReport,
    ) -> list[Planned]:
        # the state is checked against the server: a file it lists as imported but whose
        # entry the server does not have (a new data dir at the same URL) is sent again
        on_server = (
            {d.file for d in self.client.iter_drafts(self.collection)} if state.files else set()
        )
        todo: list[Planned] = []
        for file in files:
            rel = file.relative_to(root).as_posix()
            try:
                raw = file.read_bytes()
            except OSError as exc:
                report.failures.append(Failure(rel, str(exc)))
                continue
            known = state.files.get(rel)
            if known and known.get("sha256") == _sha256(raw) and rel in on_server:
                report.skipped += 1  # not even parsed: it was checked when it was sent
                if known.get("publication") in PUBLISHED_STATES:
                    report.published += 1
                else:
                    report.drafts += 1
                continue
            try:
                todo.append(plan_file(root, file, raw, present, report.warnings))
            except DocumentError as exc:
                report.failures.append(Failure(rel, str(exc)))
        return todo

    def _item(self, planned: Planned) -> BatchItem:
        return BatchItem(file=planned.rel, document=planned.document, publish=planned.publish)

    def _send(self, todo: list[Planned], state: State, report: ImportReport) -> None:
        if not todo:
            return
        with self.progress.task("Importing entries", len(todo)) as bar:
            if self.use_batch:
                batches = list(_batches(todo, self.batch_size))
                first, rest = batches[0], batches[1:]
                try:  # the first batch alone: it tells whether the server has the route
                    results = self._send_batch(first)
                    self._apply(first, results, state, report)
                    bar.advance(len(first))
                except ApiError as exc:
                    if not _no_batch_route(exc):
                        self._fail_all(first, exc, report)
                        bar.advance(len(first))
                    else:
                        report.mode = "single"
                        rest = [first, *rest]
                except ConnectionFailed as exc:
                    self._fail_all(todo, exc, report)
                    return
                if report.mode == "batch":
                    self._run_pool(rest, self._send_batch, state, report, bar)
                    return
            singles = [[planned] for planned in todo]
            self._run_pool(singles, self._send_one, state, report, bar)

    def _send_batch(self, batch: list[Planned]) -> list[BatchResult]:
        """The batch's results; a batch the server finds too large (nothing of it stored) is
        sent again in halves, and a file alone too large for JSON by the single route,
        which takes its Markdown as it is, unescaped."""
        try:
            return self.client.batch_upsert(self.collection, [self._item(p) for p in batch])
        except PayloadTooLarge:
            if len(batch) == 1:
                return self._send_one(batch)
            half = len(batch) // 2
            return self._send_part(batch[:half]) + self._send_part(batch[half:])

    def _send_part(self, part: list[Planned]) -> list[BatchResult]:
        """A part of a batch split after a 413: if it fails, it fails alone."""
        try:
            return self._send_batch(part)
        except CMSClientError as exc:
            return _failed(part, exc)

    def _send_one(self, one: list[Planned]) -> list[BatchResult]:
        return [upsert_one(self.client, self.collection, self._item(one[0]))]

    def _run_pool(
        self,
        batches: Iterable[list[Planned]],
        send: Callable[[list[Planned]], list[BatchResult]],
        state: State,
        report: ImportReport,
        bar: Any,
    ) -> None:
        with ThreadPoolExecutor(self.workers) as pool:
            futures: dict[Future[list[BatchResult]], list[Planned]] = {
                pool.submit(send, batch): batch for batch in batches
            }
            for future in as_completed(futures):
                batch = futures[future]
                try:
                    results = future.result()
                except CMSClientError as exc:
                    self._fail_all(batch, exc, report)
                else:
                    self._apply(batch, results, state, report)
                bar.advance(len(batch))

    def _apply(
        self, batch: list[Planned], results: list[BatchResult], state: State, report: ImportReport
    ) -> None:
        for planned, result in zip(batch, results, strict=True):
            if not result.ok:
                problem = result.problem or {}
                detail = problem.get("detail") or "failed"
                fields = "; ".join(
                    f"{e.get('field')}: {e.get('message')}"
                    for e in problem.get("errors", [])
                    if isinstance(e, dict)
                )
                reason = f"{problem.get('status', '')} {detail}".strip()
                reason += f" ({fields})" if fields else ""
                report.failures.append(Failure(planned.rel, reason, result.problem))
                continue
            setattr(report, result.status, getattr(report, result.status) + 1)
            published = result.publication in PUBLISHED_STATES
            if published:
                report.published += 1
            else:
                report.drafts += 1
            if result.slug is not None:
                self._expected[result.slug] = (result.etag, published)
            state.record_file(
                planned.rel,
                {
                    "sha256": planned.digest,
                    "slug": result.slug,
                    "publication": result.publication,
                },
            )
        state.save()

    @staticmethod
    def _fail_all(batch: list[Planned], error: CMSClientError, report: ImportReport) -> None:
        reason, problem = _problem_of(error)
        report.failures.extend(Failure(p.rel, reason, problem) for p in batch)

    # --- resources --------------------------------------------------------------------------

    def _upload_resources(
        self, root: Path, files: list[Path], state: State, report: ImportReport
    ) -> None:
        if not files:
            return
        on_server = (
            {a.path: a.id for a in self.client.iter_media(collection=self.collection)}
            if state.resources
            else {}
        )
        todo = []
        for path in files:
            rel = path.relative_to(root).as_posix()
            try:
                digest = _sha256(path.read_bytes())
            except OSError as exc:
                report.failures.append(Failure(rel, str(exc)))
                continue
            known = state.resources.get(rel)
            if known and known.get("sha256") == digest and on_server.get(rel) == known.get("id"):
                continue
            todo.append(Resource(rel, path, digest))
        if not todo:
            return
        with (
            self.progress.task("Uploading images", len(todo)) as bar,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            futures = {pool.submit(self._upload, resource): resource for resource in todo}
            for future in as_completed(futures):
                resource = futures[future]
                try:
                    media_id = future.result()
                except (CMSClientError, OSError) as exc:
                    reason, problem = (
                        _problem_of(exc) if isinstance(exc, CMSClientError) else (str(exc), None)
                    )
                    report.failures.append(Failure(resource.rel, reason, problem))
                else:
                    state.record_resource(resource.rel, {"sha256": resource.digest, "id": media_id})
                    report.media_uploaded += 1
                bar.advance()
        state.save()

    def _upload(self, resource: Resource) -> str:
        data = resource.path.read_bytes()
        asset = self.client.upload_media(
            data, resource.path.name, collection=self.collection, path=resource.rel
        )
        return asset.id

    # --- waiting for the server's renders ---------------------------------------------------

    def _wait_rendered(self, expected: dict[str, Expected]) -> bool:
        """Wait until every entry this run sent is rendered, or its render failed (the server
        renders after it stores: in the background locally, in the render function on AWS).
        While many are pending it polls the collection's render counts (one cheap read) and
        reads the pending lists, which shrink as the server works, only when the count says
        they are worth reading; then it confirms each entry in the full listing, since on AWS
        a list may lag a write. False if that took longer than ``wait_timeout``."""
        deadline = time.monotonic() + self.wait_timeout
        pace = PollPace()
        looks = PendingLooks()
        mismatch_since: float | None = None
        with self.progress.task("Rendering on the server", len(expected)) as bar:
            done = 0
            while True:
                counts = self._render_counts()
                if counts is not None and looks.skip(counts.pending, time.monotonic()):
                    pending = counts.pending  # an entry pending in both stages counts twice
                    most = max(counts.draft["pending"], counts.published["pending"])
                    estimate = min(len(expected), most)
                else:
                    looks.looked(time.monotonic())
                    slugs = self._pending_slugs()
                    pending, waiting = len(slugs), set(slugs) & expected.keys()
                    if not waiting:
                        waiting, stale = self._unconfirmed(expected)
                        if waiting and waiting <= stale:
                            # each is rendered at another etag than the one sent: a list that
                            # lags the write, or a newer edit by someone else (rendered too)
                            mismatch_since = mismatch_since or time.monotonic()
                            if time.monotonic() - mismatch_since > STALE_GRACE_SECONDS:
                                waiting = set()
                        if not waiting:
                            bar.advance(len(expected) - done)
                            return True
                    estimate = len(waiting)
                now_done = len(expected) - estimate
                bar.advance(max(now_done - done, 0))
                done = max(done, now_done)
                if time.monotonic() > deadline:
                    return False
                time.sleep(pace.after(pending, time.monotonic()))

    def _render_counts(self) -> RenderCounts | None:
        """The collection's render counts; None from a server without that route (an older
        version: then the pending lists are read every time, and say what else is wrong)."""
        if not self._counts_route:
            return None
        try:
            return self.client.render_counts(self.collection)
        except ApiError as exc:
            if exc.status not in (403, 404, 405):
                raise
        self._counts_route = False
        return None

    def _pending_slugs(self) -> list[str]:
        """The slugs pending in the collection, once per stage pending."""
        return [
            draft.slug
            for stage in ("draft", "published")
            for draft in self.client.iter_drafts(self.collection, status="pending", stage=stage)
        ]

    def _unconfirmed(self, expected: dict[str, Expected]) -> tuple[set[str], set[str]]:
        """(entries not yet seen rendered or failed, those of them listed at another etag)."""
        drafts = {d.slug: d for d in self.client.iter_drafts(self.collection)}
        wants_published = any(publish for _, publish in expected.values())
        snapshots = (
            {d.slug: d for d in self.client.iter_drafts(self.collection, stage="published")}
            if wants_published
            else {}
        )
        waiting, stale = set(), set()
        for slug, (etag, publish) in expected.items():
            draft, snapshot = drafts.get(slug), snapshots.get(slug)
            if draft is None or draft.render_status == "pending":
                waiting.add(slug)
            elif etag is not None and draft.etag != etag:
                waiting.add(slug)
                stale.add(slug)
            elif publish and (snapshot is None or snapshot.render_status == "pending"):
                waiting.add(slug)
        return waiting, stale

    def _render_failures(self, todo: list[Planned], state: State, report: ImportReport) -> None:
        """Entries of this run whose render failed on the server, as failures of their file."""
        sent = {p.rel for p in todo}
        rel_of = {str(info.get("slug")): rel for rel, info in state.files.items() if rel in sent}
        for stage in ("draft", "published"):
            for draft in self.client.iter_drafts(self.collection, status="failed", stage=stage):
                if draft.slug in rel_of:
                    error = draft.raw.get("render_error") or "the server could not render it"
                    report.failures.append(Failure(rel_of[draft.slug], f"{stage}: {error}"))


class _Kept(Exception):
    """A file gone from the folder whose entry is kept, and why."""


def _failed(batch: list[Planned], error: CMSClientError) -> list[BatchResult]:
    reason, problem = _problem_of(error)
    problem = problem or {"title": "Failed", "detail": reason}
    return [BatchResult(i, None, "failed", None, None, problem, p.rel) for i, p in enumerate(batch)]


def _no_batch_route(error: ApiError) -> bool:
    """A server without the batch route: API Gateway's 403 'Missing Authentication Token'
    or a 404/405 that is not a problem of ours (those have a /problems/ type)."""
    if error.status == 405:
        return True
    return error.status in (403, 404) and not error.problem.type.startswith("/problems/")
