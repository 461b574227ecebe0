"""Rendering that no document can stall: the worst case, the budget's cost, keep-alive.

1. **Worst case.** `chalice local` (the README's command, default render workers and budget)
   receives each document of ``tests/hostile_markdown.py`` (Python-Markdown's slow inputs at
   the largest size the body cap allows) as a new entry; the write request returns once its
   own render has ended (rendered or refused), so its time is the render's. A thread polls
   ``GET /health`` all along. Targets: every document ends within the budget + 0.5 s; no
   ``/health`` answer takes 100 ms or more.
2. **The budget's cost on ordinary documents.** In this process's main thread, the bench's
   realistic documents rendered by ``render_markdown`` without any guard, and under
   ``render_within`` (depth pre-scan, HTML depth check, CPU timer), interleaved, the memo
   cleared before each. Target: at most +10%.
3. **Kept-alive connections.** ``GET /v1/content/{collection}/{slug}`` on the server of 1,
   2,000 times, interleaved: on one ``requests.Session`` and with a new connection each
   (``Connection: close``). Target: keep-alive p50 within 1.2x of close.

Run from the repository root:  python bench/render_budget.py
"""

from __future__ import annotations

import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import _common
import requests
from _common import LocalServer, Stats, header, markdown_document, verdict

from chalicelib.domain import rendering
from chalicelib.domain.render_budget import RenderBudget, render_within
from tests.hostile_markdown import HOSTILE

AUTH = {"Authorization": f"Bearer {_common.ADMIN_KEY}"}
BUDGET = RenderBudget()
SLACK = 0.5
HEALTH_LIMIT = 0.1
OVERHEAD_LIMIT = 1.10
KEEP_ALIVE_LIMIT = 1.2
DOCUMENTS = 200
REQUESTS = 2_000


class HealthProbe(threading.Thread):
    """GET /health in a loop until stopped; keeps every answer's time."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.times: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stopped.is_set():
                started = time.perf_counter()
                session.get(f"{self.url}/health", timeout=30).raise_for_status()
                self.times.append(time.perf_counter() - started)
                self.stopped.wait(0.02)


def worst_case(url: str) -> str:
    requests.put(f"{url}/v1/manage/collections/hostile", json={}, headers=AUTH).raise_for_status()
    probe = HealthProbe(url)
    probe.start()
    slowest = 0.0
    print(f"   budget {BUDGET.cpu_seconds:g} s of CPU, nesting limit {BUDGET.max_depth}")
    for name, body in HOSTILE.items():
        started = time.perf_counter()
        document = {"front_matter": {"title": name}, "body": body}
        created = requests.post(  # UTF-8 JSON: escaped to ASCII, non-ASCII bodies pass 1 MiB
            f"{url}/v1/manage/content/hostile?slug={name}",
            data=json.dumps(document, ensure_ascii=False).encode(),
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=60,
        )
        seconds = time.perf_counter() - started
        created.raise_for_status()
        render = requests.get(
            f"{url}/v1/manage/content/hostile/{name}", headers=AUTH, timeout=30
        ).json()["render"]
        outcome = render["status"] if render["status"] != "failed" else render["error"][:70]
        print(f"   {name:<20} {len(body) / 1000:6.0f} KB {seconds:6.2f} s   {outcome}")
        slowest = max(slowest, seconds)
    probe.stopped.set()
    probe.join()
    health = Stats.of(probe.times)
    print(health.line("GET /health meanwhile", "ms") + f"   max {max(probe.times) * 1e3:.1f} ms")
    ok = slowest <= BUDGET.cpu_seconds + SLACK and max(probe.times) < HEALTH_LIMIT
    return verdict(
        ok,
        f"slowest hostile document ended in {slowest:.2f} s (target <= budget + {SLACK} s ="
        f" {BUDGET.cpu_seconds + SLACK:g} s); slowest /health {max(probe.times) * 1e3:.0f} ms"
        f" (target < {HEALTH_LIMIT * 1e3:.0f} ms)",
    )


def overhead() -> str:
    documents = [markdown_document(seed) for seed in range(DOCUMENTS)]
    guard = rendering.check_html

    def bare(document: str) -> None:
        rendering.check_html = lambda html: None  # type: ignore[assignment]
        try:
            rendering.render_markdown(document)
        finally:
            rendering.check_html = guard

    def budgeted(document: str) -> None:
        render_within(BUDGET, document)

    totals = {"bare": 0.0, "budgeted": 0.0}
    for document in documents[:10]:  # warm-up: imports, lexers
        bare(document)
        rendering.clear_memo()
        budgeted(document)
        rendering.clear_memo()
    for _ in range(3):
        for document in documents:
            for label, render in (("bare", bare), ("budgeted", budgeted)):
                rendering.clear_memo()
                started = time.perf_counter()
                render(document)
                totals[label] += time.perf_counter() - started
    count = 3 * len(documents)
    for label, total in totals.items():
        print(f"   {label:<20} {total / count * 1e3:7.2f} ms a document (n={count})")
    ratio = totals["budgeted"] / totals["bare"]
    return verdict(
        ratio <= OVERHEAD_LIMIT,
        f"rendering under the budget costs {ratio:.3f}x rendering without it"
        f" (target <= {OVERHEAD_LIMIT}x)",
    )


def keep_alive(url: str) -> str:
    requests.put(f"{url}/v1/manage/collections/blog", json={}, headers=AUTH).raise_for_status()
    requests.post(
        f"{url}/v1/manage/content/blog",
        json={"front_matter": {"title": "Kept"}, "body": markdown_document(1)},
        headers=AUTH,
    ).raise_for_status()
    requests.post(f"{url}/v1/manage/content/blog/kept/publish", headers=AUTH).raise_for_status()
    entry = f"{url}/v1/content/blog/kept"
    times: dict[str, list[float]] = {"keep-alive": [], "close": []}
    with requests.Session() as session:
        for _ in range(REQUESTS // 2):
            for label in times:
                started = time.perf_counter()
                if label == "close":
                    response = requests.get(entry, headers={"Connection": "close"}, timeout=30)
                else:
                    response = session.get(entry, timeout=30)
                response.raise_for_status()
                times[label].append(time.perf_counter() - started)
    for label, samples in times.items():
        print(Stats.of(samples).line(f"GET an entry, {label}", "ms"))
    ratio = statistics.median(times["keep-alive"]) / statistics.median(times["close"])
    return verdict(
        ratio <= KEEP_ALIVE_LIMIT,
        f"keep-alive p50 is {ratio:.2f}x close p50 (target <= {KEEP_ALIVE_LIMIT}x)",
    )


def main() -> None:
    header("render budget: hostile documents, the budget's cost, kept-alive connections")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="cms-bench-budget-") as root:
        server = LocalServer(Path(root), "budget")
        try:
            print("1. hostile documents through chalice local (default workers)")
            verdicts.append(worst_case(server.url))
            print("3. kept-alive connections")
            verdicts.append(keep_alive(server.url))
        finally:
            server.stop()
    print("2. the budget's cost on ordinary documents")
    verdicts.append(overhead())
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
