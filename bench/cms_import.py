"""`cms import` of 2,000 Markdown files against `chalice local`, against plain loops; then a
full Hugo export of them and an incremental one after one entry changed.

Every run gets a fresh `chalice local --stage local --no-autoreload` on an empty data dir:

- plain loop: for each file, ``requests.post`` the file (text/markdown) to create the entry
  and ``requests.post`` .../publish: one request at a time, a new connection each (what a
  short script does; the target's baseline);
- plain loop with one ``requests.Session`` (keep-alive), on the first 200 files only: shows
  the ~40 ms Nagle/delayed-ACK stall chalice local's server adds to each response on a
  kept-alive connection (the SDK goes without keep-alive on loopback for this reason);
- ``cms import`` (``cms.importer.Importer``, the command's code: front matter mapping, the
  state file, batches of 25 through POST .../batch from 4 threads), timed twice: until the
  server has stored every entry (what ``--no-wait`` waits for; the batch route answers before
  rendering, as on AWS) and until every entry is rendered (the command's default wait);
- ``cms import --no-batch`` (4 threads, one request per step), for comparison;
- ``cms import`` again on the same folder (nothing changed: the state file skips all).

Runs are ordered plain, import, import, plain, so a change of machine load weighs on both.
Then `cms export --format hugo` of the imported collection, one entry edited and published,
the export again (files written and time, against the first run), and a third export with
nothing changed.

Target: ``cms import`` at least 5x the files per second of the plain loop.

Run from the repository root:  python bench/cms_import.py [--files N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import requests
from _common import header, markdown_document, verdict

from cms.client import Client
from cms.exporter import Exporter
from cms.importer import Importer, ImportReport

ADMIN_KEY = _common.ADMIN_KEY
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
TARGET = 5.0
COLLECTION = "blog"
TAGS = ("news", "guides", "releases", "opinion", "python", "hugo")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """chalice local on a fresh data dir; its log goes to a file (a pipe would fill up)."""

    def __init__(self, root: Path, label: str) -> None:
        self.data = root / f"data-{label}"
        self.log = (root / f"server-{label}.log").open("wb")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chalice = Path(sys.executable).parent / "chalice"
        env = {**os.environ, "CMS_DATA_DIR": str(self.data), "CMS_ADMIN_KEY": ADMIN_KEY}
        env.pop("CMS_BACKEND", None)
        self.process = subprocess.Popen(
            [
                str(chalice),
                "local",
                "--stage",
                "local",
                "--no-autoreload",
                "--port",
                str(self.port),
            ],
            cwd=_common.REPO_ROOT,
            env=env,
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
        requests.put(
            f"{self.url}/v1/manage/collections/{COLLECTION}", json={"title": "Blog"}, headers=AUTH
        ).raise_for_status()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


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
        rates: dict[str, list[float]] = {"plain": [], "stored": [], "rendered": []}
        for round_number, kind in enumerate(("plain", "import", "import", "plain")):
            server = Server(root, f"{kind}-{round_number}")
            try:
                if kind == "plain":
                    seconds = plain_loop(server.url, files)
                    rates["plain"].append(count / seconds)
                    print(
                        f"   {'plain loop':<28} {seconds:7.1f} s   {count / seconds:7.1f} files/s"
                    )
                else:
                    (folder / ".cms-import.json").unlink(missing_ok=True)
                    report = run_import(server.url, folder)
                    stored, rendered = report.stored_seconds, report.seconds
                    rates["stored"].append(count / stored)
                    rates["rendered"].append(count / rendered)
                    label = "cms import: stored"
                    print(f"   {label:<28} {stored:7.1f} s   {count / stored:7.1f} files/s")
                    label = "cms import: all rendered"
                    print(f"   {label:<28} {rendered:7.1f} s   {count / rendered:7.1f} files/s")
                if kind == "import" and round_number == 1:
                    again = run_import(server.url, folder).seconds
                    label = "import again (no change)"
                    print(f"   {label:<28} {again:7.2f} s   {count / again:7.0f} files/s")
                    export_bench(server.url, root)
            finally:
                server.stop()
        server = Server(root, "single")
        try:
            (folder / ".cms-import.json").unlink(missing_ok=True)
            seconds = run_import(server.url, folder, use_batch=False).seconds
            print(f"   {'import --no-batch':<28} {seconds:7.1f} s   {count / seconds:7.1f} files/s")
        finally:
            server.stop()
        server = Server(root, "session")
        try:
            subset = files[:200]
            with requests.Session() as session:
                seconds = plain_loop(server.url, subset, session=session)
            label, rate = "plain loop, keep-alive, 200", len(subset) / seconds
            print(f"   {label:<28} {seconds:7.1f} s   {rate:7.1f} files/s")
        finally:
            server.stop()
        plain = statistics.median(rates["plain"])
        stored = statistics.median(rates["stored"])
        rendered = statistics.median(rates["rendered"])
        print(
            f"   median files/s: plain loop {plain:.1f}; cms import {stored:.1f} stored,"
            f" {rendered:.1f} rendered"
        )
        ratio, like_for_like = stored / plain, rendered / plain
        print(
            verdict(
                ratio >= TARGET,
                f"cms import stores {ratio:.2f}x the plain loop's files/s (target >= {TARGET}x;"
                " not like for like: each plain request also waits for its render)",
            )
        )
        print(
            verdict(
                like_for_like >= TARGET,
                f"like for like, until every entry is rendered: {like_for_like:.2f}x"
                f" (target >= {TARGET}x)",
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
