"""Delivery: one list page at 100 entries and at 10,000 entries (two data dirs, one run).

Both collections are seeded through the services (put_collection, create_entry, publish; the
object events render and index each entry, delivered in batches of 500), with short
Markdown bodies. While seeding, the object store's per-blob ``os.fsync`` is skipped (the
data dir is thrown away; pass --fsync to keep it), so 10,000 entries seed in 1-2 minutes.
Each entry has one of four topic tags, so a tag page is full at both sizes. Then, through
chalice.test.Client:

- GET /v1/content/{collection}?limit=20                    (newest first, the default)
- GET /v1/content/{collection}?limit=20&sort=title
- GET /v1/content/{collection}?limit=20&tag=guides
- GET /v1/content/{collection}?limit=20&cursor=<page 1's next_cursor>   (second page)

Target: every page at 10,000 entries <= 1.5x the same page at 100 entries (medians).

Run from the repository root:  python bench/list_page.py [--fsync]
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import _common
from _common import Stats, header, seed_published, temp_root, verdict

SIZES = (100, 10_000)
REQUESTS = 1_000  # per page and size, in ROUNDS interleaved rounds
ROUNDS = 4
WARMUP = 100
TARGET_RATIO = 1.5
COLLECTION = "posts"
PAGES = {
    "limit=20 (newest first)": "limit=20",
    "limit=20&sort=title": "limit=20&sort=title",
    "limit=20&tag=guides": "limit=20&tag=guides",
    "second page (cursor)": None,  # filled with the first page's next_cursor
}


def short_body(index: int) -> str:
    return (
        f"## Part {index}\n\nA short entry number {index} with *emphasis*, a "
        f"[link](https://example.com/{index}) and `code`.\n\n- one\n- two\n"
    )


def pages_for(client: Any) -> dict[str, str]:
    """The page paths; fetches page 1 to get the cursor of page 2 (of this data dir)."""
    paths = {label: f"/v1/content/{COLLECTION}?{query}" for label, query in PAGES.items() if query}
    first = json.loads(client.http.get(paths["limit=20 (newest first)"]).body)
    paths["second page (cursor)"] = (
        f"/v1/content/{COLLECTION}?limit=20&cursor={first['next_cursor']}"
    )
    return paths


def check_page(client: Any, path: str) -> str | None:
    response = client.http.get(path)
    if response.status_code != 200:
        return f"{path}: {response.status_code} {response.body[:200]!r}"
    items = json.loads(response.body)["items"]
    if len(items) != 20:
        return f"{path}: {len(items)} items"
    return None


def main() -> int:
    keep_fsync = "--fsync" in sys.argv[1:]
    header(f"list page at {SIZES[0]} and {SIZES[1]} entries")
    from chalice.test import Client

    from app import app

    with temp_root("list") as root:
        dirs: dict[int, Path] = {}
        for size in SIZES:
            dirs[size] = root / f"data-{size}"
            container = _common.use_data_dir(dirs[size])
            with _common.fsync_skipped(not keep_fsync):
                _, seconds = seed_published(container, COLLECTION, size, body=short_body, batch=500)
            print(
                f"  seeded {size:>6} entries (write + publish + render + index) in "
                f"{seconds:6.1f} s ({seconds / size * 1e3:.1f} ms per entry)"
                + ("" if keep_fsync else ", blob fsync skipped while seeding")
            )

        samples: dict[int, dict[str, list[float]]] = {s: {k: [] for k in PAGES} for s in SIZES}
        bytes_per_page: dict[int, int] = {}
        errors: list[str] = []
        clock = time.perf_counter
        for _ in range(ROUNDS):
            for size in SIZES:  # alternate data dirs so drift hits both sizes alike
                _common.use_data_dir(dirs[size])
                with Client(app) as client:
                    paths = pages_for(client)
                    for path in paths.values():
                        problem = check_page(client, path)
                        if problem:
                            errors.append(f"{size}: {problem}")
                        bytes_per_page[size] = len(client.http.get(path).body)
                        for _ in range(WARMUP):
                            client.http.get(path)
                    gc.collect()
                    for _ in range(REQUESTS // ROUNDS):
                        for label, path in paths.items():
                            start = clock()
                            client.http.get(path)
                            samples[size][label].append(clock() - start)

    small, large = SIZES
    print(f"  response body of one page: about {bytes_per_page[large] / 1024:.1f} KiB")
    worst = 0.0
    for label in PAGES:
        at_small = Stats.of(samples[small][label])
        at_large = Stats.of(samples[large][label])
        ratio = at_large.median / at_small.median
        worst = max(worst, ratio)
        print(at_small.line(f"{label} @ {small}"))
        print(at_large.line(f"{label} @ {large}"))
        print(f"  {'':<44} {large} / {small}: median {ratio:.2f}x")
    if errors:
        print(f"  {len(errors)} unexpected responses, first: {errors[:3]}")
    print(
        verdict(
            worst <= TARGET_RATIO and not errors,
            f"slowest page ratio at {large} vs {small} entries is {worst:.2f}x; "
            f"target <= {TARGET_RATIO}x",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
