"""Delivery: GET one published entry, against a bare Chalice route in the same process.

Seeds 1,000 published entries with realistic Markdown bodies through the services
(put_collection, create_entry, publish, then the object events render and index them), then
times, through chalice.test.Client and interleaved request by request:

- GET /v1/content/{collection}/{slug} for random slugs (200, full body with HTML);
- the same with If-None-Match: <etag> (304, no body);
- GET / on a separate ``Chalice(app_name="bare")`` returning a constant dict (the target's
  reference), and GET /sized on it returning one real entry's dict (what the payload alone
  costs through Chalice and the test client).

Then it times the parts of the entry view alone (index read, HTML object read, JSON), to
show where the time goes.

Target: entry GET median <= 3x the bare route median.

Run from the repository root:  python bench/get_entry.py
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from typing import Any

import _common
from _common import Stats, header, markdown_document, seed_published, temp_root, verdict

ENTRIES = 1_000
REQUESTS = 3_000
WARMUP = 300
TARGET_RATIO = 3.0
COLLECTION = "articles"


def service_breakdown(container: Any, slugs: list[str], rng: random.Random) -> dict[str, Stats]:
    """The parts of the entry view, each timed alone over random slugs."""
    from chalicelib.api.http import json_response
    from chalicelib.services import collections, delivery

    backend = container.backend
    found_all = [delivery.find_published(backend, COLLECTION, slug) for slug in slugs]
    html = backend.objects.get(found_all[0].record.html_key).data.decode("utf-8")
    body = found_all[0].to_dict(html)

    def whole() -> None:
        found = delivery.find_published(backend, COLLECTION, rng.choice(slugs))
        delivery.cached_entry(backend, found)

    parts: dict[str, Any] = {
        "find + cached_entry (the view's work; body cached by ETag)": whole,
        "find_published (both below + checks)": lambda: delivery.find_published(
            backend, COLLECTION, rng.choice(slugs)
        ),
        "  require_collection (SQLite row + pydantic)": lambda: collections.require_collection(
            backend, COLLECTION
        ),
        "  index.get_entry (SQLite row + 3 JSON columns)": lambda: backend.index.get_entry(
            COLLECTION, "published", rng.choice(slugs)
        ),
        "objects.get of the HTML (SQLite row + blob file; a cache miss)": lambda: (
            backend.objects.get(rng.choice(found_all).record.html_key)
        ),
        "json_response (json.dumps of the body)": lambda: json_response(body),
    }
    return {
        label: Stats.of(_common.time_calls(call, REQUESTS, warmup=WARMUP))
        for label, call in parts.items()
    }


def main() -> int:
    header(f"GET one entry: {ENTRIES} published entries, {REQUESTS} timed requests per path")
    with temp_root("get") as root:
        container = _common.use_data_dir(root / "data")
        slugs, seconds = seed_published(
            container, COLLECTION, ENTRIES, body=lambda i: markdown_document(10_000 + i)
        )
        print(
            f"  seeded {len(slugs)} entries (write + publish + render + index) in {seconds:.1f} s"
        )
        return measure(container, slugs)


def measure(container: Any, slugs: list[str]) -> int:
    from chalice import Chalice
    from chalice.test import Client

    from app import app

    bare = Chalice(app_name="bare")

    @bare.route("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    sample: dict[str, object] = {}  # filled below with one real entry body (same size)

    @bare.route("/sized")
    def sized() -> dict[str, object]:
        return sample

    rng = random.Random(42)
    order = [rng.choice(slugs) for _ in range(REQUESTS)]
    clock = time.perf_counter
    errors: list[str] = []
    with Client(app) as client, Client(bare) as bare_client:
        etags: dict[str, str] = {}
        sizes: list[int] = []
        for slug in slugs:  # warm-up pass over every entry: collects the ETags as well
            response = client.http.get(f"/v1/content/{COLLECTION}/{slug}")
            if response.status_code != 200:
                errors.append(f"{slug}: {response.status_code}")
                continue
            etags[slug] = response.headers["ETag"]
            sizes.append(len(response.body))
            parsed = json.loads(response.body)
            if "<h2" not in parsed["html"]:
                errors.append(f"{slug}: no rendered HTML")
            if not sample and len(response.body) >= 9_000:
                sample.update(parsed)
        for slug in order[:WARMUP]:
            bare_client.http.get("/")
            bare_client.http.get("/sized")
            client.http.get(f"/v1/content/{COLLECTION}/{slug}")
            client.http.get(
                f"/v1/content/{COLLECTION}/{slug}", headers={"If-None-Match": etags[slug]}
            )
        gc.collect()
        bare_times, entry_times, not_modified_times, sized_times = [], [], [], []
        for slug in order:
            path = f"/v1/content/{COLLECTION}/{slug}"
            start = clock()
            response = bare_client.http.get("/")
            bare_times.append(clock() - start)
            if response.status_code != 200:
                errors.append(f"bare: {response.status_code}")

            start = clock()
            bare_client.http.get("/sized")
            sized_times.append(clock() - start)

            start = clock()
            response = client.http.get(path)
            entry_times.append(clock() - start)
            if response.status_code != 200:
                errors.append(f"{path}: {response.status_code}")

            start = clock()
            response = client.http.get(path, headers={"If-None-Match": etags[slug]})
            not_modified_times.append(clock() - start)
            if response.status_code != 304:
                errors.append(f"{path} If-None-Match: {response.status_code}")

    breakdown = service_breakdown(container, slugs, rng)

    bare_stats = Stats.of(bare_times)
    entry_stats = Stats.of(entry_times)
    not_modified_stats = Stats.of(not_modified_times)
    sizes.sort()
    print(
        f"  entry response body: median {sizes[len(sizes) // 2] / 1024:.1f} KiB "
        f"(max {sizes[-1] / 1024:.1f} KiB)"
    )
    print(bare_stats.line("bare Chalice route GET / (constant dict)"))
    print(Stats.of(sized_times).line("bare route returning one entry's dict"))
    print(entry_stats.line("GET /v1/content/{collection}/{slug} (200)"))
    print(not_modified_stats.line("same with If-None-Match (304)"))
    print("  where an entry GET goes, each part timed alone (no HTTP, no test client):")
    for label, stats in breakdown.items():
        print(stats.line(f"  {label}"))
    ratio = entry_stats.median / bare_stats.median
    print(
        f"  entry / bare: median {ratio:.2f}x, p95 {entry_stats.p95 / bare_stats.p95:.2f}x; "
        f"304 / bare: median {not_modified_stats.median / bare_stats.median:.2f}x"
    )
    if errors:
        print(f"  {len(errors)} unexpected responses, first: {errors[:3]}")
    print(
        verdict(
            ratio <= TARGET_RATIO and not errors,
            f"entry GET median {entry_stats.median * 1e6:.0f} us = {ratio:.2f}x the bare route "
            f"({bare_stats.median * 1e6:.0f} us); target <= {TARGET_RATIO:.0f}x",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
