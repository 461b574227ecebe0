"""The ports' contract, run against both adapter sets (files + SQLite; S3 + DynamoDB + SSM on
moto), so the two backends cannot drift."""

from __future__ import annotations

import pytest

from chalicelib import wiring
from chalicelib.domain.collections import Collection
from chalicelib.domain.entries import EntryRecord, sort_title, tombstone
from chalicelib.ports import (
    InvalidObjectKey,
    ManageQuery,
    ObjectNotFound,
    ObjectPreconditionFailed,
    PageQuery,
)

MD = "text/markdown"


def _record(slug: str, **changes: object) -> EntryRecord:
    base = EntryRecord(
        collection="blog",
        slug=slug,
        stage="published",
        title=f"Title {slug}",
        front_matter={"title": f"Title {slug}"},
        tags=["python"],
        published_at="2025-05-01T00:00:00Z",
        source_etag=f"etag-{slug}",
        render_status="rendered",
        rendered_sha256="0" * 64,
        html_key=f"rendered/blog/{slug}.html",
    )
    for name, value in changes.items():
        setattr(base, name, value)
    return base


# --- object store -------------------------------------------------------------------------


def test_versions_conditions_and_delete_markers(container: wiring.Container) -> None:
    objects = container.backend.objects
    first = objects.put("content/blog/a.md", b"one", content_type=MD)
    second = objects.put("content/blog/a.md", b"two", content_type=MD, if_match=first.etag)
    assert objects.get("content/blog/a.md").data == b"two"
    assert objects.get("content/blog/a.md", version_id=first.version_id).data == b"one"
    with pytest.raises(ObjectPreconditionFailed):
        objects.put("content/blog/a.md", b"three", content_type=MD, if_match=first.etag)
    with pytest.raises(ObjectPreconditionFailed):
        objects.put("content/blog/a.md", b"three", content_type=MD, if_none_match=True)
    assert objects.get("content/blog/a.md").data == b"two"
    head = objects.head("content/blog/a.md")
    assert head is not None and head.etag == second.etag and head.size == 3

    objects.delete("content/blog/a.md")
    assert objects.head("content/blog/a.md") is None
    with pytest.raises(ObjectNotFound):
        objects.get("content/blog/a.md")
    versions = objects.list_versions("content/blog/a.md")
    assert [v.is_delete_marker for v in versions] == [True, False, False]
    assert versions[1].version_id == second.version_id
    assert objects.get("content/blog/a.md", version_id=first.version_id).data == b"one"
    assert objects.list_versions("content/blog/a.md.bak") == []


def test_listing_by_prefix_and_conditional_create(container: wiring.Container) -> None:
    objects = container.backend.objects
    for key in ("content/blog/b.md", "content/blog/a.md", "content/docs/c.md", "rendered/x"):
        objects.put(key, key.encode(), content_type=MD, if_none_match=True)
    objects.delete("content/docs/c.md")
    assert [o.key for o in objects.list_objects("content/")] == [
        "content/blog/a.md",
        "content/blog/b.md",
    ]
    with pytest.raises(ObjectNotFound):
        objects.get("content/blog/a.md", version_id="no-such-version")


@pytest.mark.parametrize("key", ["../x", "/abs", "a/../b", "a//b", "a\x00b", "a\nb"])
def test_keys_that_escape_are_refused(container: wiring.Container, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        container.backend.objects.put(key, b"x", content_type=MD)


# --- index --------------------------------------------------------------------------------


def test_staging_is_compare_and_set_on_the_source_etag(container: wiring.Container) -> None:
    index = container.backend.index
    draft = _record("a", stage="draft", html_key=None, render_status="pending")
    assert index.stage_entry(draft, expected_etag=None)
    assert not index.stage_entry(draft, expected_etag=None)  # a live row exists
    newer = _record("a", stage="draft", source_etag="etag-2")
    assert not index.stage_entry(newer, expected_etag="stale")
    assert index.stage_entry(newer, expected_etag="etag-a")
    got = index.get_entry("blog", "draft", "a")
    assert got is not None and got.source_etag == "etag-2" and got.render_status == "pending"
    assert index.stage_removal("blog", "draft", "a", expected_etag="etag-2")
    got = index.get_entry("blog", "draft", "a")
    assert got is not None and got.deleted
    assert index.list_entries(ManageQuery(collection="blog")) == []


def test_event_writes_apply_only_newer_sequencers(container: wiring.Container) -> None:
    index = container.backend.index
    assert index.apply_render(_record("a", sequencer="0B", title="B"))
    assert not index.apply_render(_record("a", sequencer="0A", title="A"))  # late
    assert not index.apply_render(_record("a", sequencer="0B", title="A"))  # duplicate
    assert index.apply_render(_record("a", sequencer="100", title="C"))  # longer, newer
    got = index.get_entry("blog", "published", "a")
    assert got is not None and got.title == "C"

    assert index.apply_failure(
        "blog", "published", "a", error="bad", source_etag="e", version_id="v", sequencer="101"
    )
    got = index.get_entry("blog", "published", "a")
    assert got is not None and got.render_status == "failed" and got.title == "C"
    assert got.html_key == "rendered/blog/a.html"  # the last good rendering is kept
    assert index.apply_render(_record("a", sequencer="101", title="D"))  # the redrive
    assert index.apply_render(_record("a", sequencer="102", deleted=True))
    got = index.get_entry("blog", "published", "a")
    assert got is not None and got.deleted
    page = index.list_published(PageQuery(collection="blog", now="2030-01-01T00:00:00Z"))
    assert page == []


def test_published_pages_in_every_order_with_tags(container: wiring.Container) -> None:
    index = container.backend.index
    for i, (title, day) in enumerate([("b", 3), ("A", 1), ("c", 2), ("a", 2), ("z", 9)]):
        tags = ["python"] if i % 2 == 0 else ["web"]
        index.apply_render(
            _record(
                f"s{i}",
                title=title,
                tags=tags,
                sequencer="1",
                published_at=f"2025-05-0{day}T00:00:00Z",
            )
        )
    now = "2025-05-05T00:00:00Z"  # s4 (day 9) is scheduled, not yet due

    def walk(**options: object) -> list[str]:
        slugs: list[str] = []
        after = None
        while True:
            page = index.list_published(
                PageQuery(collection="blog", now=now, limit=2, after=after, **options)
            )  # type: ignore[arg-type]
            slugs += [r.slug for r in page]
            if len(page) < 2:
                return slugs
            last = page[-1]
            value = sort_title(last.title) if options.get("sort") == "title" else last.published_at
            after = (value, last.slug)

    assert walk() == ["s0", "s3", "s2", "s1"]
    assert walk(sort="published_at") == ["s1", "s2", "s3", "s0"]
    assert walk(sort="title") == ["s1", "s3", "s0", "s2"]
    assert walk(tag="python") == ["s0", "s2"]
    assert walk(tag="python", sort="title") == ["s0", "s2"]


def _walk_titles(index: object, now: str) -> list[str]:
    slugs: list[str] = []
    after = None
    while True:
        page = index.list_published(  # type: ignore[attr-defined]
            PageQuery(collection="blog", now=now, limit=1, sort="title", after=after)
        )
        if not page:
            return slugs
        slugs.append(page[0].slug)
        assert len(slugs) < 10, "paging does not terminate"
        after = (sort_title(page[0].title), page[0].slug)


def test_awkward_titles_page_and_publish(container: wiring.Container) -> None:
    index = container.backend.index
    titles = {"tab": "A\ttab", "newline": "A\nline", "emoji": "\U0001f600" * 300, "plain": "B"}
    for slug, title in titles.items():
        assert index.apply_render(_record(slug, title=title, sequencer="1"))
    assert _walk_titles(index, "2030-01-01T00:00:00Z") == ["newline", "tab", "plain", "emoji"]


def test_replacing_every_tag_of_an_entry(container: wiring.Container) -> None:
    index = container.backend.index
    old = [f"old-{i}" for i in range(50)]
    new = [f"new-{i}" for i in range(50)]
    assert index.apply_render(_record("a", tags=old, sequencer="1"))
    assert index.apply_render(_record("a", tags=new, sequencer="2"))
    now = "2030-01-01T00:00:00Z"
    assert index.list_published(PageQuery(collection="blog", now=now, tag="old-7")) == []
    assert [
        r.slug for r in index.list_published(PageQuery(collection="blog", now=now, tag="new-49"))
    ] == ["a"]
    some = [*new[:10], "old-3"]  # some kept, most dropped, one back (tags come de-duplicated)
    assert index.apply_render(_record("a", tags=some, sequencer="3"))

    def tagged(tag: str) -> list[str]:
        return [r.slug for r in index.list_published(PageQuery("blog", now=now, tag=tag))]

    assert [tagged(t) for t in ("old-3", "new-5", "new-9", "new-10", "old-7")] == [
        ["a"],
        ["a"],
        ["a"],
        [],
        [],
    ]
    assert index.apply_render(_record("a", tags=new, sequencer="4", deleted=True))
    assert index.list_published(PageQuery(collection="blog", now=now, tag="new-1")) == []
    assert index.apply_render(_record("a", tags=["again"], sequencer="5"))
    assert [tagged(t) for t in ("again", "new-1", "old-3")] == [["a"], [], []]


def test_render_counts_are_per_stage_and_status_of_live_entries(
    container: wiring.Container,
) -> None:
    index = container.backend.index
    none = {"pending": 0, "rendered": 0, "failed": 0}
    assert index.count_renders("blog") == {"draft": none, "published": none}
    states = {"a": "pending", "b": "pending", "c": "rendered", "d": "failed", "e": "rendered"}
    for number, (slug, status) in enumerate(states.items()):
        index.apply_render(
            _record(slug, stage="draft", render_status=status, sequencer=f"0{number}")
        )
    index.apply_render(_record("c", sequencer="10"))
    index.apply_render(_record("x", collection="other", stage="draft", sequencer="11"))
    index.apply_render(tombstone(_record("e", stage="draft"), "12"))
    assert index.count_renders("blog") == {
        "draft": {"pending": 2, "rendered": 1, "failed": 1},
        "published": {**none, "rendered": 1},
    }


def test_collections_and_object_errors(container: wiring.Container) -> None:
    index = container.backend.index
    stamp = "2025-01-01T00:00:00Z"
    index.put_collection(Collection(name="blog", created_at=stamp, updated_at=stamp))
    index.put_collection(Collection(name="apps", created_at=stamp, updated_at=stamp))
    assert [c.name for c in index.list_collections()] == ["apps", "blog"]
    index.delete_collection("apps")
    assert index.get_collection("apps") is None
    index.record_object_error("content/x/y.md", "no collection", "0A")
    assert [e.key for e in index.list_object_errors()] == ["content/x/y.md"]
    assert len(index.list_object_errors(limit=1)) == 1
    index.apply_render(_record("y", collection="x", stage="draft", sequencer="0B"))
    assert index.list_object_errors() == []  # a good render clears the key's error
    index.clear()
    assert index.list_collections() == [] and index.get_entry("x", "draft", "y") is None


# --- configuration ------------------------------------------------------------------------


def test_config_store(container: wiring.Container) -> None:
    config = container.backend.config
    assert config.get("settings/site") is None
    config.put("settings/site", '{"title": "Site"}')
    config.put("keys/aaaa", "hash-a", secret=True)
    config.put("keys/bbbb", "hash-b", secret=True)
    assert config.get("settings/site") == '{"title": "Site"}'
    assert config.list("keys/") == {"keys/aaaa": "hash-a", "keys/bbbb": "hash-b"}
    config.delete("keys/aaaa")
    assert config.get("keys/aaaa") is None
    assert config.list("keys/") == {"keys/bbbb": "hash-b"}
    assert config.put_if_absent("secrets/signing", "first", secret=True) == "first"
    assert config.put_if_absent("secrets/signing", "second", secret=True) == "first"
    assert config.get("secrets/signing") == "first"
