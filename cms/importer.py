"""`cms import DIR --collection NAME`: a folder of Markdown files becomes entries.

Hugo, Jekyll and Eleventy conventions: YAML (or Hugo's TOML) front matter, ``draft: true``
(Jekyll: ``published: false``) stays a draft, ``date`` becomes ``published_at`` (Jekyll: a
``YYYY-MM-DD-`` file name prefix too), ``index.md`` in a folder is a page bundle named after
the folder, front matter ``slug`` wins. Relative images become media assets and the body
points at them (``![x](media:ID)``).

Idempotent and resumable: ``.cms-import.json`` in the folder maps each file to the hash of
its bytes and of the images it uses, its slug and its media; it is saved after every batch,
so an interrupted import goes on where it stopped and a second run sends nothing that did
not change. The server compares too: an item equal to the stored draft writes nothing.

Fast: entries go in batches (``POST .../batch``, one request for up to ``batch_size``
entries) from a few threads; media upload in parallel. A server without the batch route gets
one request per step instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Client
from .documents import DocumentError, local_images, parse_document, rewrite_images, slugify
from .errors import ApiError, CMSClientError, ConnectionFailed, NotFound
from .models import BatchItem, BatchResult, Draft
from .progress import NullProgress, Progress

STATE_FILE = ".cms-import.json"
STATE_VERSION = 1
MARKDOWN_SUFFIXES = (".md", ".markdown")
SKIPPED_NAMES = {"_index.md", "_index.markdown"}  # Hugo section pages: not entries
MAX_BATCH_BYTES = 700_000  # JSON per request; the server takes 1 MiB bodies
JEKYLL_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(.+)$")
INSTANT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$"
)
DROPPED = ("draft", "published", "date", "publishDate", "lastmod", "slug")


@dataclass
class Failure:
    path: str
    reason: str
    problem: dict[str, Any] | None = None


@dataclass
class ImportReport:
    files: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # sent, and the server had it already
    skipped: int = 0  # not sent: the state file says it has not changed
    published: int = 0
    drafts: int = 0
    media_uploaded: int = 0
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
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "published": self.published,
            "drafts": self.drafts,
            "media_uploaded": self.media_uploaded,
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
class Image:
    ref: str  # as written in the body
    path: Path
    sha256: str
    alt: str


@dataclass
class Planned:
    """One file, parsed and mapped, ready to send."""

    rel: str
    slug: str
    front_matter: dict[str, Any]
    body: str
    publish: bool
    digest: str
    images: list[Image]


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
        self.media: dict[str, dict[str, Any]] = mine.setdefault("media", {})

    def record_file(self, rel: str, info: dict[str, Any]) -> None:
        with self._lock:
            self.files[rel] = info

    def record_media(self, sha256: str, info: dict[str, Any]) -> None:
        with self._lock:
            self.media[sha256] = info

    def save(self) -> None:
        with self._lock:
            text = json.dumps(self._all, indent=1, sort_keys=True)
            temp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            temp.write_text(text, encoding="utf-8")
            os.replace(temp, self.path)


# --- planning -------------------------------------------------------------------------------


def scan(root: Path) -> list[Path]:
    """Markdown files under ``root``, sorted; hidden files and folders are left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        for name in sorted(filenames):
            wanted = name.lower().endswith(MARKDOWN_SUFFIXES) and name not in SKIPPED_NAMES
            if wanted and not name.startswith("."):
                found.append(Path(dirpath) / name)
    return found


def _instant(value: Any) -> Any:
    """An ISO 8601 string from the date forms front matter uses ('2024-01-05',
    '2024-01-05 10:30:00 +0100'); anything else is passed on for the server to judge."""
    if not isinstance(value, str):
        return value
    match = INSTANT.match(value.strip())
    if not match:
        return value
    day, hm, seconds, zone = match.groups()
    if hm is None:
        return f"{day}T00:00:00Z"
    zone = "Z" if zone in (None, "Z") else (zone if ":" in zone else f"{zone[:3]}:{zone[3:]}")
    text = f"{day}T{hm}{seconds or ':00'}{'+00:00' if zone == 'Z' else zone}"
    try:
        moment = dt.datetime.fromisoformat(text).astimezone(dt.UTC)
    except ValueError:
        return value
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def _title_from(body: str, slug: str) -> str:
    for line in body.splitlines():
        if line.startswith("# "):
            return line[2:].strip().strip("#").strip() or slug
    return slug.replace("-", " ").capitalize()


def map_front_matter(
    front_matter: dict[str, Any], body: str, file: Path
) -> tuple[str, dict[str, Any], bool]:
    """(slug, CMS front matter, publish?) from a static site generator's front matter."""
    fm = dict(front_matter)
    stem = file.parent.name if file.stem == "index" else file.stem
    jekyll = JEKYLL_NAME.match(stem)
    if jekyll:
        stem = jekyll.group(2)
    given_slug = fm.get("slug")
    slug = slugify(given_slug if isinstance(given_slug, str) and given_slug else stem)
    draft = _truthy(fm.get("draft")) or fm.get("published") is False
    if "published_at" not in fm:
        date = fm.get("publishDate") or fm.get("date") or (jekyll.group(1) if jekyll else None)
        if date is not None:
            fm["published_at"] = date
    if "published_at" in fm:
        fm["published_at"] = _instant(fm["published_at"])
    for name in DROPPED:
        fm.pop(name, None)
    if "summary" not in fm and isinstance(fm.get("description"), str):
        fm["summary"] = fm.pop("description")
    if isinstance(fm.get("tags"), str):
        fm["tags"] = [t.strip() for t in fm["tags"].split(",") if t.strip()]
    if isinstance(fm.get("author"), list) and all(isinstance(a, str) for a in fm["author"]):
        fm["author"] = ", ".join(fm["author"])
    if not isinstance(fm.get("title"), str) or not fm["title"].strip():
        fm["title"] = _title_from(body, slug)
    return slug, fm, not draft


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def plan_file(root: Path, file: Path, warnings: list[str]) -> Planned:
    """Parse one file (DocumentError if it cannot be an entry)."""
    rel = file.relative_to(root).as_posix()
    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError("not UTF-8 text") from exc
    document = parse_document(text)
    slug, fm, publish = map_front_matter(document.front_matter, document.body, file)
    if not slug:
        raise DocumentError("no slug: give the file a name of letters or digits, or a 'slug'")
    images: list[Image] = []
    digest = hashlib.sha256(raw)
    resolved_root = root.resolve()
    for ref in local_images(document.body):
        target = (file.parent / ref.target).resolve()
        if not target.is_relative_to(resolved_root):
            warnings.append(f"{rel}: image {ref.target} is outside the folder; left as it is")
            continue
        if not target.is_file():
            warnings.append(f"{rel}: image {ref.target} not found; left as it is")
            continue
        data = target.read_bytes()
        image = Image(ref.target, target, _sha256(data), ref.alt)
        images.append(image)
        digest.update(image.sha256.encode())
    return Planned(rel, slug, fm, document.body, publish, digest.hexdigest(), images)


# --- sending --------------------------------------------------------------------------------


def _problem_of(error: CMSClientError) -> tuple[str, dict[str, Any] | None]:
    if isinstance(error, ApiError):
        return error.problem.describe(), error.problem.to_dict()
    return str(error), None


def _batches(items: list[Planned], size: int) -> Iterator[list[Planned]]:
    batch: list[Planned] = []
    weight = 0
    for item in items:
        cost = len(item.body.encode("utf-8")) + len(json.dumps(item.front_matter)) + 200
        if batch and (len(batch) >= size or weight + cost > MAX_BATCH_BYTES):
            yield batch
            batch, weight = [], 0
        batch.append(item)
        weight += cost
    if batch:
        yield batch


def _same_draft(current: Draft, fm: dict[str, Any], body: str) -> bool:
    def comparable(data: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k not in ("slug", "updated_at")}

    return current.body == body and comparable(current.front_matter) == comparable(fm)


def upsert_one(client: Client, collection: str, item: BatchItem) -> BatchResult:
    """The batch route's semantics through the single routes (for servers without it)."""
    slug = item.slug or ""
    try:
        current: Draft | None = client.get_entry(collection, slug)
    except NotFound:
        current = None
    if current is None:
        draft = client.create_entry(collection, {**item.front_matter, "slug": slug}, item.body)
        status = "created"
    elif _same_draft(current, item.front_matter, item.body):
        draft, status = current, "unchanged"
    else:
        draft = client.replace_entry(
            collection, slug, item.front_matter, item.body, if_match=current.etag
        )
        status = "updated"
    state = current.publication_state if current is not None else "draft"
    if item.publish and (status != "unchanged" or state == "draft"):
        state = client.publish(collection, slug, if_match=draft.etag).state
    elif item.publish is False and state != "draft":
        state = client.unpublish(collection, slug).state
    return BatchResult(0, slug, status, state, draft.etag, None)


POLL_SECONDS = 0.5
STALE_GRACE_SECONDS = 5.0
Expected = tuple[str | None, bool]  # (the draft's etag as sent, a published snapshot too?)


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
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.collection = collection
        self.workers = max(1, workers)
        self.batch_size = max(1, min(batch_size, 100))
        self.use_batch = use_batch
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.progress = progress or NullProgress()
        self._expected: dict[str, Expected] = {}  # what this run sent, to wait for

    def run(self, root: Path) -> ImportReport:
        started = time.perf_counter()
        self._expected = {}
        report = ImportReport(mode="batch" if self.use_batch else "single")
        root = root.resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"{root} is not a folder")
        self.client.get_collection(self.collection)  # NotFound: a clear error before any work
        state = State(root, self.client.url, self.collection)
        files = scan(root)
        report.files = len(files)
        # the state is checked against the server: a file it lists as imported but whose
        # entry the server does not have (a new data dir at the same URL) is sent again
        on_server = (
            {d.slug for d in self.client.iter_drafts(self.collection)} if state.files else set()
        )
        todo = self._plan(root, files, state, on_server, report)
        self._upload_media(todo, state, report)
        self._send(todo, state, report)
        state.save()
        report.stored_seconds = time.perf_counter() - started
        if self.wait and self._expected:
            report.rendered = self._wait_rendered(dict(self._expected))
            self._render_failures(todo, report)
        report.seconds = time.perf_counter() - started
        return report

    def _wait_rendered(self, expected: dict[str, Expected]) -> bool:
        """Wait until every entry this run sent is rendered, or its render failed (the server
        renders after it stores: in the background locally, in the render function on AWS).
        While some are pending it polls the pending lists, which shrink as the server works;
        then it confirms each entry in the full listing, since on AWS a list may lag a write.
        False if that took longer than ``wait_timeout``."""
        deadline = time.monotonic() + self.wait_timeout
        pause = POLL_SECONDS / 8
        mismatch_since: float | None = None
        with self.progress.task("Rendering on the server", len(expected)) as bar:
            done = 0
            while True:
                pending = self._pending_slugs()
                waiting = pending & expected.keys()
                if not waiting:
                    waiting, stale = self._unconfirmed(expected)
                    if waiting and waiting <= stale:
                        # each is rendered at another etag than the one sent: a list that
                        # lags the write, or a newer edit by someone else (rendered too)
                        mismatch_since = mismatch_since or time.monotonic()
                        if time.monotonic() - mismatch_since > STALE_GRACE_SECONDS:
                            waiting = set()
                now_done = len(expected) - len(waiting)
                bar.advance(max(now_done - done, 0))
                done = max(done, now_done)
                if not waiting:
                    return True
                if time.monotonic() > deadline:
                    return False
                time.sleep(pause)
                # a poll reads the pending lists page by page: about 10 pages a second at most
                pause = min(max(min(pause * 2, POLL_SECONDS), len(pending) / 1000), 5.0)

    def _pending_slugs(self) -> set[str]:
        return {
            draft.slug
            for stage in ("draft", "published")
            for draft in self.client.iter_drafts(self.collection, status="pending", stage=stage)
        }

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

    def _render_failures(self, todo: list[Planned], report: ImportReport) -> None:
        """Entries of this run whose render failed on the server, as failures of their file."""
        rel_of = {planned.slug: planned.rel for planned in todo}
        for stage in ("draft", "published"):
            for draft in self.client.iter_drafts(self.collection, status="failed", stage=stage):
                if draft.slug in rel_of:
                    error = draft.raw.get("render_error") or "the server could not render it"
                    report.failures.append(Failure(rel_of[draft.slug], f"{stage}: {error}"))

    def _plan(
        self,
        root: Path,
        files: list[Path],
        state: State,
        on_server: set[str],
        report: ImportReport,
    ) -> list[Planned]:
        todo: list[Planned] = []
        slugs: dict[str, str] = {}
        for file in files:
            rel = file.relative_to(root).as_posix()
            try:
                planned = plan_file(root, file, report.warnings)
            except (DocumentError, OSError) as exc:
                report.failures.append(Failure(rel, str(exc)))
                continue
            if planned.slug in slugs:
                reason = f"slug {planned.slug!r} is already taken by {slugs[planned.slug]}"
                report.failures.append(Failure(rel, reason))
                continue
            slugs[planned.slug] = rel
            known = state.files.get(rel)
            if (
                known
                and known.get("sha256") == planned.digest
                and known.get("slug") == planned.slug
                and planned.slug in on_server
            ):
                report.skipped += 1
                continue
            todo.append(planned)
        return todo

    def _upload_media(self, todo: list[Planned], state: State, report: ImportReport) -> None:
        wanted: dict[str, Image] = {}
        for planned in todo:
            for image in planned.images:
                wanted.setdefault(image.sha256, image)
        if not wanted:
            return
        failed: dict[str, str] = {}
        with (
            self.progress.task("Uploading images", len(wanted)) as bar,
            ThreadPoolExecutor(self.workers) as pool,
        ):
            futures = {
                pool.submit(self._ensure_media, image, state.media.get(image.sha256)): image
                for image in wanted.values()
            }
            for future in as_completed(futures):
                image = futures[future]
                try:
                    media_id, uploaded = future.result()
                except (CMSClientError, OSError) as exc:
                    failed[image.sha256] = f"image {image.ref}: {_problem_of(exc)[0]}"
                else:
                    if uploaded:
                        state.record_media(image.sha256, {"id": media_id, "file": image.path.name})
                        report.media_uploaded += 1
                        state.save()
                bar.advance()
        for planned in list(todo):
            problems = [failed[i.sha256] for i in planned.images if i.sha256 in failed]
            if problems:
                report.failures.append(Failure(planned.rel, "; ".join(problems)))
                todo.remove(planned)

    def _ensure_media(self, image: Image, known: dict[str, Any] | None) -> tuple[str, bool]:
        """(media id, uploaded now?): the asset the state names if the server has it, else
        a new upload."""
        if known is not None:
            try:
                return self.client.get_media(str(known["id"]), manage=True).id, False
            except NotFound:
                pass
        data = image.path.read_bytes()
        return self.client.upload_media(data, image.path.name, alt=image.alt or None).id, True

    def _item(self, planned: Planned, state: State) -> BatchItem:
        mapping = {i.ref: f"media:{state.media[i.sha256]['id']}" for i in planned.images}
        body = rewrite_images(planned.body, mapping) if mapping else planned.body
        return BatchItem(planned.front_matter, body, slug=planned.slug, publish=planned.publish)

    def _send(self, todo: list[Planned], state: State, report: ImportReport) -> None:
        if not todo:
            return
        with self.progress.task("Importing entries", len(todo)) as bar:
            if self.use_batch:
                batches = list(_batches(todo, self.batch_size))
                first, rest = batches[0], batches[1:]
                try:  # the first batch alone: it tells whether the server has the route
                    results = self.client.batch_upsert(self.collection, self._items(first, state))
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
                    self._run_pool(rest, lambda b: self._send_batch(b, state), state, report, bar)
                    return
            singles = [[planned] for planned in todo]
            self._run_pool(singles, lambda b: self._send_one(b, state), state, report, bar)

    def _send_batch(self, batch: list[Planned], state: State) -> list[BatchResult]:
        return self.client.batch_upsert(self.collection, self._items(batch, state))

    def _send_one(self, one: list[Planned], state: State) -> list[BatchResult]:
        return [upsert_one(self.client, self.collection, self._item(one[0], state))]

    def _items(self, batch: list[Planned], state: State) -> list[BatchItem]:
        return [self._item(planned, state) for planned in batch]

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
            published = result.publication in ("published", "scheduled")
            if published:
                report.published += 1
            else:
                report.drafts += 1
            self._expected[planned.slug] = (result.etag, published)
            state.record_file(
                planned.rel,
                {
                    "sha256": planned.digest,
                    "slug": planned.slug,
                    "publication": result.publication,
                    "media": [state.media[i.sha256]["id"] for i in planned.images],
                },
            )
        state.save()

    @staticmethod
    def _fail_all(batch: list[Planned], error: CMSClientError, report: ImportReport) -> None:
        reason, problem = _problem_of(error)
        report.failures.extend(Failure(p.rel, reason, problem) for p in batch)


def _no_batch_route(error: ApiError) -> bool:
    """A server without the batch route: API Gateway's 403 'Missing Authentication Token'
    or the slug route's 405 (not a problem of ours: those have a /problems/ type)."""
    if error.status == 405:
        return True
    return error.status in (403, 404) and not error.problem.type.startswith("/problems/")
