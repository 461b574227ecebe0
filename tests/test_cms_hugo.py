"""A real site build: a sample blog is imported into `chalice local`, exported as a Hugo
content folder and built with the real `hugo` binary; then one post changes and a second
export touches only its files. Then the README's walk-through, step by step, with the `cms`
command on the examples/ folder: import, export, a webhook and its receiver, an edit, an
incremental export and the site built.

hugo is installed by .ci/run (Debian's package). Outside CI a machine without it skips this
test, saying so; in CI (``CI`` set) a missing hugo fails it.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from cms.client import Client
from cms.exporter import Exporter
from cms.importer import Importer
from tests import test_cms_client as shared
from tests.conftest import free_port
from tests.test_cms_import_export import run_cli
from tests.test_local_server import ADMIN_KEY, LocalServer

pytestmark = pytest.mark.slow  # end to end: run by CI, left out by -m 'not slow'

cms_server, admin, collection = shared.cms_server, shared.admin, shared.collection  # fixtures

HUGO = shutil.which("hugo")
if HUGO is None and not os.environ.get("CI"):
    pytest.skip(
        "the hugo binary is not installed (apt-get install hugo; .ci/run installs it in CI)",
        allow_module_level=True,
    )

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def build_site(site: Path, env: dict[str, str] | None = None) -> Path:
    assert HUGO is not None, "hugo is required in CI: .ci/run installs it"
    public = site / "public"
    shutil.rmtree(public, ignore_errors=True)
    done = subprocess.run(
        [HUGO, "--source", str(site), "--destination", str(public), "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return public


def test_import_export_and_build_a_hugo_site(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    blog = tmp_path / "blog"
    shutil.copytree(EXAMPLES / "blog", blog)
    imported = Importer(admin, collection).run(blog)
    assert imported.ok and (imported.created, imported.published) == (5, 4)

    site = tmp_path / "site"
    shutil.copytree(EXAMPLES / "hugo-site", site)
    first = Exporter(admin, "hugo", collections=[collection]).run(site)
    assert first.ok and (first.entries, first.resources) == (4, 2)
    content = site / "content" / collection
    assert (content / "posts/2024/hello-world/index.md").read_bytes() == (
        blog / "posts/2024/hello-world/index.md"
    ).read_bytes()
    public = build_site(site)

    posts = public / collection / "posts"
    hello = (posts / "2024/hello-world/index.html").read_text()
    assert "<h1>Hello, world</h1>" in hello and "<time>2024-03-02</time>" in hello
    assert "<li>intro</li>" in hello and '<img src="harbour.jpg"' in hello
    assert (posts / "2024/hello-world/harbour.jpg").read_bytes() == (
        blog / "posts/2024/hello-world/harbour.jpg"
    ).read_bytes()
    assert (posts / "2025/markdown-tour/cover.png").is_file()
    assert not (posts / "2025/work-in-progress").exists()  # a draft: neither sent nor built
    assert "Not ready yet" not in "".join(p.read_text() for p in public.rglob("*.html"))
    listing = (posts / "index.html").read_text()
    assert "<h1>Posts</h1>" in listing and listing.count("<li><a href=") == 3
    assert (public / "tags" / "guides" / "index.html").is_file()

    # one post changes: the next export writes that post's file only
    post = admin.get_entry(collection, "posts/2024/on-static-sites")
    admin.save(post, body=post.body + "\nA postscript.\n")
    admin.publish(collection, "posts/2024/on-static-sites")
    second = Exporter(admin, "hugo", collections=[collection]).run(site)
    assert second.written == [f"content/{collection}/posts/2024/on-static-sites.md"]
    assert second.removed == [] and second.entries == 1
    public = build_site(site)
    assert "A postscript." in (posts / "2024/on-static-sites/index.html").read_text()


def test_a_hugo_build_with_a_preview_key_shows_drafts_as_the_site_will(
    cms_server: LocalServer, admin: Client, collection: str, tmp_path: Path
) -> None:
    """examples/hugo-preview reads the delivery API at build time (resources.GetRemote):
    with a preview key in HUGO_CMS_PREVIEW_KEY the build holds the draft, rendered, and says
    it is a preview; without one it holds what the site publishes."""
    admin.create_entry(collection, {"title": "Live post"}, "Already **public**.", slug="live")
    admin.publish(collection, "live")
    admin.create_entry(collection, {"title": "Work in progress"}, "Not *ready* yet.", slug="wip")
    preview_key = admin.create_key("preview build", ["preview"]).secret
    assert preview_key
    site = tmp_path / "site"
    shutil.copytree(EXAMPLES / "hugo-preview", site)
    env = {
        "HUGO_PARAMS_CMSURL": cms_server.url,
        "HUGO_PARAMS_CMSCOLLECTION": collection,
        "HUGO_CACHEDIR": str(tmp_path / "hugo-cache"),
    }

    preview = build_site(site, {**env, "HUGO_CMS_PREVIEW_KEY": preview_key}) / "index.html"
    page = preview.read_text()
    assert "Preview: drafts and scheduled entries are shown" in page
    assert '<meta name="robots" content="noindex">' in page
    assert '<article id="wip" data-state="draft">' in page
    assert "<p>Not <em>ready</em> yet.</p>" in page
    assert '<article id="live" data-state="published">' in page

    published = (build_site(site, env) / "index.html").read_text()
    assert "Already <strong>public</strong>." in published
    assert "Work in progress" not in published and "Preview:" not in published


def test_the_readme_walk_through(
    cms_server: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ["--url", cms_server.url, "--key", ADMIN_KEY]
    collection = f"blog-{uuid.uuid4().hex[:8]}"  # the server is shared with other tests

    def cms(*argv: str) -> dict[str, Any]:
        code, out, err = run_cli(capsys, *server, "--json", *argv)
        assert code == 0, out + err
        return json.loads(out) if out.strip() else {}

    posts = tmp_path / "my-posts"
    shutil.copytree(EXAMPLES / "blog", posts)
    imported = cms("import", str(posts), "--collection", collection, "--create-collection")
    assert (imported["created"], imported["published"], imported["drafts"]) == (5, 4, 1)
    assert imported["media_uploaded"] == 2 and imported["rendered"] is True
    assert imported["not_taken"] == [] and imported["failed"] == []

    site = tmp_path / "site"
    shutil.copytree(EXAMPLES / "hugo-site", site)
    exported = cms("export", str(site), "--format", "hugo")
    assert exported["entries"] >= 4
    bundle = site / "content" / collection / "posts" / "2025" / "markdown-tour"
    assert (bundle / "index.md").is_file() and (bundle / "cover.png").is_file()

    for attempt in range(3):  # the README listens on port 9000; a free port here
        listener = Listener(tmp_path / f"listen-{attempt}.log")
        hook = cms("webhooks", "create", listener.url, "--event", "entry.published")
        if listener.start(hook["secret"]):
            break
        cms("webhooks", "delete", hook["id"])
    else:
        pytest.fail(f"cms webhooks listen exited: {listener.log.read_text()}")
    try:
        hello = posts / "posts" / "2024" / "hello-world" / "index.md"
        hello.write_text(hello.read_text() + "\nOne more line, added by hand.\n")
        again = cms("import", str(posts), "--collection", collection)
        assert (again["updated"], again["skipped"], again["created"]) == (1, 4, 0)

        received = listener.next_delivery(timeout=30)
        assert received["event"] == "entry.published" and received["verified"] is True
        assert received["payload"]["data"]["slug"] == "posts/2024/hello-world/index"
        assert received["payload"]["data"]["collection"] == collection

        def succeeded() -> bool:  # the 204 goes out just after the line is printed
            deliveries = cms("webhooks", "deliveries")["items"]
            return any(
                d["status"] == "succeeded" and d["webhook_id"] == hook["id"] for d in deliveries
            )

        deadline = time.monotonic() + 20
        while not succeeded():
            assert time.monotonic() < deadline, "the delivery was never recorded as succeeded"
            time.sleep(0.1)
    finally:
        listener.stop()
        cms("webhooks", "delete", hook["id"])

    incremental = cms("export", str(site), "--format", "hugo")
    assert incremental["written"] == [f"content/{collection}/posts/2024/hello-world/index.md"]
    public = build_site(site)
    folder = public / collection / "posts" / "2024" / "hello-world"
    page = (folder / "index.html").read_text()
    assert "One more line, added by hand." in page
    image = re.search(r'<img src="([^"]+)" alt="The harbour at dusk"', page)
    assert image and (folder / image.group(1)).is_file()
    assert not (public / collection / "posts" / "2025" / "work-in-progress").exists()


class Listener:
    """`cms webhooks listen --json` in a process of its own, as the README runs it."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = log
        self.process: subprocess.Popen[str] | None = None

    def start(self, secret: str) -> bool:
        """True once it listens; False if it exited first (its port was taken meanwhile)."""
        argv = [sys.executable, "-m", "cms", "--json", "webhooks", "listen"]
        argv += ["--port", str(self.port), "--secret", secret]
        with self.log.open("w") as errors:
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True)
        deadline = time.monotonic() + 60
        while "Listening for webhooks" not in self.log.read_text():
            if self.process.poll() is not None:
                return False
            assert time.monotonic() < deadline, f"cms webhooks listen: {self.log.read_text()}"
            time.sleep(0.1)
        return True

    def next_delivery(self, timeout: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        assert ready, "no webhook delivery arrived"
        return dict(json.loads(self.process.stdout.readline()))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
