"""A real site build: a sample blog is imported into `chalice local`, exported as a Hugo
content folder and built with the real `hugo` binary; then one post changes and a second
export touches only its files.

hugo is installed by .ci/run (Debian's package). Outside CI a machine without it skips this
test, saying so; in CI (``CI`` set) a missing hugo fails it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cms.client import Client
from cms.exporter import Exporter
from cms.importer import Importer
from tests import test_cms_client as shared
from tests.test_cms_import_export import PUBLISHED, make_blog

cms_server, admin, collection = shared.cms_server, shared.admin, shared.collection  # fixtures

HUGO = shutil.which("hugo")
if HUGO is None and not os.environ.get("CI"):
    pytest.skip(
        "the hugo binary is not installed (apt-get install hugo; .ci/run installs it in CI)",
        allow_module_level=True,
    )

SITE_FILES = {
    "hugo.toml": (
        'baseURL = "http://example.org/"\n'
        'title = "Sample blog"\n'
        'disableKinds = ["RSS", "sitemap", "robotsTXT", "404"]\n'
        "[taxonomies]\n"
        'tag = "tags"\n'
    ),
    "layouts/_default/baseof.html": (
        "<!DOCTYPE html>\n<html><head><title>{{ .Title }}</title></head>\n"
        '<body>{{ block "main" . }}{{ end }}</body></html>\n'
    ),
    "layouts/_default/single.html": (
        '{{ define "main" }}<article><h1>{{ .Title }}</h1>'
        '<time>{{ .Date.Format "2006-01-02" }}</time>{{ .Content }}'
        '<ul class="tags">{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul>'
        "</article>{{ end }}\n"
    ),
    "layouts/_default/list.html": (
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Pages }}'
        '<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}\n'
    ),
}


def build_site(site: Path) -> Path:
    assert HUGO is not None, "hugo is required in CI: .ci/run installs it"
    public = site / "public"
    shutil.rmtree(public, ignore_errors=True)
    done = subprocess.run(
        [HUGO, "--source", str(site), "--destination", str(public), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return public


def test_import_export_and_build_a_hugo_site(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    blog = make_blog(tmp_path / "blog")
    imported = Importer(admin, collection).run(blog)
    assert imported.created == 4 and [f.path for f in imported.failures] == ["notes/broken.md"]

    site = tmp_path / "site"
    for rel, text in SITE_FILES.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    first = Exporter(admin, "hugo", collections=[collection]).run(site)
    assert first.ok and first.entries == 3
    public = build_site(site)

    section = public / collection
    assert {p.name for p in section.iterdir() if p.is_dir()} == PUBLISHED
    assert "work-in-progress" not in {p.name for p in public.rglob("*")}  # the draft
    assert "Secret." not in "".join(p.read_text() for p in public.rglob("*.html"))
    hello = (section / "hello-world" / "index.html").read_text()
    assert "<h1>Hello, world</h1>" in hello and "<time>2024-01-05</time>" in hello
    assert "<em>post</em>" in hello and "<li>intro</li>" in hello
    images = re.findall(r'<img src="([^"]+)" alt="A red square"', hello)
    assert len(images) == 1 and (section / "hello-world" / images[0]).stat().st_size > 0
    assert (section / "hello-world" / images[0]).read_bytes()[:4] == b"\x89PNG"
    trip = (section / "summer-trip" / "index.html").read_text()
    for name in re.findall(r'<img src="([^"]+)"', trip):
        assert (section / "summer-trip" / name).is_file()
    assert len(re.findall(r"<img ", trip)) == 2
    assert (public / "tags" / "travel" / "index.html").is_file()
    listing = (section / "index.html").read_text()
    assert listing.count("<li><a href=") == 3

    # one post changes: the next export writes that post's page only
    post = admin.get_entry(collection, "summer-trip")
    admin.save(post, body=post.body + "\nA postscript.\n")
    admin.publish(collection, "summer-trip")
    second = Exporter(admin, "hugo", collections=[collection]).run(site)
    assert second.written == [f"content/{collection}/summer-trip/index.md"]
    assert second.removed == [] and second.entries == 1
    public = build_site(site)
    assert "A postscript." in (section / "summer-trip" / "index.html").read_text()
