"""Rendering: the object -> event -> render -> index pipeline against rendering alone.

For N realistic Markdown documents (headings, lists, a table, fenced code with a language,
footnotes, links; ~300-1,500 words; generated deterministically):

- baseline (the target): Python-Markdown with the CMS's extensions, then nh3 with the CMS's
  allow-list, called directly on the body; also reported: ``render_markdown(body)``, which
  adds the toc, excerpt and word count;
- pipeline: ``container.backend.objects.put("content/{collection}/{slug}.md", <front matter +
  body>)`` then ``container.process_events()``, which delivers the S3-shaped event: read the
  object, parse and validate the front matter, render (the same function), write the
  content-addressed HTML object and the index row.

Rounds alternate baseline and pipeline (and which goes first) so drift hits both alike; each
round's bodies end with a distinct line, so no round reuses another's HTML blob.

Target: the pipeline adds at most 50% to Markdown + nh3 alone (per-document medians). On a FAIL
(or with --profile) a cProfile of the pipeline is printed. --skip-fsync makes the object
store's per-blob os.fsync a no-op (a diagnostic: how much of the overhead is durability).

Run from the repository root:  python bench/render_pipeline.py [--profile] [--skip-fsync]
"""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
from typing import Any

import _common
from _common import Stats, header, markdown_document, temp_root, verdict

DOCUMENTS = 300
ROUNDS = 3
WARMUP = 20
TARGET_OVERHEAD = 0.50
COLLECTION = "docs"


def body_for(index: int, round_number: int) -> str:
    return markdown_document(index) + f"\nRevision {round_number} of document {index}.\n"


def object_bytes(index: int, body: str) -> bytes:
    from chalicelib.domain import frontmatter

    front_matter = {
        "title": f"Document {index}",
        "tags": [_common.TOPICS[index % len(_common.TOPICS)]],
        "author": "Bench Author",
        "published_at": _common.instant(index),
    }
    return frontmatter.serialize(front_matter, body).encode("utf-8")


class Pipeline:
    def __init__(self, container: Any) -> None:
        self.container = container
        self.objects = container.backend.objects

    def run(self, slug: str, data: bytes) -> tuple[float, float]:
        """Put one object and deliver its event; returns (put seconds, event seconds)."""
        clock = time.perf_counter
        start = clock()
        self.objects.put(
            f"content/{COLLECTION}/{slug}.md", data, content_type="text/markdown; charset=utf-8"
        )
        middle = clock()
        handled = self.container.process_events()
        end = clock()
        if handled != 1:
            raise RuntimeError(f"expected one event for {slug}, handled {handled}")
        return middle - start, end - middle


def check_indexed(container: Any, slug: str, expected_words: int) -> str | None:
    record = container.backend.index.get_entry(COLLECTION, "draft", slug)
    if record is None or record.render_status != "rendered":
        return f"{slug}: {record.render_status if record else 'not indexed'}"
    if record.word_count != expected_words:
        return f"{slug}: {record.word_count} words indexed, {expected_words} rendered directly"
    return None


# (label, file name ending, function name) of the costs worth naming; cumulative times, so
# nested rows overlap (e.g. fsync is inside objects.put).
BREAKDOWN = (
    ("whole pipeline (put + process_events)", "render_pipeline.py", "run"),
    ("render_markdown (the baseline's work)", "domain/rendering.py", "render_markdown"),
    ("objects.put (source + HTML object)", "local/object_store.py", "put"),
    ("  os.fsync of blob files", "~", "<built-in method posix.fsync>"),
    ("objects.get (read the source object)", "local/object_store.py", "get"),
    ("frontmatter.parse (YAML)", "domain/frontmatter.py", "parse"),
    ("validate_front_matter (pydantic)", "domain/entries.py", "validate_front_matter"),
    ("index.get_collection", "local/sqlite_index.py", "get_collection"),
    ("index.apply_render", "local/sqlite_index.py", "apply_render"),
    ("index.clear_object_error", "local/sqlite_index.py", "clear_object_error"),
    ("queue: claim a message", "local/event_queue.py", "_claim"),
    ("sqlite3 execute (all statements)", "~", "<method 'execute' of 'sqlite3.Connection' objects>"),
    ("SQLite COMMIT/BEGIN (Database.transaction)", "local/sqlite.py", "transaction"),
)


def profile_pipeline(pipeline: Pipeline, count: int = 100) -> str:
    """cProfile ``count`` pipeline runs: a table of named costs per document, then the
    functions with the most own time."""
    profiler = cProfile.Profile()
    payloads = [(f"profiled-{i:04d}", object_bytes(i, body_for(i, 99))) for i in range(count)]
    profiler.enable()
    for slug, data in payloads:
        pipeline.run(slug, data)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    table: dict[str, float] = {}
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        for label, file_end, name in BREAKDOWN:
            if function == name and filename.endswith(file_end):
                table[label] = table.get(label, 0.0) + row[3]
    total = table.get(BREAKDOWN[0][0]) or 1.0
    lines = [f"named costs under cProfile, ms per document ({count} documents):"]
    for label, _, _ in BREAKDOWN:
        spent = table.get(label, 0.0)
        lines.append(f"  {label:<46} {spent / count * 1e3:7.2f} ms  {spent / total:6.1%}")
    print("\n".join(lines), file=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(15)
    return out.getvalue()


def markdown_and_nh3(body: str) -> str:
    """Python-Markdown + nh3 as the renderer configures them, and nothing else."""
    from chalicelib.domain import rendering

    return rendering.sanitize_html(rendering._markdown().convert(body))


def main() -> int:
    from chalicelib.domain.rendering import clear_memo, render_markdown
    from chalicelib.services import collections

    want_profile = "--profile" in sys.argv[1:]
    skip_fsync = "--skip-fsync" in sys.argv[1:]
    header(
        f"render pipeline: {DOCUMENTS} documents x {ROUNDS} rounds"
        + (" (DIAGNOSTIC: blob fsync skipped)" if skip_fsync else "")
    )
    sources = [markdown_document(i) for i in range(DOCUMENTS)]
    words = [render_markdown(s).word_count for s in sources]  # also warms the renderer
    sizes = sorted(len(s.encode()) for s in sources)
    print(
        f"  documents: {min(words)}-{max(words)} words (median {statistics.median(words):.0f}), "
        f"{sizes[0] / 1024:.1f}-{sizes[-1] / 1024:.1f} KiB of Markdown"
    )
    with temp_root("render") as root, _common.fsync_skipped(skip_fsync):
        container = _common.use_data_dir(root / "data")
        collections.put_collection(container.backend, COLLECTION, {"title": "Docs"})
        container.process_events()
        pipeline = Pipeline(container)
        for i in range(WARMUP):  # warm SQLite, the blob folders and the handler's imports
            pipeline.run(f"warmup-{i}", object_bytes(i, body_for(i, -1)))

        direct: list[float] = []
        renderer: list[float] = []
        piped: list[float] = []
        put_times: list[float] = []
        event_times: list[float] = []
        per_document: list[list[float]] = [[] for _ in range(DOCUMENTS)]  # paired overheads
        errors: list[str] = []
        clock = time.perf_counter
        for round_number in range(ROUNDS):
            bodies = [body_for(i, round_number) for i in range(DOCUMENTS)]
            payloads = [object_bytes(i, body) for i, body in enumerate(bodies)]
            round_direct: list[float] = []
            round_piped: list[float] = []

            def run_direct(bodies: list[str] = bodies, out: list[float] = round_direct) -> None:
                clear_memo()  # every body renders in full on both sides
                gc.collect()
                for body in bodies:
                    start = clock()
                    markdown_and_nh3(body)
                    out.append(clock() - start)
                for body in bodies:
                    start = clock()
                    render_markdown(body)
                    renderer.append(clock() - start)

            def run_pipeline(
                payloads: list[bytes] = payloads,
                out: list[float] = round_piped,
                round_number: int = round_number,
            ) -> None:
                clear_memo()
                gc.collect()
                for i, data in enumerate(payloads):
                    put, event = pipeline.run(f"doc-{i:04d}-r{round_number}", data)
                    put_times.append(put)
                    event_times.append(event)
                    out.append(put + event)

            first, second = (
                (run_direct, run_pipeline) if round_number % 2 == 0 else (run_pipeline, run_direct)
            )
            first()
            second()
            direct.extend(round_direct)
            piped.extend(round_piped)
            for i in range(DOCUMENTS):
                per_document[i].append(round_piped[i] / round_direct[i] - 1)
        for i in range(0, DOCUMENTS, 7):  # the pipeline really rendered and indexed them
            expected = render_markdown(body_for(i, 0)).word_count
            problem = check_indexed(container, f"doc-{i:04d}-r0", expected)
            if problem:
                errors.append(problem)
        profile = profile_pipeline(pipeline) if want_profile else ""

        direct_stats = Stats.of(direct)
        piped_stats = Stats.of(piped)
        overhead = piped_stats.median / direct_stats.median - 1
        mean_overhead = piped_stats.mean / direct_stats.mean - 1
        paired = statistics.median(statistics.median(values) for values in per_document)
        renderer_stats = Stats.of(renderer)
        print(direct_stats.line("direct Markdown + nh3 (the baseline)", "ms"))
        print(renderer_stats.line("direct render_markdown (+ toc, excerpt, words)", "ms"))
        print(piped_stats.line("pipeline: put + process_events()", "ms"))
        print(Stats.of(put_times).line("  of which objects.put", "ms"))
        print(Stats.of(event_times).line("  of which the event (read, render, index)", "ms"))
        print(
            f"  overhead of the pipeline: median {overhead:+.1%}, mean {mean_overhead:+.1%}, "
            f"per-document paired median {paired:+.1%}; "
            f"absolute {(piped_stats.median - direct_stats.median) * 1e3:.2f} ms per document"
        )
        print(
            "  overhead over render_markdown alone: "
            f"median {piped_stats.median / renderer_stats.median - 1:+.1%}"
        )
        if errors:
            print(f"  {len(errors)} documents not indexed as expected, first: {errors[:3]}")
        ok = overhead <= TARGET_OVERHEAD and not errors
        if not ok and not profile:
            profile = profile_pipeline(pipeline)
        if profile:
            print("  cProfile of the pipeline (100 documents):")
            print("\n".join(f"    {line}" for line in profile.splitlines() if line.strip()))
        print(
            verdict(
                ok,
                f"pipeline median {piped_stats.median * 1e3:.2f} ms vs Markdown + nh3 "
                f"{direct_stats.median * 1e3:.2f} ms per document: {overhead:+.1%}; "
                f"target <= +{TARGET_OVERHEAD:.0%}"
                + (" (blob fsync skipped: a diagnostic run)" if skip_fsync else ""),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
