"""`cms import` and `cms export` (and the rest of the command line) against `chalice local`:
idempotent, resumable imports that report each bad file; incremental exports that follow the
change feed, including its 410 reset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cms import cli
from cms import importer as importer_module
from cms.client import Client
from cms.documents import Document, DocumentError, image_references, parse_document
from cms.errors import ConnectionFailed, NotFound, PayloadTooLarge, Problem
from cms.exporter import Exporter
from cms.importer import (
    LIST_BELOW,
    MAX_POLL_SECONDS,
    POLL_SECONDS,
    STATE_FILE,
    Importer,
    ImportReport,
    PendingLooks,
    Planned,
    PollPace,
    State,
    is_draft,
    scan,
)
from cms.models import DraftSummary, RenderCounts
from tests import test_cms_client as shared
from tests.conftest import free_port
from tests.test_cms_client import tiny_png
from tests.test_local_server import ADMIN_KEY, wait_for_health

cms_server, admin, collection = shared.cms_server, shared.admin, shared.collection  # fixtures

# --- a sample blog -----------------------------------------------------------------------------


def make_blog(root: Path) -> Path:
    """Hugo/Jekyll-style content: nested folders, a page bundle with an image, a Jekyll file
    name, tags, a draft, a future post stays out, and one file with broken front matter."""
    files = {
        "posts/hello-world.md": (
            "---\ntitle: Hello, world\ndate: 2024-01-05\ntags: [Intro, News]\n"
            "description: The very first post.\n---\n# Hello\n\nFirst *post*. "
            "![A red square](./img/red.png)\n"
        ),
        "posts/2023/summer-trip/index.md": (
            '---\ntitle: "Summer trip"\ndate: 2023-06-01T10:30:00+02:00\ntags: travel\n---\n'
            'The sea: ![Blue sea](sea.png "The sea") and ![again](../../img/red.png).\n'
        ),
        "posts/2022-03-04-jekyll-style.md": (
            "---\nlayout: post\ntitle: Jekyll style\ncategories: [old]\n---\nFrom Jekyll.\n"
        ),
        "notes/work-in-progress.md": "---\ntitle: Work in progress\ndraft: true\n---\nSecret.\n",
        "notes/broken.md": "---\ntitle: [unclosed\n---\nThe front matter is not YAML.\n",
        "notes/_index.md": "---\ntitle: Notes\n---\nA Hugo section page: an entry too.\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "posts/img").mkdir(parents=True, exist_ok=True)
    (root / "posts/img/red.png").write_bytes(tiny_png((220, 20, 20), (320, 200)))
    (root / "posts/2023/summer-trip/sea.png").write_bytes(tiny_png((20, 60, 220), (400, 300)))
    return root


PUBLISHED = {
    "posts/hello-world",
    "posts/2023/summer-trip/index",
    "posts/2022-03-04-jekyll-style",
    "notes/_index",
}


# --- parsing, without a server -------------------------------------------------------------


def test_drafts_and_what_the_folder_holds_follow_the_generators_conventions(
    tmp_path: Path,
) -> None:
    assert is_draft({"draft": True}, "posts/a.md") and is_draft({"draft": "yes"}, "a.md")
    assert is_draft({"published": False}, "_posts/2021-02-03-x.md")
    assert is_draft({}, "_drafts/idea.md") and not is_draft({"draft": False}, "a.md")
    for rel in ("a.md", "b/c.markdown", "b/img.PNG", "doc.pdf", "x.svg", ".hidden.md", "y.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/config").write_text("x")
    found = scan(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found.markdown] == ["a.md", "b/c.markdown"]
    assert [p.relative_to(tmp_path).as_posix() for p in found.resources] == ["b/img.PNG", "doc.pdf"]
    assert sorted(f.path for f in found.not_taken) == [".git/", ".hidden.md", "x.svg", "y.txt"]


def test_front_matter_formats_and_the_images_a_page_uses() -> None:
    doc = parse_document('+++\ntitle = "T"\ndate = 2024-01-05T10:00:00Z\n+++\nBody')
    assert doc.front_matter == {"title": "T", "date": "2024-01-05T10:00:00+00:00"}
    assert parse_document('{\n "title": "J"\n}\nBody').front_matter == {"title": "J"}
    body = (
        '![a](img/a.png) ![b](<./b c.jpg> "t") ![c](https://x/c.png) ![d](/abs.png)\n'
        '`![e](span.png)`\n\n```md {file="x"}\n![f](fenced.png)\n```\n\n'
        "    ![g](indented.png)\n\n- item\n\n  ~~~\n  ![h](listed.png)\n  ~~~\n\n"
        '{{< figure src="fig.jpg" >}} {{</* figure src="escaped.png" */>}}\n'
        "![by reference][logo]\n\n[logo]: img/logo.png\n[^1]: The footnote, not an image.\n"
    )
    front = {"images": ["cover.png"], "cover": {"image": "c.jpg"}, "resources": [{"src": "*.gif"}]}
    assert image_references(Document(front, body)) == [
        "img/a.png",
        "./b c.jpg",
        "img/logo.png",
        "fig.jpg",
        "cover.png",
        "c.jpg",
    ]


# How Hugo opens front matter (its page lexer): after any blank space, '---' or '+++' (the
# rest of that line blank), or a JSON object, which ends at its matching brace.
OPENED_AS_HUGO_DOES = [
    ("--- \ntitle: Secret\ndraft: true\n---\nbody\n", {"title": "Secret", "draft": True}),
    ("---\t\r\ntitle: T\r\n---  \r\nbody", {"title": "T"}),
    ('+++ \r\ntitle = "x"\r\n+++\r\nBody\r\n', {"title": "x"}),
    ("\n\n---\ntitle: After blank lines\n---\nb", {"title": "After blank lines"}),
    ('{ "title": "Spaced JSON", "draft": true }\nbody', {"title": "Spaced JSON", "draft": True}),
    ('{\n"title": "x",\n"params": {\n"a": 1\n}\n}\nbody', {"title": "x", "params": {"a": 1}}),
    ('{"t": "} \\" {"}\r\nbody', {"t": '} " {'}),
    ("{}\nbody", {}),
]


@pytest.mark.parametrize(("text", "front_matter"), OPENED_AS_HUGO_DOES)
def test_front_matter_is_opened_as_hugo_opens_it_by_the_client_and_the_server(
    text: str, front_matter: dict[str, Any]
) -> None:
    from chalicelib.domain.frontmatter import parse

    assert parse_document(text).front_matter == front_matter
    assert parse_document(text) == Document(*parse(text))
    assert parse_document(text).body.rstrip("\r\n") in ("body", "b", "Body")


@given(
    lead=st.sampled_from(["", "\n", " \n\t", "\ufeff"]),
    kind=st.sampled_from(["---", "+++", "{", "none"]),
    trail=st.sampled_from(["", " ", "\t", "  \t"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    value=st.text(alphabet='ab {}"\\:\n', max_size=12),
    body=st.text(alphabet="ab {}-+#\n", max_size=20),
)
@settings(max_examples=400, deadline=None)
def test_the_client_splits_every_document_as_the_server_does(
    lead: str, kind: str, trail: str, newline: str, value: str, body: str
) -> None:
    """`cms import` decides what to publish from the front matter it reads: it must read the
    same front matter as the server, or a draft could go out published."""
    from chalicelib.domain.errors import ValidationFailed
    from chalicelib.domain.frontmatter import parse

    inner = {
        "---": f"title: {json.dumps(value)}",
        "+++": f"title = {json.dumps(value)}",
        "{": f'"title": {json.dumps(value)}',
        "none": value,
    }[kind]
    close = {"---": "---", "+++": "+++", "{": "}", "none": ""}[kind]
    opener = "" if kind == "none" else kind
    text = newline.join([lead + opener + trail, inner, close + trail, body])
    try:
        server: Document | None = Document(*parse(text))
    except ValidationFailed:
        server = None
    try:
        client: Document | None = parse_document(text)
    except DocumentError:
        client = None
    assert client == server
    if kind != "none":
        assert server is not None and server.front_matter == {"title": value}


# --- import ------------------------------------------------------------------------------------


def test_import_publishes_reports_bad_files_and_a_second_run_changes_nothing(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    blog = make_blog(tmp_path / "blog")
    (blog / "notes/todo.txt").write_text("not content")
    report = Importer(admin, collection, batch_size=2).run(blog)
    assert [(f.path, "invalid YAML" in f.reason) for f in report.failures] == [
        ("notes/broken.md", True)
    ]
    assert [f.path for f in report.not_taken] == ["notes/todo.txt"]
    assert (report.files, report.entries, report.resources) == (9, 6, 2)
    assert (report.created, report.published, report.drafts) == (5, 4, 1)
    assert report.media_uploaded == 2
    assert report.rendered is True and 0 < report.stored_seconds <= report.seconds
    pending = admin.pending_renders(collection)
    assert pending == [] and all(
        d.render_status == "rendered" for d in admin.iter_drafts(collection)
    )
    assert {e.slug for e in admin.iter_entries(collection)} == PUBLISHED
    with pytest.raises(NotFound):
        admin.get_published(collection, "notes/work-in-progress")
    hello = admin.get_entry(collection, "posts/hello-world")
    source = admin.get_source(collection, "posts/hello-world")
    assert source.data == (blog / "posts/hello-world.md").read_bytes()  # byte for byte
    assert (source.file, hello.kind) == ("posts/hello-world.md", "page")
    assert hello.front_matter["tags"] == ["Intro", "News"]
    assert "summary" not in hello.front_matter and "published_at" not in hello.front_matter
    page = admin.get_published(collection, "posts/hello-world")
    assert page is not None and page.published_at == "2024-01-05T00:00:00Z"
    assert page.summary == "The very first post." and page.tags == ["intro", "news"]
    bundle = admin.get_published(collection, "posts/2023/summer-trip/index")
    assert bundle is not None and bundle.kind == "bundle"
    assert bundle.html.count("<picture>") == 2  # the bundle's image and ../../img/red.png
    revisions = len(
        admin.request("GET", f"/v1/manage/content/{collection}/posts~hello-world/revisions").json()[
            "items"
        ]
    )

    again = Importer(admin, collection).run(blog)
    assert (again.created, again.updated, again.skipped, again.media_uploaded) == (0, 0, 5, 0)
    assert (again.published, again.drafts) == (4, 1)
    assert [f.path for f in again.failures] == ["notes/broken.md"]
    after = admin.request(
        "GET", f"/v1/manage/content/{collection}/posts~hello-world/revisions"
    ).json()
    assert len(after["items"]) == revisions

    # an entry the state file lists but the server lost (a new data dir, a deletion) is sent
    admin.delete_entry(collection, "posts/2023/summer-trip/index")
    restored = Importer(admin, collection).run(blog)
    assert (restored.created, restored.skipped, restored.media_uploaded) == (1, 4, 0)

    # edit one file, make a published one a draft: exactly those two are sent
    (blog / "notes/broken.md").unlink()
    hello_md = blog / "posts/hello-world.md"
    hello_md.write_text(hello_md.read_text().replace("First *post*", "First *edited* post"))
    jekyll = blog / "posts/2022-03-04-jekyll-style.md"
    jekyll.write_text(jekyll.read_text().replace("layout: post", "draft: true"))
    third = Importer(admin, collection).run(blog)
    assert third.ok and (third.updated, third.skipped) == (2, 3)
    assert "edited" in admin.get_entry(collection, "posts/hello-world").body
    with pytest.raises(NotFound):
        admin.get_published(collection, "posts/2022-03-04-jekyll-style")


def test_import_without_waiting_returns_once_stored_and_the_server_renders_after(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    blog = make_blog(tmp_path / "blog")
    report = Importer(admin, collection, wait=False).run(blog)
    assert report.rendered is None and report.created == 5
    deadline = time.monotonic() + 30
    while admin.pending_renders(collection):
        assert time.monotonic() < deadline, "the server never rendered the batch"
        time.sleep(0.1)
    assert {e.slug for e in admin.iter_entries(collection)} == PUBLISHED


class RenderingServer:
    """Stands in for the client while the importer waits: each poll answers the next round
    of pending drafts (the last one for ever), a poll being a look at the render counts or,
    from a server without them (``counts=False``), at the pending lists; the full listing
    says what is rendered, failed or still pending, and at which etag."""

    def __init__(
        self,
        rounds: list[list[str]],
        listing: dict[str, tuple[str, str]],
        failed=None,
        *,
        counts: bool = False,
    ) -> None:
        self.rounds, self.listing, self.failed = rounds, listing, failed or {}
        self.counts = counts
        self.polls = self.listings = self.counted = 0
        self.current: list[str] = []

    def _next_round(self) -> None:
        self.current = self.rounds.pop(0) if len(self.rounds) > 1 else self.rounds[0]

    def render_counts(self, collection: str) -> RenderCounts:
        if not self.counts:  # an older server: no such route
            raise NotFound(Problem(404, "Not Found", type="about:blank"))
        self.counted += 1
        self._next_round()
        none = {"pending": 0, "rendered": 0, "failed": 0}
        return RenderCounts({**none, "pending": len(self.current)}, none, {})

    def iter_drafts(self, collection: str, *, status=None, stage: str = "draft") -> Any:
        if status == "pending":
            if stage == "draft":  # a look asks for the drafts, then the published snapshots
                self.polls += 1
                if not self.counts:
                    self._next_round()
            for slug in self.current:
                yield DraftSummary.from_dict({"slug": slug, "render_status": "pending"})
        elif status == "failed":
            for slug, error in self.failed.items() if stage == "draft" else ():
                yield DraftSummary.from_dict({"slug": slug, "render_error": error})
        else:
            self.listings += stage == "draft"
            for slug, (state, etag) in self.listing.items():
                yield DraftSummary.from_dict({"slug": slug, "render_status": state, "etag": etag})


def planned(slug: str) -> Planned:
    return Planned(f"posts/{slug}.md", f"---\ntitle: {slug}\n---\n", True, "0" * 64)


def test_the_wait_counts_this_runs_entries_and_confirms_each_in_the_listing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importer_module, "POLL_SECONDS", 0)
    monkeypatch.setattr(importer_module, "STALE_GRACE_SECONDS", 0.2)
    rendered = {"a": ("rendered", "ea"), "b": ("failed", "eb")}
    expected = {"a": ("ea", True), "b": ("eb", False)}

    # someone else's pending entries (more than a page of them) never hold the wait up
    others = [f"other-{n:03d}" for n in range(150)]
    server = RenderingServer([["a", "b", *others], ["b", *others], others], rendered)
    assert Importer(server, "blog")._wait_rendered(expected) is True  # type: ignore[arg-type]
    assert server.polls == 3 and server.listings == 1

    # with the render counts: the pending lists are read first, then not while the count
    # falls (many pending: the server works through them), and once it stops falling
    counted = RenderingServer([["a", "b", *others], ["b", *others], others], rendered, counts=True)
    assert Importer(counted, "blog")._wait_rendered(expected) is True  # type: ignore[arg-type]
    assert (counted.counted, counted.polls, counted.listings) == (4, 2, 1)

    # gone from the pending lists, but not listed yet (a list lagging the write): not done
    lagging = RenderingServer([[]], {"a": ("rendered", "ea")})
    stuck = Importer(lagging, "blog", wait_timeout=0.3)  # type: ignore[arg-type]
    assert stuck._wait_rendered(expected) is False

    # listed at another etag: waited for a while, then taken as a newer version
    newer = RenderingServer([[]], {"a": ("rendered", "ea"), "b": ("rendered", "newer")})
    assert Importer(newer, "blog")._wait_rendered(expected) is True  # type: ignore[arg-type]
    assert newer.listings > 1

    # the published snapshot must be rendered too
    unpublished = RenderingServer([[]], rendered)
    unpublished.iter_drafts = _without_snapshots(unpublished.iter_drafts)  # type: ignore[method-assign]
    hold = Importer(unpublished, "blog", wait_timeout=0.2)  # type: ignore[arg-type]
    assert hold._wait_rendered(expected) is False

    report = ImportReport()
    failing = RenderingServer([[]], rendered, failed={"b": "title: required", "not-ours": "x"})
    state = State(tmp_path, "http://x", "blog")
    for slug in ("a", "b"):
        state.record_file(f"posts/{slug}.md", {"slug": slug})
    importer = Importer(failing, "blog")  # type: ignore[arg-type]
    importer._render_failures([planned("a"), planned("b")], state, report)
    assert [(f.path, f.reason) for f in report.failures] == [
        ("posts/b.md", "draft: title: required")
    ]


def test_the_pending_lists_are_read_when_the_count_is_low_stalled_or_not_read_for_a_while() -> None:
    looks = PendingLooks()
    assert not looks.skip(4000, 0.0)  # nothing to compare with yet
    looks.looked(0.0)
    assert looks.skip(3000, 1.0)  # many pending, falling: the server works through them
    assert not looks.skip(3000, 2.0)  # stalled: what is left may be someone else's
    looks.looked(2.0)
    assert looks.skip(2000, 3.0)
    assert not looks.skip(1000, 2.0 + MAX_POLL_SECONDS)  # falling, but not read for a while
    looks.looked(2.0 + MAX_POLL_SECONDS)
    assert not looks.skip(LIST_BELOW, 8.0)  # few: the lists are cheap


def _without_snapshots(iter_drafts: Any) -> Any:
    def listing(collection: str, *, status=None, stage: str = "draft") -> Any:
        return (
            iter([])
            if stage == "published" and status is None
            else iter_drafts(collection, status=status, stage=stage)
        )

    return listing


@pytest.mark.parametrize("rate", [20, 100, 400, 2000])
@pytest.mark.parametrize("first", [50, 2000, 10_000])
def test_the_wait_reads_little_more_than_what_was_pending_and_ends_soon_after_the_last_render(
    rate: float, first: int
) -> None:
    """A server that starts rendering after a delay, then renders ``rate`` entries a second;
    each look at the pending lists reads every pending entry, and takes a while itself. The
    looks read about twice the entries first pending (plus one full read per
    ``MAX_POLL_SECONDS``, for the progress bar), and the wait ends within ``POLL_SECONDS``
    of the last render. The pacing before it (pauses of pending / 1000 s) read 17,625
    entries for 2,000 at 100 a second; this one reads 7,183."""
    start_after, read_per_second = 0.7, 20_000
    pace, now, read = PollPace(), 0.0, 0
    while (pending := first - int(max(0.0, now - start_after) * rate)) > 0:
        read += pending
        now += pending / read_per_second
        now += pace.after(pending, now)
    assert read <= first * (3 + now / MAX_POLL_SECONDS) + 500, read
    assert now - (start_after + first / rate) <= POLL_SECONDS


def test_import_reports_the_servers_problem_and_resumes_after_an_interruption(
    admin: Client, collection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(6):
        (folder / f"post-{index}.md").write_text(f"---\ntitle: Post {index}\n---\nBody {index}.\n")
    (folder / "bad-tags.md").write_text("---\ntitle: Bad\ntags: [{nested: map}]\n---\nx\n")
    calls = {"n": 0}
    real = Client.batch_upsert

    def flaky(self: Client, name: str, items: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionFailed(self.url, "connection reset (simulated)")
        return real(self, name, items)

    monkeypatch.setattr(Client, "batch_upsert", flaky)
    first = Importer(admin, collection, workers=1, batch_size=2).run(folder)
    assert len(first.failures) == 3  # a batch of two lost in transit, and the bad file
    bad = next(f for f in first.failures if f.path == "bad-tags.md")
    assert bad.problem is not None and bad.problem["status"] == 422
    assert "front_matter.tags" in bad.reason
    state = json.loads((folder / STATE_FILE).read_text())
    saved = next(iter(state["imports"].values()))["files"]
    assert len(saved) == 4  # saved as it went

    monkeypatch.setattr(Client, "batch_upsert", real)
    second = Importer(admin, collection, workers=1, batch_size=2).run(folder)
    assert (second.created, second.skipped) == (2, 4)
    assert [f.path for f in second.failures] == ["bad-tags.md"]
    assert len(list(admin.iter_entries(collection))) == 6


def test_pages_in_any_script_go_in_batches_under_the_servers_body_limit(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    """Batches are sized by the JSON they make: 25 pages of 21 KB of Chinese were 126 KB each
    escaped to ASCII (3 MB in one batch: 413, every page lost), and a page of 100,000 emoji
    was 1.2 MB alone."""
    folder = tmp_path / "cjk"
    folder.mkdir()
    for index in range(25):
        text = f"---\ntitle: 页 {index}\n---\n" + "中文内容。" * 1400 + "\n"
        (folder / f"page-{index:02d}.md").write_text(text, encoding="utf-8")
    party = "---\ntitle: Party\n---\n" + "🎉" * 100_000 + "\n"
    (folder / "party.md").write_text(party, encoding="utf-8")
    report = Importer(admin, collection).run(folder)
    assert report.ok, report.failures[:2]
    assert (report.mode, report.created) == ("batch", 26)
    assert admin.get_source(collection, "party").data == party.encode()


def test_a_batch_too_large_for_the_server_is_sent_again_in_halves(
    admin: Client, collection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever the client's estimate, a 413 stores nothing of a batch: its halves go again,
    and a file alone too large for a JSON body goes by the single route, as Markdown."""
    folder = tmp_path / "big"
    folder.mkdir()
    for index in range(6):
        (folder / f"post-{index}.md").write_text(f"---\ntitle: P{index}\n---\n{'x' * 20_000}")
    (folder / "huge.md").write_text(f"---\ntitle: Huge\n---\n{'y' * 60_000}")
    sent: list[int] = []
    real = Client.batch_upsert

    def limited(self: Client, name: str, items: Any) -> Any:
        size = sum(len(item.document or "") for item in items)
        sent.append(len(items))
        if size > 50_000:
            raise PayloadTooLarge(Problem(413, "Payload too large"))
        return real(self, name, items)

    monkeypatch.setattr(Client, "batch_upsert", limited)
    report = Importer(admin, collection, workers=1).run(folder)
    assert report.ok and report.created == 7, report.failures
    assert sent == [7, 3, 1, 2, 4, 2, 2]  # huge.md comes first, and alone it still is 413
    assert admin.get_source(collection, "huge").data.endswith(b"y" * 60_000)


def test_a_part_of_a_split_batch_that_fails_fails_alone(
    admin: Client, collection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    for index in range(4):
        (folder / f"post-{index}.md").write_text(f"---\ntitle: P{index}\n---\nBody.\n")
    real = Client.batch_upsert

    def picky(self: Client, name: str, items: Any) -> Any:
        if len(items) > 1:
            raise PayloadTooLarge(Problem(413, "Payload too large"))
        if items[0].file == "post-1.md":
            raise ConnectionFailed(self.url, "connection reset (simulated)")
        return real(self, name, items)

    monkeypatch.setattr(Client, "batch_upsert", picky)
    report = Importer(admin, collection, workers=1).run(folder)
    assert [f.path for f in report.failures] == ["post-1.md"]
    assert "connection reset" in report.failures[0].reason
    assert report.created == 3


def test_files_gone_from_the_folder_lose_their_entries_with_delete_only(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    """A deleted file, and one renamed in case only (the same entry path from another file:
    refused while the old entry stays), go through with --delete; an entry edited on the
    server since it was imported is never deleted for its file."""
    folder = tmp_path / "site"
    (folder / "posts").mkdir(parents=True)
    for name in ("gone", "hello.de", "edited", "kept"):
        (folder / f"posts/{name}.md").write_text(f"---\ntitle: {name}\n---\nBody of {name}.\n")
    first = Importer(admin, collection).run(folder)
    assert first.ok and first.created == 4
    (folder / "posts/gone.md").unlink()
    (folder / "posts/hello.de.md").rename(folder / "posts/Hello.de.md")
    (folder / "posts/edited.md").unlink()
    admin.update_entry(collection, "posts/edited", body="Changed on the server.")

    kept = Importer(admin, collection).run(folder)
    assert kept.deleted == 0 and any("--delete" in w for w in kept.warnings)
    assert [f.path for f in kept.failures] == ["posts/Hello.de.md"]  # the old file's entry
    assert {d.slug for d in admin.iter_drafts(collection)} == {
        "posts/gone",
        "posts/hello-de",
        "posts/edited",
        "posts/kept",
    }

    pruned = Importer(admin, collection, delete=True).run(folder)
    assert pruned.deleted == 2 and pruned.created == 1, pruned.failures
    [refused] = pruned.failures
    assert refused.path == "posts/edited.md" and "changed on the server" in refused.reason
    drafts = {d.slug: d for d in admin.iter_drafts(collection)}
    assert set(drafts) == {"posts/hello-de", "posts/edited", "posts/kept"}
    assert drafts["posts/hello-de"].file == "posts/Hello.de.md"
    assert admin.get_entry(collection, "posts/edited").body == "Changed on the server."

    (folder / "posts/edited.md").write_text("---\ntitle: edited\n---\nBack.\n")
    again = Importer(admin, collection, delete=True).run(folder)
    assert again.ok and again.deleted == 0 and again.updated == 1


def test_import_without_the_batch_route_goes_one_request_per_step(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    blog = make_blog(tmp_path / "blog")
    report = Importer(admin, collection, use_batch=False).run(blog)
    assert report.mode == "single" and (report.created, report.published) == (5, 4)
    (blog / STATE_FILE).unlink()  # the state is gone: the server still knows
    (blog / "posts/img/red.png").unlink()  # and no image: nothing to upload again
    (blog / "posts/2023/summer-trip/sea.png").unlink()
    again = Importer(admin, collection, use_batch=False).run(blog)
    assert again.created == 0 and again.unchanged == 5 and again.media_uploaded == 0
    assert len(again.warnings) == 3  # the missing images, named


# --- export ------------------------------------------------------------------------------------


def test_json_export_is_incremental_and_starts_again_after_a_410(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    for slug in ("alpha", "beta", "gamma"):
        admin.create_entry(collection, {"title": slug.title(), "slug": slug}, f"About {slug}.")
        admin.publish(collection, slug)
    admin.create_entry(collection, {"title": "Draft"}, "never exported")
    out = tmp_path / "export"
    exporter = Exporter(admin, "json", collections=[collection])
    first = exporter.run(out)
    assert first.from_scratch and sorted(first.written) == [
        f"{collection}/{s}.json" for s in ("alpha", "beta", "gamma")
    ]
    alpha = json.loads((out / f"{collection}/alpha.json").read_text())
    assert alpha["document"] == "---\ntitle: Alpha\nslug: alpha\n---\nAbout alpha."
    assert "<p>About alpha.</p>" in alpha["html"]

    assert Exporter(admin, "json", collections=[collection]).run(out).written == []
    beta = admin.get_entry(collection, "beta")
    admin.save(beta, body="Beta, edited.")
    admin.publish(collection, "beta")
    admin.delete_entry(collection, "gamma")
    second = Exporter(admin, "json", collections=[collection]).run(out)
    assert second.written == [f"{collection}/beta.json"]
    assert (
        second.removed == [f"{collection}/gamma.json"]
        and not (out / f"{collection}/gamma.json").exists()
    )
    assert not second.from_scratch

    admin.reindex()  # the stored cursor is now refused with 410
    third = Exporter(admin, "json", collections=[collection]).run(out)
    assert third.reset and third.entries == 2 and third.removed == []
    assert sorted(p.name for p in (out / collection).iterdir()) == ["alpha.json", "beta.json"]

    # without a key there is no Markdown to read: Hugo gets the published HTML
    keyless = Exporter(Client(admin.url), "hugo", collections=[collection]).run(tmp_path / "site")
    assert sorted(keyless.written) == [
        f"content/{collection}/alpha.html",
        f"content/{collection}/beta.html",
    ]
    page = (tmp_path / "site" / f"content/{collection}/alpha.html").read_text()
    assert page.startswith("---\ntitle: Alpha\n") and "<p>About alpha.</p>" in page


def test_progress_bars_draw_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from cms.progress import RichProgress

    progress = RichProgress()
    progress.enabled = True  # as on a terminal
    with progress.task("Importing entries", 3) as bar:
        bar.advance(3)
    assert "Importing entries" in capsys.readouterr().err


# --- the command line ------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_webhooks_listen_on_a_taken_port_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, out, err = run_cli(capsys, "webhooks", "listen", "--port", port)
    assert code == cli.USAGE and "cannot listen on 127.0.0.1:" in err
    assert "Traceback" not in out + err


def test_cli_exit_codes_json_output_and_environment(
    cms_server: Any,
    collection: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = cms_server.url
    code, out, err = run_cli(capsys, "--url", url, "--key", "wrong", "--json", "keys", "list")
    assert code == cli.REFUSED and "401" in err
    assert json.loads(out)["problem"]["type"] == "/problems/unauthorized"

    code, _, err = run_cli(capsys, "--url", f"http://127.0.0.1:{free_port()}", "reindex")
    assert code == cli.UNREACHABLE and "cannot reach" in err

    monkeypatch.setenv("CMS_URL", url)
    monkeypatch.setenv("CMS_KEY", ADMIN_KEY)
    code, out, _ = run_cli(
        capsys, "keys", "create", "--name", "ci", "--scope", "content:read", "--json"
    )
    created = json.loads(out)
    assert code == 0 and created["key"].startswith("cms_") and created["scopes"] == ["content:read"]
    code, out, _ = run_cli(capsys, "keys", "list", "--json")
    assert created["id"] in [k["id"] for k in json.loads(out)["items"]]
    assert run_cli(capsys, "keys", "revoke", created["id"])[0] == 0
    code, out, _ = run_cli(capsys, "--json", "dlq", "list")
    assert code == 0 and json.loads(out) == {"items": []}
    assert json.loads(run_cli(capsys, "--json", "dlq", "redrive")[1]) == {"redriven": 0}

    blog = make_blog(tmp_path / "blog")
    code, _, err = run_cli(capsys, "import", str(blog), "--collection", "missing-collection")
    assert code == cli.REFUSED and "There is no collection named 'missing-collection'" in err
    code, out, err = run_cli(capsys, "import", str(blog), "--collection", collection, "--json")
    result = json.loads(out)
    assert (
        code == cli.FAILURES
        and result["created"] == 5
        and result["failed"][0]["path"] == "notes/broken.md"
    )
    code, out, _ = run_cli(capsys, "export", str(tmp_path / "site"), "--collection", collection)
    assert code == 0 and f"content/{collection}/posts/hello-world.md" in out
    assert f"content/{collection}/posts/2023/summer-trip/sea.png" in out
    with pytest.raises(SystemExit) as usage:
        run_cli(capsys, "export", str(tmp_path / "x"), "--format", "xml")
    assert usage.value.code == cli.USAGE


def test_python_m_cms_serve_runs_the_api_on_the_local_backend(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "data"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cms",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data),
            "--admin-key",
            "serve-key",
        ],
        cwd=tmp_path,  # anywhere: it finds the project it was installed from
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("CMS_")},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_health(url, process, "cms serve")
        client = Client(url, "serve-key")
        client.put_collection("blog")
        assert [c.name for c in client.list_collections()] == ["blog"]
        assert (data / "index.sqlite3").exists()  # the data dir it was given
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_export_keeps_its_cursor_past_an_entry_it_cannot_write_and_retries_it(
    admin: Client, collection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for slug in ("one", "two", "nested/three", "four"):
        admin.create_entry(collection, {"title": slug}, f"About {slug}.", slug=slug)
        admin.publish(collection, slug)
    real = Client.get_source

    def refusing(self: Client, name: str, slug: str, **options: Any) -> Any:
        if slug == "nested/three":
            raise OSError("disk full (simulated)")
        return real(self, name, slug, **options)

    monkeypatch.setattr(Client, "get_source", refusing)
    out = tmp_path / "site"
    first = Exporter(admin, "hugo", collections=[collection]).run(out)
    assert first.failures == [(f"{collection}/nested/three", "disk full (simulated)")]
    assert len(first.written) == 3
    state = json.loads((out / ".cms-export.json").read_text())
    assert state["cursor"] and list(state["retry"]) == [f"{collection}/nested/three"]

    monkeypatch.setattr(Client, "get_source", real)
    second = Exporter(admin, "hugo", collections=[collection]).run(out)
    assert second.ok and second.retried == 1
    assert second.written == [f"content/{collection}/nested/three.md"]
    state = json.loads((out / ".cms-export.json").read_text())
    assert state["retry"] == {}


def test_an_interrupted_export_resumes_from_its_journal(
    admin: Client, collection: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cms import exporter as exporter_module

    for index in range(6):
        slug = f"entry-{index}"
        admin.create_entry(collection, {"title": slug}, "Text.", slug=slug)
        admin.publish(collection, slug)
    real = exporter_module._write_if_changed
    calls = {"n": 0}

    def interrupted(root: Path, rel: str, data: bytes) -> bool:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real(root, rel, data)

    monkeypatch.setattr(exporter_module, "_write_if_changed", interrupted)
    out = tmp_path / "site"
    with pytest.raises(KeyboardInterrupt):
        Exporter(admin, "hugo", collections=[collection], workers=1).run(out)
    journal = (out / ".cms-export.journal").read_text().splitlines()
    assert len(journal) >= 1 + 3  # its export, then each finished entry, noted at once

    monkeypatch.setattr(exporter_module, "_write_if_changed", real)
    resumed = Exporter(admin, "hugo", collections=[collection], workers=1).run(out)
    assert resumed.ok and len(resumed.written) == 3 and resumed.unchanged_files == 3
    assert not (out / ".cms-export.journal").exists()
    assert sorted(p.name for p in (out / "content" / collection).iterdir()) == [
        f"entry-{i}.md" for i in range(6)
    ]


def test_an_export_that_cannot_reach_its_server_leaves_the_last_export_alone(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    admin.create_entry(collection, {"title": "Kept"}, "Text.", slug="kept")
    admin.publish(collection, "kept")
    out = tmp_path / "site"
    Exporter(admin, "hugo", collections=[collection]).run(out)
    written = out / "content" / collection / "kept.md"
    assert written.is_file()
    nowhere = Client(f"http://127.0.0.1:{free_port()}", ADMIN_KEY, timeout=2)
    with pytest.raises(ConnectionFailed):
        Exporter(nowhere, "hugo", collections=[collection]).run(out)
    assert written.is_file()  # nothing removed before the other export had finished
    again = Exporter(admin, "hugo", collections=[collection]).run(out)
    assert again.ok and written.is_file()


def test_an_export_with_a_read_only_content_key_exports_the_entries_and_says_why_not_images(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    blog = make_blog(tmp_path / "blog")
    Importer(admin, collection).run(blog)
    key = admin.create_key("reader", ["content:read"])
    with Client(admin.url, key.secret) as reader:
        report = Exporter(reader, "hugo", collections=[collection]).run(tmp_path / "site")
    assert report.ok and report.entries == 4
    assert report.warnings == ["page resources (images) not exported: the key needs media:read"]


def test_an_entry_whose_file_cannot_be_written_is_reported_and_tried_again(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    admin.create_entry(collection, {"title": "A"}, "Text.", slug="a")
    admin.publish(collection, "a")
    out = tmp_path / "site"
    (out / "content" / collection / "a.md").mkdir(parents=True)  # a folder where the file goes
    first = Exporter(admin, "hugo", collections=[collection]).run(out)
    assert [key for key, _ in first.failures] == [f"{collection}/a"]
    assert not list((out / "content" / collection).glob(".*.tmp"))
    (out / "content" / collection / "a.md").rmdir()
    second = Exporter(admin, "hugo", collections=[collection]).run(out)
    assert second.ok and second.retried == 1
    assert (out / "content" / collection / "a.md").read_text().endswith("Text.")


def test_one_request_per_step_never_writes_a_file_over_another_of_the_same_path(
    admin: Client, collection: str, tmp_path: Path
) -> None:
    folder = tmp_path / "site"
    (folder / "m").mkdir(parents=True)
    (folder / "m" / "Params.md").write_text("---\ntitle: Upper\n---\n")
    (folder / "m" / "params.md").write_text("---\ntitle: Lower\n---\n")
    report = Importer(admin, collection, use_batch=False, workers=1).run(folder)
    assert report.created == 1 and [f.path for f in report.failures] == ["m/params.md"]
    assert admin.get_source(collection, "m/params").data == b"---\ntitle: Upper\n---\n"
