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
from tests.test_cms_import_export import PUBLISHED, make_blog, run_cli
from tests.test_local_server import ADMIN_KEY

cms_server, admin, collection = shared.cms_server, shared.admin, shared.collection  # fixtures

HUGO = shutil.which("hugo")
if HUGO is None and not os.environ.get("CI"):
    pytest.skip(
        "the hugo binary is not installed (apt-get install hugo; .ci/run installs it in CI)",
        allow_module_level=True,
    )

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


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
    shutil.copytree(EXAMPLES / "hugo-site", site)
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
    assert (imported["created"], imported["published"], imported["drafts"]) == (4, 3, 1)
    assert imported["media_uploaded"] == 2 and imported["rendered"] is True

    site = tmp_path / "site"
    shutil.copytree(EXAMPLES / "hugo-site", site)
    exported = cms("export", str(site), "--format", "hugo")
    assert exported["entries"] >= 3
    assert (site / "content" / collection / "markdown-tour" / "index.md").is_file()

    for attempt in range(3):  # the README listens on port 9000; a free port here
        listener = Listener(tmp_path / f"listen-{attempt}.log")
        hook = cms("webhooks", "create", listener.url, "--event", "entry.published")
        if listener.start(hook["secret"]):
            break
        cms("webhooks", "delete", hook["id"])
    else:
        pytest.fail(f"cms webhooks listen exited: {listener.log.read_text()}")
    try:
        hello = posts / "posts" / "2024" / "hello-world.md"
        hello.write_text(hello.read_text() + "\nOne more line, added by hand.\n")
        again = cms("import", str(posts), "--collection", collection)
        assert (again["updated"], again["skipped"], again["created"]) == (1, 3, 0)

        received = listener.next_delivery(timeout=30)
        assert received["event"] == "entry.published" and received["verified"] is True
        assert received["payload"]["data"]["slug"] == "hello-world"
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
    assert incremental["written"] == [f"content/{collection}/hello-world/index.md"]
    public = build_site(site)
    page = (public / collection / "hello-world" / "index.html").read_text()
    assert "One more line, added by hand." in page
    image = re.search(r'<img src="([^"]+)" alt="The harbour at dusk"', page)
    assert image and (public / collection / "hello-world" / image.group(1)).is_file()
    assert "work-in-progress" not in {p.name for p in (public / collection).iterdir()}


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
