"""What one imported file costs the local server, in one thread: CPU and SQLite statements.

`bench/cms_import.py` measures an import end to end (processes, threads, HTTP). This one
takes the scheduling out, to show the work itself: the bench's realistic Hugo-style posts go
through the batch route of the app (Chalice's test client, no HTTP, events left queued), then
the queued events are handled in this thread. It prints, per file:

- CPU time of storing (the batch requests: create and publish) and of handling the events
  (both of a file: its draft and its published snapshot), with the render and without it
  (the renderer stubbed out, to see the bookkeeping alone);
- the SQLite statements and transactions of each phase, counted in a third run (tracing
  costs CPU of its own), by kind (``--statements`` lists them all).

Together with the plain loop's files per second (`bench/cms_import.py`) this bounds what any
scheduling of the same work can reach on a machine with N cores: (CPU per file) / N.

Run from the repository root:  python bench/import_cost.py [--files N] [--statements]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import _common
from _common import header, markdown_document, temp_root

TAGS = ("news", "guides", "releases", "opinion", "python", "hugo")
BATCH = 25
_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")


def post(index: int) -> dict[str, Any]:
    """The same files as bench/cms_import.py makes."""
    year, month = 2019 + index % 6, 1 + index % 12
    front = (
        f"---\ntitle: Post {index:05d}\ndate: {year}-{month:02d}-{1 + index % 28:02d}\n"
        f"tags: [{TAGS[index % len(TAGS)]}, {TAGS[(index * 7) % len(TAGS)]}]\n"
        f"description: Post number {index}.\n---\n"
    )
    document = front + markdown_document(index, min_words=150, max_words=900)
    return {"file": f"posts/{year}/{month:02d}/post-{index:05d}.md", "document": document}


class Statements:
    """Counts the statements of every connection the local adapters open, by phase."""

    def __init__(self) -> None:
        self.enabled = False  # set before a run: connections are traced as they are opened
        self.phase = "setup"
        self.counts: collections.Counter[tuple[str, str]] = collections.Counter()
        from chalicelib.adapters.local import sqlite

        original = sqlite.Database.connection

        def traced(database: Any) -> Any:
            conn = original(database)
            conn.set_trace_callback(self._seen if self.enabled else None)
            return conn

        sqlite.Database.connection = traced  # type: ignore[method-assign]

    def _seen(self, statement: str) -> None:
        shape = _LITERALS.sub("?", " ".join(statement.split()))
        self.counts[(self.phase, shape)] += 1

    def of(self, phase: str) -> collections.Counter[str]:
        return collections.Counter(
            {shape: n for (p, shape), n in self.counts.items() if p == phase}
        )


def run(root: Path, files: int, *, render: bool, statements: Statements) -> tuple[float, float]:
    os.environ["CMS_RENDER_WORKERS"] = "0"
    container = _common.use_data_dir(root)
    container.events.kick = lambda: None  # events stay queued until this thread handles them
    if not render:
        from chalicelib.domain.rendering import Rendered

        class Stub:
            def render(self, body: str, **_: Any) -> Rendered:
                return Rendered("<p>x</p>", [], "x", 1, 1)

        container.backend.renderer = Stub()  # type: ignore[assignment]
    from chalice.test import Client

    from app import app

    auth = {"Authorization": f"Bearer {_common.ADMIN_KEY}", "Content-Type": "application/json"}
    items = [{**post(i), "publish": True} for i in range(files)]
    bodies = [json.dumps({"items": items[i : i + BATCH]}) for i in range(0, files, BATCH)]
    with Client(app, stage_name="local") as client:
        client.http.put("/v1/manage/collections/blog", body='{"title": "Blog"}', headers=auth)
        container.process_events()
        statements.phase = "store"
        started = time.process_time()
        for body in bodies:
            response = client.http.post("/v1/manage/batch/blog", body=body, headers=auth)
            assert response.status_code == 200, response.body[:300]
        stored = time.process_time() - started
        statements.phase = "events"
        started = time.process_time()
        handled = container.process_events()
        events = time.process_time() - started
        statements.phase = "done"
    assert handled == 2 * files, handled
    return stored / files * 1000, events / files * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--statements", action="store_true")
    args = parser.parse_args()
    header(f"What one imported file costs the server: {args.files} files, one thread")
    statements = Statements()
    figures = {}
    for render in (True, False):  # CPU time, untraced
        with temp_root("import-cost") as root:
            figures[render] = run(root / "data", args.files, render=render, statements=statements)
    statements.enabled = True
    with temp_root("import-cost") as root:
        run(root / "data", args.files, render=True, statements=statements)
    counts = {phase: statements.of(phase) for phase in ("store", "events")}
    (store, events), (_, bookkeeping) = figures[True], figures[False]
    print(f"   store (batch create + publish)     {store:6.2f} ms CPU per file")
    print(f"   both events, rendering included    {events:6.2f} ms CPU per file")
    print(f"   both events, renderer stubbed out  {bookkeeping:6.2f} ms CPU per file")
    print(f"   in all                             {store + events:6.2f} ms CPU per file")
    for phase, counted in counts.items():
        total = sum(counted.values()) / args.files
        transactions = counted["BEGIN IMMEDIATE"] / args.files
        print(
            f"   {phase:<7} {total:5.1f} SQLite statements per file,"
            f" {transactions:.1f} transactions"
        )
        if args.statements:
            for shape, n in counted.most_common():
                print(f"      {n / args.files:5.2f}  {shape[:110]}")


if __name__ == "__main__":
    main()
