"""Page resources without I/O: their ids and paths, their metadata, and relative images in
delivered HTML (which src values count, the file each one names, the markup they become).
The API of resources is in the contract module tests/test_media_api.py."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain import media as m
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.media_html import relative_images, resolve, resource_path
from chalicelib.services import media, thumbnails
from chalicelib.services.collections import put_collection
from tests import media_files as files

KEY = bytes(range(32))  # a site's key (the server keeps its own in the config store)

# --- identity --------------------------------------------------------------------------------


def test_resource_ids_are_deterministic_valid_and_unlike_upload_ids() -> None:
    rid = m.resource_id("blog", "posts/hello/diagram.png", KEY)
    assert rid == m.resource_id("blog", "posts/hello/diagram.png", KEY)
    assert rid.startswith("r-") and len(rid) == 28
    assert m.MEDIA_ID_RE.fullmatch(rid) and m.is_resource_id(rid)
    assert m.validate_media_id(rid) == rid
    upload = m.new_media_id()
    assert not m.is_resource_id(upload) and "-" not in upload
    others = {
        m.resource_id("docs", "posts/hello/diagram.png", KEY),
        m.resource_id("blog", "posts/hello/Diagram.png", KEY),
        m.resource_id("blog", "posts/diagram.png", KEY),
        m.resource_id("blo", "gposts/hello/diagram.png", KEY),
    }
    assert rid not in others and len(others) == 4


def test_a_resource_id_does_not_depend_on_the_unicode_form_of_the_name() -> None:
    nfc = "posts/café.png"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    assert m.resource_id("blog", nfc, KEY) == m.resource_id("blog", nfd, KEY)


@pytest.mark.parametrize(
    "path",
    [
        "diagram.png",
        "posts/hello/diagram.png",
        "posts/hello world/Ünïcödé 图.png",
        "a/b/c/d/e/f/g/h/i/j/k/l.jpg",
        "file.with.dots.png",
        "name-with-trailing-dot.",
        "x" * 600,
        "é" * 300,  # 600 bytes of UTF-8
    ],
)
def test_good_resource_paths(path: str) -> None:
    assert m.validate_resource_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/abs/x.png",
        "../x.png",
        "a/../x.png",
        "a/./x.png",
        "./x.png",
        "a//x.png",
        "a/",
        ".hidden.png",
        "a/.git/config",
        "a\\b.png",
        "a\x00b.png",
        "a\nb.png",
        "a\x7fb.png",
        "a\x85b.png",
        "x" * 601,
        "é" * 301,
        "a\ud800.png",
        None,
        3,
    ],
)
def test_bad_resource_paths(path: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        m.validate_resource_path(path)
    assert caught.value.errors[0].field == "path"


# --- metadata --------------------------------------------------------------------------------


def test_resource_metadata_round_trips_through_meta_json() -> None:
    rid = m.resource_id("blog", "posts/a.png", KEY)
    meta = m.MediaMeta(id=rid, filename="a.png", alt="A", collection="blog", path="posts/a.png")
    data = json.loads(json.dumps(meta.to_dict()))
    assert data["collection"] == "blog" and data["path"] == "posts/a.png"
    assert m.MediaMeta.from_dict(rid, data) == meta
    record = m.MediaRecord(meta=meta)
    assert m.MediaRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_ordinary_metadata_keeps_its_old_shape() -> None:
    meta = m.MediaMeta(id="a1", filename="a.jpg")
    assert "collection" not in meta.to_dict() and "path" not in meta.to_dict()
    old = {"id": "a1", "filename": "a.jpg", "alt": "x", "tags": [], "created_at": "2025"}
    loaded = m.MediaMeta.from_dict("a1", old)
    assert loaded.collection is None and loaded.path is None and not loaded.is_resource
    old_row = {"meta": {k: v for k, v in m.MediaRecord(meta=meta).to_dict()["meta"].items()}}
    del old_row["meta"]["collection"], old_row["meta"]["path"]
    old_row["derived"] = {"status": "ready", "source_etag": "e"}
    assert m.MediaRecord.from_dict(old_row).meta == meta


@pytest.mark.parametrize(
    "fields",
    [
        {"collection": "blog"},
        {"path": "a.png"},
        {"collection": "blog", "path": "../a.png"},
        {"collection": "Bad Name", "path": "a.png"},
    ],
)
def test_stored_resource_fields_are_checked(fields: dict[str, str]) -> None:
    rid = m.resource_id("blog", "a.png", KEY)
    with pytest.raises(ValidationFailed):
        m.MediaMeta.from_dict(rid, {"filename": "a.png", **fields})


def test_an_upload_id_is_never_a_resource_and_ids_need_the_key() -> None:
    with pytest.raises(ValidationFailed):
        m.MediaMeta.from_dict(m.new_media_id(), {"filename": "a.png", "collection": "blog",
                                                 "path": "a.png"})  # fmt: skip
    assert m.resource_id("blog", "a.png", KEY) != m.resource_id("blog", "a.png", b"other")


def test_an_api_replacement_is_marked_processing_only_over_the_original_it_replaced() -> None:
    meta = m.MediaMeta(id="a1", filename="a.jpg")
    ready = m.MediaRecord(
        meta=meta, derived=m.MediaDerived(status="ready", source_etag="old"), original_sequencer="5"
    )
    mark = m.MediaDerived(status="processing", source_etag=None, replaces="old")
    merged = m.merge_derived(ready, "a1", mark, None)
    assert merged is not None and merged.status == "processing"
    assert merged.derived.replaces is None and merged.original_sequencer == ready.original_sequencer
    # the new original (or a newer one) was derived already: the mark would hide it
    newer = m.MediaRecord(
        meta=meta, derived=m.MediaDerived(status="ready", source_etag="new"), original_sequencer="6"
    )
    assert m.merge_derived(newer, "a1", mark, None) is None
    # without ``replaces`` the old rule holds: never over what an event derived
    plain = m.MediaDerived(status="processing")
    assert m.merge_derived(ready, "a1", plain, None) is None
    assert "replaces" not in m.MediaDerived(status="ready").to_dict()


# --- relative images ---------------------------------------------------------------------------


def test_relative_images_are_the_relative_srcs_in_order_once_each() -> None:
    html = (
        '<p><img alt="a" src="diagram.png"> <img src="media:abc" alt="m">'
        '<img src="https://example.com/x.png"><img src="//cdn.example.com/y.png">'
        '<img src="/static/z.png"><img src="#frag"><img src="?q=1"><img src="data:image/png,x">'
        '<img src="images/b.png"><img src="diagram.png"><img src="../shared/c.png">'
        '<img src="a&amp;b.png"><img src="  ./d.png "><img alt="no src"><img src="">'
        '<img src="JavaScript:alert(1)"><img data-src="e.png"></p>'
    )
    assert relative_images(html) == [
        "diagram.png",
        "images/b.png",
        "../shared/c.png",
        "a&b.png",
        "./d.png",
    ]
    assert relative_images("<p>no images</p>") == []
    assert relative_images('<img src="' + "a" * 5000 + '.png">') == []


@pytest.mark.parametrize(
    ("entry_file", "src", "expected"),
    [
        ("posts/hello/index.md", "diagram.png", "posts/hello/diagram.png"),
        ("posts/hello/index.md", "images/diagram.png", "posts/hello/images/diagram.png"),
        ("posts/hello/index.md", "./x.png", "posts/hello/x.png"),
        ("posts/hello/index.md", "../shared/x.png", "posts/shared/x.png"),
        ("posts/hello/index.md", "../../x.png", "x.png"),
        ("posts/hello.md", "diagram.png", "posts/diagram.png"),
        ("index.md", "diagram.png", "diagram.png"),
        ("posts/hello/index.md", "my%20file.png", "posts/hello/my file.png"),
        ("posts/hello/index.md", "caf%C3%A9.png", "posts/hello/café.png"),
        ("posts/hello/index.md", "café ü.png", "posts/hello/café ü.png"),
        ("posts/hello/index.md", "x.png?v=2#top", "posts/hello/x.png"),
        ("posts/hello/index.md", "x.png#a?b", "posts/hello/x.png"),
        ("posts/hello/index.md", "  x.png\n", "posts/hello/x.png"),
        ("posts/hello/index.md", "%2e%2e/x.png", "posts/x.png"),
        # escapes and nonsense
        ("posts/hello/index.md", "../../../x.png", None),
        ("posts/hello/index.md", "%2e%2e/%2e%2e/%2E%2E/x.png", None),
        ("index.md", "../x.png", None),
        ("posts/hello/index.md", "..%2f..%2f..%2fx.png", None),
        ("posts/hello/index.md", "/etc/passwd", None),
        ("posts/hello/index.md", "%2Fetc/passwd", None),
        ("posts/hello/index.md", "//evil.example.com/x.png", None),
        ("posts/hello/index.md", "https://example.com/x.png", None),
        ("posts/hello/index.md", "javascript:alert(1)", None),
        ("posts/hello/index.md", "media:abc", None),
        ("posts/hello/index.md", "#frag", None),
        ("posts/hello/index.md", "", None),
        ("posts/hello/index.md", "..\\..\\x.png", None),
        ("posts/hello/index.md", "a%5Cb.png", None),
        ("posts/hello/index.md", "x%00.png", None),
        ("posts/hello/index.md", "x%0a.png", None),
        ("posts/hello/index.md", "%ff%fe.png", None),
        ("posts/hello/index.md", ".hidden.png", None),
        ("posts/hello/index.md", "a//b.png", None),
        ("posts/hello/index.md", "images/", None),
        ("posts/hello/index.md", "x" * 700 + ".png", None),
        ("posts/hello/index.md", 'x".png', 'posts/hello/x".png'),
    ],
)
def test_resource_path(entry_file: str, src: str, expected: str | None) -> None:
    assert resource_path(entry_file, src) == expected


# --- resolving ---------------------------------------------------------------------------------


def _record(
    media_id: str, *, status: m.MediaStatus = "ready", kind: m.MediaKind = "image", alt: str = ""
) -> m.MediaRecord:
    variants = [
        m.Variant(320, 180, "webp", 100),
        m.Variant(320, 180, "jpg", 120),
        m.Variant(1600, 900, "webp", 1000),
        m.Variant(1600, 900, "jpg", 1200),
    ]
    derived = m.MediaDerived(
        status=status,
        kind=kind,
        width=1600,
        height=900,
        variants=variants if status == "ready" and kind == "image" else [],
    )
    return m.MediaRecord(meta=m.MediaMeta(id=media_id, filename="x.jpg", alt=alt), derived=derived)


def url_for(record: m.MediaRecord, name: str) -> str:
    return f"https://cms.example.com/v1/media/{record.id}/files/{name}"


RID = m.resource_id("blog", "posts/hello/diagram.png", KEY)


def test_a_relative_image_of_a_ready_resource_becomes_a_picture() -> None:
    html = '<p><img alt="A &quot;chart&quot;" src="diagram.png" title="T"></p>'
    resolved = resolve(html, {RID: _record(RID)}, url_for, {"diagram.png": RID})
    assert resolved.startswith('<p><picture><source type="image/webp"')
    assert f"https://cms.example.com/v1/media/{RID}/files/320.webp 320w" in resolved
    assert 'alt="A &quot;chart&quot;" title="T"' in resolved
    assert 'width="1600" height="900"' in resolved and 'loading="lazy"' in resolved
    assert "diagram.png" not in resolved
    # the same markup as a media: reference to the same asset
    by_id = resolve(
        f'<p><img alt="A &quot;chart&quot;" src="media:{RID}" title="T"></p>',
        {RID: _record(RID)},
        url_for,
    )
    assert resolved == by_id


def test_a_relative_image_takes_the_assets_alt_when_it_has_none() -> None:
    resolved = resolve(
        '<img alt="" src="diagram.png">',
        {RID: _record(RID, alt='Say "hi" <b>')},
        url_for,
        {"diagram.png": RID},
    )
    assert 'alt="Say &quot;hi&quot; &lt;b&gt;"' in resolved


@pytest.mark.parametrize(
    ("records", "resources"),
    [
        ({}, {"diagram.png": RID}),  # not uploaded (a file the site serves itself)
        ({RID: _record(RID, status="processing")}, {"diagram.png": RID}),
        ({RID: _record(RID, status="failed")}, {"diagram.png": RID}),
        ({RID: _record(RID, kind="file")}, {"diagram.png": RID}),
        ({RID: _record(RID)}, {}),  # delivery did not ask for it
        ({RID: _record(RID)}, {"other.png": RID}),
    ],
)
def test_an_unresolved_relative_image_is_left_exactly_as_it_was(
    records: dict[str, m.MediaRecord], resources: dict[str, str]
) -> None:
    html = '<p>Before <img alt="x" src="diagram.png" title="t" width="10"> after</p>'
    assert resolve(html, records, url_for, resources) == html


def test_relative_and_media_references_resolve_together() -> None:
    other = "01hzzzzzzzzzzzzzzzzzzzzzzz"
    html = (
        f'<img src="media:{other}" alt="m"><img src="a&amp;b.png" alt="r">'
        '<img src="missing.png" alt="s"><a href="media:nope">l</a><img src="media:gone" alt="g">'
    )
    records = {other: _record(other), RID: _record(RID)}
    resolved = resolve(html, records, url_for, {"a&b.png": RID, "missing.png": "r-nothere"})
    assert resolved.count("<picture>") == 2
    assert '<img src="missing.png" alt="s">' in resolved
    assert 'class="cms-media-missing" data-media-id="nope"' in resolved
    assert "[missing image media:gone: g]" in resolved


def test_without_resources_resolving_is_as_before() -> None:
    html = '<p><img alt="x" src="diagram.png"></p>'
    assert resolve(html, {}, url_for) == html
    assert resolve(html, {}, url_for, {}) == html
    assert resolve(html, {}, url_for, None) is html


def test_hostile_values_stay_escaped() -> None:
    evil = 'x" onerror="alert(1)'
    rid = m.resource_id("blog", evil, KEY)
    record = _record(rid, alt='"><script>alert(1)</script>')

    def hostile_url(record: m.MediaRecord, name: str) -> str:
        return f'https://cdn.example.com/"><script>/{name}'

    html = '<img alt="" src="x&quot; onerror=&quot;alert(1)">'
    assert relative_images(html) == [evil]
    resolved = resolve(html, {rid: record}, hostile_url, {evil: rid})
    assert "<script>" not in resolved and "onerror" not in resolved
    assert "&lt;script&gt;" in resolved and "&quot;&gt;" in resolved
    from chalicelib.domain.rendering import sanitize_html

    assert sanitize_html(resolved) == resolved  # nothing the sanitizer would change


def test_a_quoted_or_hostile_src_left_unresolved_is_left_byte_for_byte() -> None:
    html = (
        '<img src="x&quot; onerror=&quot;alert(1)" alt="q">'
        '<img src="%2e%2e/%2e%2e/%2e%2e/etc/passwd" alt="e">'
        f'<img src="{"a/" * 2000}x.png" alt="long">'
    )
    srcs = relative_images(html)
    assert [resource_path("posts/a/index.md", src) for src in srcs] == [
        'posts/a/x" onerror="alert(1)',
        None,
    ]
    assert resolve(html, {}, url_for, {src: RID for src in srcs}) == html


def test_markdown_relative_images_survive_rendering_and_resolve() -> None:
    import markdown

    from chalicelib.domain.rendering import sanitize_html

    body = '![A chart](diagram.png "T") and ![](images/a%20b.png) and ![x](https://e.com/x.png)'
    html = sanitize_html(markdown.markdown(body))
    srcs = relative_images(html)
    assert srcs == ["diagram.png", "images/a%20b.png"]
    paths = {src: resource_path("posts/hello/index.md", src) for src in srcs}
    assert paths == {
        "diagram.png": "posts/hello/diagram.png",
        "images/a%20b.png": "posts/hello/images/a b.png",
    }
    ids = {src: m.resource_id("blog", path, KEY) for src, path in paths.items() if path}
    records = {i: _record(i) for i in ids.values()}
    resolved = resolve(html, records, url_for, ids)
    assert resolved.count("<picture>") == 2 and "https://e.com/x.png" in resolved
    assert sanitize_html(resolved) == resolved


# --- the services, on the local backend (events delivered when the test says so) ---------------


def _put(container: wiring.Container, data: bytes, path: str = "posts/a.jpg", **edits: Any) -> Any:
    return media.upload_resource(
        container.backend,
        container.limits.media,
        data,
        collection="blog",
        path=path,
        content_type=None,
        filename=None,
        edits=edits,
    )


@pytest.fixture
def blog(local_container: wiring.Container) -> wiring.Container:
    put_collection(local_container.backend, "blog", {"title": "Blog"})
    return local_container


def test_a_replaced_original_shows_processing_until_its_event(blog: wiring.Container) -> None:
    first, second = files.jpeg(1500, 1000), files.jpeg(500, 400)
    created = _put(blog, first, alt="Kept")
    assert created.outcome == "created" and created.record.status == "processing"
    blog.process_events()
    assert media.require(blog.backend, created.record.id).derived.width == 1500
    assert _put(blog, first).outcome == "unchanged"
    replaced = _put(blog, second)
    assert replaced.outcome == "replaced"
    assert replaced.record.status == "processing" and replaced.record.meta.alt == "Kept"
    assert replaced.record.derived.sha256 == hashlib.sha256(second).hexdigest()
    blog.process_events()
    row = media.require(blog.backend, created.record.id)
    assert (row.status, row.derived.width, row.meta.alt) == ("ready", 500, "Kept")
    assert row.derived.replaces is None


def test_an_older_handler_never_removes_the_variants_of_a_newer_original(
    blog: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler of a large original finds it replaced by a small one just as it removes
    the widths the small one lacks: it looks again, and makes the small one's variants."""
    big, small = files.jpeg(2000, 1200), files.jpeg(600, 400)
    rid = _put(blog, big).record.id
    blog.process_events()
    original_remove = thumbnails._remove_stale_variants
    swapped: list[bool] = []

    def remove_then_swap(backend: Any, media_id: str, derived: m.MediaDerived) -> bool:
        if not swapped:  # the small original lands right now, and its handler runs first
            swapped.append(True)
            _put(blog, small)
            blog.process_events()
            assert media.require(backend, media_id).derived.width == 600
        return original_remove(backend, media_id, derived)

    monkeypatch.setattr(thumbnails, "_remove_stale_variants", remove_then_swap)
    thumbnails.process_original(blog.backend, blog.limits.media, rid, "ffffffffffffffff")
    row = media.require(blog.backend, rid)
    assert (row.status, row.derived.width) == ("ready", 600)
    names = {i.key.rsplit("/", 1)[-1] for i in blog.backend.objects.list_objects(f"media/{rid}/")}
    assert {v.name for v in row.derived.variants} <= names
    assert not names & {"1280.jpg", "1920.webp", "2000.jpg"}
