"""A real site's round trip at size: `cms import` of a generated 1,000-page Hugo site (nested
sections four deep, `_index.md` section pages, page bundles with images, repeated file
names, every construct of the dialect) into `chalice local`, then `cms export` of it.

Reported:

- import: files per second until stored and until every page is rendered (the command's
  default wait), with every file taken (pages and images);
- a re-import with nothing changed (target: under 1 s), and where its time goes;
- export (Hugo, drafts included) and whether the exported tree equals the source, file for
  file and byte for byte; a second export with nothing changed.

Run from the repository root:  python bench/site_import.py [--pages N] [--seed S]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
from pathlib import Path

import _common
from _common import header, verdict
from cms_import import COLLECTION, Server

from cms.client import Client
from cms.exporter import Exporter
from cms.importer import Importer
from tests.sitegen import generate_site

REIMPORT_TARGET_SECONDS = 1.0


def tree(root: Path) -> dict[str, bytes]:
    skip = {".cms-import.json", ".cms-export.json", ".cms-export.journal"}
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and p.name not in skip
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    header(f"site round trip: a generated {args.pages}-page Hugo site through chalice local")
    root = Path(tempfile.mkdtemp(prefix="cms-bench-site-"))
    server = Server(root, "site")
    try:
        site = generate_site(root / "site", args.pages, seed=args.seed)
        print(
            f"   the site: {site.markdown_files} Markdown files ({site.section_pages} section"
            f" pages, {site.bundles} bundles, {site.repeated_name_pages} pages sharing a file"
            f" name), {site.images} images, {site.max_depth} levels deep"
        )
        client = Client(server.url, _common.ADMIN_KEY)
        report = Importer(client, COLLECTION).run(site.content_dir)
        taken = report.entries + report.resources
        rate = report.files / report.seconds
        print(
            f"   import                  {report.seconds:7.2f} s   {rate:6.1f}"
            f" files/s rendered; stored in {report.stored_seconds:.2f} s"
            f" ({report.files / report.stored_seconds:.1f} files/s)"
        )
        print(
            f"   taken                   {taken} of {report.files} files; {len(report.failures)}"
            f" failed, {len(report.not_taken)} not taken"
        )
        every = taken == report.files and report.ok and report.created == site.markdown_files
        print(verdict(every, "every file of the site taken"))

        again_started = time.perf_counter()
        profile = cProfile.Profile()
        profile.enable()
        again = Importer(client, COLLECTION).run(site.content_dir)
        profile.disable()
        again_seconds = time.perf_counter() - again_started
        print(
            f"   re-import, no change    {again_seconds:7.3f} s   {again.skipped} skipped,"
            f" {again.created + again.updated} sent, {again.media_uploaded} uploaded"
        )
        print(
            verdict(
                again_seconds < REIMPORT_TARGET_SECONDS and again.skipped == site.markdown_files,
                f"re-import with nothing changed under {REIMPORT_TARGET_SECONDS:.0f} s",
            )
        )
        print("   where the re-import's time goes (cumulative, top 8):")
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative")
        for line in _top(stats, 8):
            print(f"     {line}")

        out = root / "export"
        options = {"collections": [COLLECTION], "content_dir": "content", "drafts": True}
        first = Exporter(client, "hugo", **options).run(out)  # type: ignore[arg-type]
        same = tree(site.content_dir) == tree(out / "content")
        print(
            f"   export (drafts too)     {first.seconds:7.2f} s   {len(first.written)} files,"
            f" {len(first.failures)} failed"
        )
        print(verdict(same, "the exported tree equals the source, byte for byte"))
        second = Exporter(client, "hugo", **options).run(out)  # type: ignore[arg-type]
        print(
            f"   export, nothing changed {second.seconds:7.2f} s   {len(second.written)} files"
            f" written"
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _top(stats: pstats.Stats, count: int) -> list[str]:
    rows = []
    for (file, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        cumulative = row[3]
        if "cms/" in file and not name.startswith("<"):
            rows.append((cumulative, f"{cumulative:6.3f} s  {name} ({Path(file).name}:{line})"))
    rows.sort(reverse=True)
    return [text for _, text in rows[:count]]


if __name__ == "__main__":
    main()
