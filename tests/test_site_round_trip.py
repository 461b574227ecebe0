"""Real sites go in and come out whole: a Hugo documentation site and a Jekyll blog built to
hold every construct (tests/fixtures), imported with `cms import` into `chalice local` and
exported with `cms export`, give back every file byte for byte, and `hugo` builds the export
with the source's page count."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cms.client import Client
from cms.exporter import STATE_FILE as EXPORT_STATE
from cms.exporter import Exporter
from cms.importer import STATE_FILE as IMPORT_STATE
from cms.importer import Importer
from tests.sitegen import generate_site
from tests.test_cms_client import cms_server as cms_server
from tests.test_local_server import ADMIN_KEY, LocalServer

FIXTURES = Path(__file__).parent / "fixtures"
HUGO_DOCS = FIXTURES / "hugo-docs"
JEKYLL = FIXTURES / "jekyll-blog"
OURS = {IMPORT_STATE, EXPORT_STATE, ".cms-export.journal"}


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (the tools' own state files aside): path -> bytes."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in OURS
    }


def differences(source: dict[str, bytes], exported: dict[str, bytes]) -> list[str]:
    found = [f"missing: {rel}" for rel in sorted(source.keys() - exported.keys())]
    found += [f"extra: {rel}" for rel in sorted(exported.keys() - source.keys())]
    found += [
        f"changed: {rel}"
        for rel in sorted(source)
        if rel in exported and source[rel] != exported[rel]
    ]
    return found


@pytest.fixture
def admin(cms_server: LocalServer) -> Iterator[Client]:
    with Client(cms_server.url, ADMIN_KEY) as client:
        yield client


def import_site(client: Client, source: Path, collection: str, work: Path) -> Path:
    """A copy of ``source`` (the importer keeps its state file in the folder), imported."""
    folder = work / f"in-{collection}"
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("EXPECTED.json"))
    client.put_collection(collection, collection.title())
    report = Importer(client, collection).run(folder)
    assert report.failures == [], report.failures
    assert report.warnings == [], report.warnings  # every image a page names is there
    assert report.rendered is True
    return folder


def test_a_hugo_site_comes_back_byte_for_byte(admin: Client, tmp_path: Path) -> None:
    expected = json.loads((HUGO_DOCS / "EXPECTED.json").read_text())
    content = import_site(admin, HUGO_DOCS / "content", "hugo-docs", tmp_path)
    source = tree(content)
    assert len(source) == expected["markdown_files"] + expected["image_files"]

    again = Importer(admin, "hugo-docs").run(content)  # nothing changed: nothing sent
    assert (again.created, again.updated, again.media_uploaded) == (0, 0, 0)
    assert again.not_taken == [] and again.skipped == expected["markdown_files"]

    out = tmp_path / "out"
    report = Exporter(
        admin, "hugo", collections=["hugo-docs"], content_dir="content", drafts=True
    ).run(out)
    assert report.failures == []
    assert differences(source, tree(out / "content")) == []

    # a second export writes nothing; an edit comes through as that one file
    assert (
        Exporter(admin, "hugo", collections=["hugo-docs"], content_dir="content", drafts=True)
        .run(out)
        .written
        == []
    )


def test_a_jekyll_blog_comes_back_byte_for_byte(admin: Client, tmp_path: Path) -> None:
    folder = import_site(admin, JEKYLL, "jekyll", tmp_path)
    report = Importer(admin, "jekyll").run(folder)
    assert [f.path for f in report.not_taken] == ["_config.yml"]
    published = {e.slug for e in admin.iter_entries("jekyll")}
    expected = json.loads((JEKYLL / "EXPECTED.json").read_text())
    assert len([s for s in published if s.startswith("posts/")]) == expected["published_posts"]
    assert not any(s.startswith("drafts/") for s in published)
    out = tmp_path / "out"
    Exporter(admin, "hugo", collections=["jekyll"], content_dir=".", drafts=True).run(out)
    source = {k: v for k, v in tree(folder).items() if k != "_config.yml"}
    assert differences(source, tree(out)) == []


@pytest.mark.slow
def test_a_generated_1000_page_site_is_taken_whole(admin: Client, tmp_path: Path) -> None:
    """Sections four deep, _index.md pages, bundles, half the pages sharing a file name with
    another: every file is taken, and a second run sends nothing."""
    site = generate_site(tmp_path / "site", 1000, seed=7)
    assert site.repeated_name_pages >= 150 and site.max_depth >= 4
    admin.put_collection("generated", "Generated")
    report = Importer(admin, "generated").run(site.content_dir)
    assert (report.failures, report.not_taken) == ([], [])
    assert (report.created, report.media_uploaded) == (site.markdown_files, site.images)
    assert report.rendered is True
    paths = {d.slug for d in admin.iter_drafts("generated")}
    assert len(paths) == site.markdown_files  # same-named files in other folders: all there
    again = Importer(admin, "generated").run(site.content_dir)
    assert (again.skipped, again.created, again.updated) == (site.markdown_files, 0, 0)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("hugo") is None, reason="hugo is not installed")
def test_hugo_builds_the_export_with_the_sources_page_count(admin: Client, tmp_path: Path) -> None:
    expected = json.loads((HUGO_DOCS / "EXPECTED.json").read_text())
    import_site(admin, HUGO_DOCS / "content", "hugo-build", tmp_path)
    site = tmp_path / "site"
    shutil.copytree(HUGO_DOCS, site, ignore=shutil.ignore_patterns("content"))
    Exporter(admin, "hugo", collections=["hugo-build"], content_dir="content", drafts=True).run(
        site
    )
    pages = {}
    for name, root in (("source", HUGO_DOCS), ("export", site)):
        build = tmp_path / f"public-{name}"
        work = tmp_path / f"work-{name}"
        shutil.copytree(root, work, ignore=shutil.ignore_patterns(*OURS))
        done = subprocess.run(
            ["hugo", "--source", str(work), "--destination", str(build)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        pages[name] = _hugo_pages(done.stdout)
    assert pages["export"] == pages["source"] == expected["hugo_pages"]


def _hugo_pages(output: str) -> int:
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if cells and cells[0] == "Pages":
            return int(cells[1])
    raise AssertionError(f"no page count in hugo's output:\n{output}")
