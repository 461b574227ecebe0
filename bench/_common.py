"""Helpers shared by the benchmark scripts in bench/ (not a benchmark itself).

Every script imports this module first: it puts the repository root on ``sys.path`` so the
scripts run as ``python bench/<name>.py`` from the repository root without installing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import math
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

ADMIN_KEY = "bench-admin-key-0123456789abcdef"
ENV_NAMES = ("CMS_DATA_DIR", "CMS_ADMIN_KEY", "CMS_BACKEND")


# --- statistics ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    n: int
    median: float
    p95: float
    mean: float
    minimum: float

    @classmethod
    def of(cls, samples: list[float]) -> Stats:
        ordered = sorted(samples)
        rank = max(1, math.ceil(0.95 * len(ordered)))  # nearest-rank p95
        return cls(
            n=len(ordered),
            median=statistics.median(ordered),
            p95=ordered[rank - 1],
            mean=statistics.fmean(ordered),
            minimum=ordered[0],
        )

    def line(self, label: str, unit: str = "us") -> str:
        scale = {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
        return (
            f"  {label:<50} median {self.median * scale:9.1f} {unit}   "
            f"p95 {self.p95 * scale:9.1f} {unit}   mean {self.mean * scale:9.1f} {unit}   "
            f"(n={self.n})"
        )


def time_calls(call: Callable[[], Any], repetitions: int, warmup: int = 0) -> list[float]:
    """Time ``call`` ``repetitions`` times (after ``warmup`` untimed calls); GC stays on but is
    collected once before timing, so a pending collection is not charged to the first call."""
    for _ in range(warmup):
        call()
    gc.collect()
    samples = []
    clock = time.perf_counter
    for _ in range(repetitions):
        start = clock()
        call()
        samples.append(clock() - start)
    return samples


def verdict(ok: bool, text: str) -> str:
    return f"{'PASS' if ok else 'FAIL'}: {text}"


def header(title: str) -> None:
    print(f"== {title}")
    print(
        f"   python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPU(s), {platform.system()} {platform.release()}, "
        f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews timings)"
    )


# --- data directories ----------------------------------------------------------------------


@contextlib.contextmanager
def temp_root(label: str) -> Iterator[Path]:
    """A temporary directory for data dirs; the CMS environment is restored and the directory
    removed on exit (also on errors)."""
    from chalicelib import wiring

    saved = {name: os.environ.get(name) for name in ENV_NAMES}
    root = Path(tempfile.mkdtemp(prefix=f"cms-bench-{label}-"))
    try:
        yield root
    finally:
        wiring.reset()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def fsync_skipped(skip: bool = True) -> Iterator[None]:
    """Make ``os.fsync`` a no-op inside the block (seeding a throwaway data dir only: the
    local object store fsyncs every blob file, which is most of the seeding time on a busy
    disk and has nothing to do with what the read benchmarks measure)."""
    real = os.fsync
    if skip:
        os.fsync = lambda fd: None
    try:
        yield
    finally:
        os.fsync = real


def use_data_dir(path: Path) -> Any:
    """Point the process container at ``path`` (a fresh or existing CMS_DATA_DIR); returns it."""
    from chalicelib import wiring

    os.environ["CMS_DATA_DIR"] = str(path)
    os.environ["CMS_ADMIN_KEY"] = ADMIN_KEY
    os.environ["CMS_BACKEND"] = "local"
    wiring.reset()
    return wiring.container()


# --- content -------------------------------------------------------------------------------

_VOCABULARY = (
    "content static site build deploy markdown entry render cache index query bucket event "
    "object version schema field collection publish draft editor reader archive feed tag "
    "title summary author date request response header latency storage lambda queue retry "
    "handler template layout image thumbnail gallery section chapter note example pattern "
    "service adapter port domain boundary invariant contract test fixture benchmark profile "
    "the a of to and in is that for with on as by it this from at be are or an"
)
_WORDS = _VOCABULARY.split()

_CODE = {
    "python": 'def render(entry):\n    html = to_html(entry.body)\n    return {"html": html}\n',
    "javascript": "export async function load(slug) {\n  const r = await fetch(`/v1/${slug}`);\n"
    "  return r.json();\n}\n",
    "bash": "curl -s https://cms.example.com/v1/content/blog?limit=20 | jq '.items[].slug'\n",
    "json": '{\n  "title": "Hello",\n  "tags": ["a", "b"],\n  "draft": false\n}\n',
    "yaml": "title: Hello\ntags:\n  - a\n  - b\npublished_at: 2025-01-01T00:00:00Z\n",
    "go": 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n',
    "sql": "SELECT slug, title FROM entries\nWHERE stage = 'published'\nORDER BY published_at"
    " DESC LIMIT 20;\n",
    "rust": 'fn main() {\n    let v: Vec<u32> = (1..10).collect();\n    println!("{:?}", v);\n}\n',
}


def _sentence(rng: random.Random, words: int) -> str:
    chosen = [rng.choice(_WORDS) for _ in range(words)]
    if words >= 4:  # some inline Markdown: a link, emphasis or inline code
        roll = rng.random()
        at = rng.randrange(1, words - 1)
        if roll < 0.15:
            chosen[at] = f"[{chosen[at]}](https://example.com/docs/{chosen[at]})"
        elif roll < 0.30:
            chosen[at] = f"**{chosen[at]}**"
        elif roll < 0.40:
            chosen[at] = f"`{chosen[at]}`"
        elif roll < 0.45:
            chosen[at] = f"*{chosen[at]}*"
    chosen[0] = chosen[0].capitalize()
    return " ".join(chosen) + "."


def _paragraph(rng: random.Random, words: int, *, note: int | None = None) -> str:
    parts: list[str] = []
    left = words
    while left > 0:
        size = min(left, rng.randint(8, 18))
        parts.append(_sentence(rng, size))
        left -= size
    text = " ".join(parts)
    if note is not None:
        text += f"[^n{note}]"
    return text


def markdown_document(seed: int, *, min_words: int = 300, max_words: int = 1500) -> str:
    """A realistic Markdown body, deterministic per seed: headings, paragraphs with links,
    emphasis and inline code, bullet and numbered lists, a table, a fenced code block with a
    language, a block quote and footnotes; about ``min_words`` to ``max_words`` words in all
    (as the renderer counts them: code, table cells and footnotes included)."""
    rng = random.Random(seed)
    target = rng.randint(min_words, max_words) * 3 // 4  # lists, code, notes add the rest
    blocks: list[str] = [_paragraph(rng, rng.randint(40, 70), note=1)]
    written = 60
    section = 0
    notes = 1
    while written + 60 < target:
        section += 1
        blocks.append(f"## {_sentence(rng, rng.randint(2, 5))[:-1]} {section}")
        for _ in range(rng.randint(1, 3)):
            words = rng.randint(40, 110)
            note = None
            if rng.random() < 0.25:
                notes += 1
                note = notes
            blocks.append(_paragraph(rng, words, note=note))
            written += words
        kind = section % 4
        if kind == 0:
            items = [f"- {_sentence(rng, rng.randint(4, 10))}" for _ in range(rng.randint(3, 6))]
            blocks.append("\n".join(items))
        elif kind == 1:
            items = [
                f"{i}. {_sentence(rng, rng.randint(4, 10))}" for i in range(1, rng.randint(4, 7))
            ]
            blocks.append("\n".join(items))
        elif kind == 2:
            language = rng.choice(sorted(_CODE))
            blocks.append(f"```{language}\n{_CODE[language]}```")
        else:
            blocks.append(f"> {_sentence(rng, rng.randint(10, 20))}")
        if section == 2:
            rows = [
                "| Field | Type | Required |",
                "|:------|:----:|--------:|",
                *(
                    f"| {rng.choice(_WORDS)} | {rng.choice(['string', 'number', 'list'])} "
                    f"| {rng.choice(['yes', 'no'])} |"
                    for _ in range(rng.randint(3, 6))
                ),
            ]
            blocks.append("\n".join(rows))
        if section % 3 == 0:
            blocks.append(f"### {_sentence(rng, 3)[:-1]}")
    if section < 2:  # short documents still get their code block and table
        language = rng.choice(sorted(_CODE))
        blocks.append(f"```{language}\n{_CODE[language]}```")
        blocks.append("| a | b |\n|---|---|\n| 1 | 2 |")
    for number in range(1, notes + 1):
        blocks.append(f"[^n{number}]: {_sentence(rng, rng.randint(5, 12))}")
    return "\n\n".join(blocks) + "\n"


def instant(index: int) -> str:
    """A distinct published_at in the past for entry ``index`` (one per hour from 2020)."""
    moment = dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=index)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


TOPICS = ("news", "guides", "releases", "opinion")


def seed_published(
    container: Any,
    collection: str,
    count: int,
    *,
    body: Callable[[int], str],
    batch: int = 250,
) -> tuple[list[str], float]:
    """Create ``collection`` and ``count`` published entries through the services, delivering
    the object events (render + index) every ``batch`` entries; returns (slugs, seconds)."""
    from chalicelib.services import collections, entries, publishing

    backend = container.backend
    started = time.perf_counter()
    collections.put_collection(backend, collection, {"title": collection.title()})
    container.process_events()
    slugs: list[str] = []
    for index in range(count):
        front_matter = {
            "title": f"Entry {index:05d} about {_WORDS[index % len(_WORDS)]}",
            "slug": f"entry-{index:05d}",
            "tags": [TOPICS[index % len(TOPICS)], f"series-{index % 50}"],
            "author": "Bench Author",
            "published_at": instant(index),
        }
        document = entries.create_entry(
            backend, container.limits, collection, front_matter, body(index)
        )
        publishing.publish(backend, collection, document.slug)
        slugs.append(document.slug)
        if (index + 1) % batch == 0:
            container.process_events()
    container.process_events()
    return slugs, time.perf_counter() - started


# --- chalice local in a subprocess ---------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (0 where /proc cannot tell)."""
    from chalicelib.adapters.local.render_workers import process_cpu_seconds

    return process_cpu_seconds(pid) or 0.0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


class LocalServer:
    """`chalice local` (the README's command) on a fresh data dir under ``root``, with
    ``env`` added, serving ``checkout`` (this one unless told); its log goes to a file (a
    pipe nobody reads would fill up and stall it)."""

    def __init__(
        self,
        root: Path,
        label: str,
        env: dict[str, str] | None = None,
        checkout: Path = REPO_ROOT,
    ) -> None:
        import subprocess

        import requests

        self.data = root / f"data-{label}"
        self.log = (root / f"server-{label}.log").open("wb")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chalice = Path(sys.executable).parent / "chalice"
        environment = {**os.environ, "CMS_DATA_DIR": str(self.data), "CMS_ADMIN_KEY": ADMIN_KEY}
        environment.pop("CMS_BACKEND", None)
        environment.update(env or {})
        command = [str(chalice), "local", "--stage", "local", "--no-autoreload"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)],
            cwd=checkout,
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("chalice local did not start") from None
                time.sleep(0.2)

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: the server process, and its render workers together."""
        workers = sum(_cpu_seconds(child) for child in _children(self.process.pid))
        return _cpu_seconds(self.process.pid), workers

    def stop(self) -> None:
        import signal
        import subprocess

        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
