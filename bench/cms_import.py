"""`cms import` of 2,000 Markdown files against `chalice local`, against plain loops; then a
full Hugo export of them and an incremental one after one entry changed.

Every run gets a fresh `chalice local --stage local --no-autoreload` on an empty data dir:

- plain loop: for each file, ``requests.post`` the file (text/markdown) to create the entry
  and ``requests.post`` .../publish: one request at a time, a new connection each (what a
  short script does; the target's baseline);
- ``cms import`` (``cms.importer.Importer``, the command's code: the state file, batches
  through POST /v1/manage/batch/{collection} from 4 threads) until every entry is rendered
  (the command's default wait), with ``CMS_RENDER_WORKERS`` 2 and 1; each run prints where
  the time went: when the last batch was stored, and the CPU seconds of the importer, the
  server process (HTTP, SQLite, front matter) and the render worker processes;
- ``cms import`` again on the same folder (nothing changed: the state file skips all);
- ``cms import --no-batch`` (4 threads, one request per step), for comparison.

Runs are ordered plain, import x4 (2, 1, 2, 1 workers), plain, so a change of machine load
weighs on all. Then `cms export --format hugo` of the imported collection, one entry edited
and published, the export again (files written and time, against the first run), and a
third export with nothing changed.

Targets: ``cms import`` until every entry is rendered at least 4x the files per second of
the plain loop; 2 render workers at least 1.7x 1 worker.

Run from the repository root:  python bench/cms_import.py [--files N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import _common
import requests
from _common import LocalServer, header, markdown_document, verdict

from cms.client import Client
from cms.exporter import Exporter
from cms.importer import Importer, ImportReport

ADMIN_KEY = _common.ADMIN_KEY
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
TARGET = 4.0
WORKER_SCALING = 1.7
COLLECTION = "blog"
TAGS = ("news", "guides", "releases", "opinion", "python", "hugo")


def make_folder(root: Path, count: int) -> list[Path]:
    """Hugo-style posts in nested folders (year/month), the project's realistic bodies."""
    files = []
    for index in range(count):
        year, month = 2019 + index % 6, 1 + index % 12
        path = root / "posts" / str(year) / f"{month:02d}" / f"post-{index:05d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        front = (
            f"---\ntitle: Post {index:05d}\ndate: {year}-{month:02d}-{1 + index % 28:02d}\n"
            f"tags: [{TAGS[index % len(TAGS)]}, {TAGS[(index * 7) % len(TAGS)]}]\n"
            f"description: Post number {index}.\n---\n"
        )
        path.write_text(front + markdown_document(index, min_words=150, max_words=900))
        files.append(path)
    return files


def plain_loop(url: str, files: list[Path], *, session: requests.Session | None = None) -> float:
    post = session.post if session is not None else requests.post
    started = time.perf_counter()
    for path in files:
        created = post(
            f"{url}/v1/manage/content/{COLLECTION}",
            data=path.read_bytes(),
            headers={**AUTH, "Content-Type": "text/markdown"},
            timeout=60,
        )
        created.raise_for_status()
        slug = created.json()["slug"].replace("/", "~")
        post(f"{url}/v1/manage/content/{COLLECTION}/{slug}/publish", headers=AUTH, timeout=60)
    return time.perf_counter() - started


def run_import(url: str, folder: Path, **options: object) -> ImportReport:
    importer = Importer(Client(url, ADMIN_KEY), COLLECTION, **options)  # type: ignore[arg-type]
    report = importer.run(folder)
    assert report.ok, report.failures[:3]
    return report


T = TypeVar("T")


def start_server(
    root: Path, label: str, workers: int | None = None, checkout: Path = _common.REPO_ROOT
) -> LocalServer:
    env = {} if workers is None else {"CMS_RENDER_WORKERS": str(workers)}
    server = LocalServer(root, label, env, checkout)
    requests.put(
        f"{server.url}/v1/manage/collections/{COLLECTION}", json={"title": "Blog"}, headers=AUTH
    ).raise_for_status()
    return server


def cpu_spent(server: LocalServer, run: Callable[[], T]) -> tuple[T, str]:
    """What ``run`` returns, and the CPU seconds it cost this process (the importer), the
    server process and its render workers, as the benches print them."""
    client_cpu = time.process_time()
    server_cpu, workers_cpu = server.cpu()
    result = run()
    client_cpu = time.process_time() - client_cpu
    server_after, workers_after = server.cpu()
    return result, (
        f"CPU: importer {client_cpu:.1f} s, server {server_after - server_cpu:.1f} s,"
        f" render workers {workers_after - workers_cpu:.1f} s"
    )


def timed_import(server: LocalServer, folder: Path, label: str) -> tuple[float, float]:
    """One ``cms import`` until every entry is rendered; prints where the time went."""
    (folder / ".cms-import.json").unlink(missing_ok=True)
    report, cpu = cpu_spent(server, lambda: run_import(server.url, folder))
    stored, rendered = report.stored_seconds, report.seconds
    count = report.created
    print(
        f"   {label:<34} {rendered:7.1f} s   {count / rendered:7.1f} files/s"
        f"   (stored after {stored:.1f} s; {cpu})"
    )
    return count / stored, count / rendered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    count = args.files
    header(f"cms import: {count} Markdown files against chalice local")
    root = Path(tempfile.mkdtemp(prefix="cms-bench-import-"))
    try:
        folder = root / "site"
        files = make_folder(folder, count)
        size = sum(p.stat().st_size for p in files)
        print(f"   {count} files, {size / 1e6:.1f} MB, in nested folders under {folder}")
        rates: dict[str, list[float]] = {"plain": [], "stored": [], "rendered": [], "one": []}
        rounds = ("plain", "import-2", "import-1", "import-2", "import-1", "plain")
        for round_number, kind in enumerate(rounds):
            workers = int(kind[-1]) if kind.startswith("import") else None
            server = start_server(root, f"{kind}-{round_number}", workers)
            try:
                if kind == "plain":
                    seconds = plain_loop(server.url, files)
                    rates["plain"].append(count / seconds)
                    label = "plain loop (default workers)"
                    print(f"   {label:<34} {seconds:7.1f} s   {count / seconds:7.1f} files/s")
                    continue
                label = f"cms import, {workers} render worker{'s' if workers != 1 else ''}"
                stored, rendered = timed_import(server, folder, label)
                if workers == 2:
                    rates["stored"].append(stored)
                    rates["rendered"].append(rendered)
                else:
                    rates["one"].append(rendered)
                if round_number == 1:
                    again = run_import(server.url, folder).seconds
                    label = "import again (no change)"
                    print(f"   {label:<34} {again:7.2f} s   {count / again:7.0f} files/s")
                    export_bench(server.url, root)
            finally:
                server.stop()
        server = start_server(root, "single")
        try:
            (folder / ".cms-import.json").unlink(missing_ok=True)
            seconds = run_import(server.url, folder, use_batch=False).seconds
            print(f"   {'import --no-batch':<34} {seconds:7.1f} s   {count / seconds:7.1f} files/s")
        finally:
            server.stop()
        plain = statistics.median(rates["plain"])
        stored = statistics.median(rates["stored"])
        rendered = statistics.median(rates["rendered"])
        one = statistics.median(rates["one"])
        print(
            f"   median files/s: plain loop {plain:.1f}; cms import {stored:.1f} stored,"
            f" {rendered:.1f} rendered with 2 workers, {one:.1f} with 1"
        )
        ratio = rendered / plain
        print(
            verdict(
                ratio >= TARGET,
                f"cms import until every entry is rendered: {ratio:.2f}x the plain loop"
                f" (target >= {TARGET}x)",
            )
        )
        scaling = rendered / one
        print(
            verdict(
                scaling >= WORKER_SCALING,
                f"2 render workers against 1: {scaling:.2f}x (target >= {WORKER_SCALING}x)",
            )
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def export_bench(url: str, root: Path) -> None:
    client = Client(url, ADMIN_KEY)
    out = root / "hugo"
    first = Exporter(client, "hugo", collections=[COLLECTION]).run(out)
    print(
        f"   export hugo, first run       {first.seconds:7.1f} s   {len(first.written)} files"
        f" written ({first.entries} entries)"
    )
    draft = client.get_entry(COLLECTION, "posts/2019/07/post-00042")
    client.save(draft, body=draft.body + "\nEdited.\n")
    client.publish(COLLECTION, "posts/2019/07/post-00042")
    second = Exporter(client, "hugo", collections=[COLLECTION]).run(out)
    print(
        f"   export hugo, one changed     {second.seconds:7.2f} s   {len(second.written)} file(s)"
        f" written: {', '.join(second.written)}; {len(second.removed)} removed"
    )
    third = Exporter(client, "hugo", collections=[COLLECTION]).run(out)
    print(
        f"   export hugo, nothing changed {third.seconds:7.2f} s   {len(third.written)} files"
        f" written, {len(third.removed)} removed"
    )
    ok = second.written == [f"content/{COLLECTION}/posts/2019/07/post-00042.md"]
    ok = ok and not second.removed
    ok = ok and not third.written and not third.removed
    print(
        verdict(
            ok,
            f"second export wrote only the changed entry"
            f" ({second.seconds / first.seconds:.3f}x the time of the first)",
        )
    )


if __name__ == "__main__":
    main()
