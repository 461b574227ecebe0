"""Atom feeds, the sitemap and site settings, on both backends (a contract module)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from xml.etree import ElementTree as ET

from tests.conftest import Api, FrozenClock, problem

A = "{http://www.w3.org/2005/Atom}"
S = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SITE = {"title": "Field Notes", "base_url": "https://notes.example.com/", "author": "Ada"}


def rfc3339(text: str | None) -> dt.datetime:
    assert text, "a date is required"
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_atom(xml: bytes) -> ET.Element:
    """The elements RFC 4287 requires, where it requires them."""
    feed = ET.fromstring(xml)
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert feed.find(f"{A}{name}") is not None, name
    rfc3339(feed.findtext(f"{A}updated"))
    assert feed.find(f"{A}author/{A}name") is not None
    assert feed.find(f"{A}link[@rel='self']") is not None
    ids = []
    for entry in feed.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert entry.findtext(f"{A}{name}"), name
        rfc3339(entry.findtext(f"{A}updated"))
        rfc3339(entry.findtext(f"{A}published"))
        assert entry.find(f"{A}link[@rel='alternate']") is not None
        ids.append(entry.findtext(f"{A}id"))
    assert len(ids) == len(set(ids))
    return feed


def setup(api: Api, clock: FrozenClock, count: int = 3) -> None:
    api.json("PUT", "/v1/manage/settings", SITE)
    api.collection()
    for index in range(count):
        api.entry(title=f"Post {index}", slug=f"post-{index}", tags=["x"], body=f"Body **{index}**")
        api.publish("blog", f"post-{index}")
        clock.advance(minutes=1)


def test_settings_round_trip_and_validation(api: Api) -> None:
    assert api.json("GET", "/v1/manage/settings")["base_url"] is None
    saved = api.json("PUT", "/v1/manage/settings", SITE)
    assert saved["base_url"] == "https://notes.example.com"  # no trailing slash
    assert api.json("GET", "/v1/manage/settings") == saved
    for bad in (
        {"base_url": "ftp://x"},
        {"base_url": "https://user:pw@x.com"},
        {"entry_url": "{base_url}/{nope}"},
        {"feed_size": 0},
        {"language": "not a language"},
        {"colour": "red"},
        {"webhooks": []},
    ):
        response = api.call("PUT", "/v1/manage/settings", bad)
        assert response.status_code == 422, bad
        problem(response)
    assert api.call("GET", "/v1/manage/settings", auth=False).status_code == 401


def test_an_atom_feed_of_published_due_entries(api: Api, clock: FrozenClock) -> None:
    setup(api, clock)
    api.entry(title="Draft", slug="draft")
    api.entry(title="Later", slug="later")
    api.publish("blog", "later", publish_at="2099-01-01T00:00:00Z")
    response = api.call("GET", "/v1/feeds/blog.xml", auth=False)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    feed = check_atom(response.body)
    entries = feed.findall(f"{A}entry")
    assert [e.findtext(f"{A}title") for e in entries] == ["Post 2", "Post 1", "Post 0"]
    first = entries[0]
    assert first.findtext(f"{A}id") == "https://notes.example.com/blog/post-2/"
    assert "<strong>2</strong>" in (first.findtext(f"{A}content") or "")
    assert first.find(f"{A}category").get("term") == "x"  # type: ignore[union-attr]
    assert feed.findtext(f"{A}author/{A}name") == "Ada"


def test_feeds_and_sitemap_revalidate_with_etags(api: Api, clock: FrozenClock) -> None:
    setup(api, clock, 1)
    for path in ("/v1/feeds/blog.xml", "/sitemap.xml"):
        first = api.call("GET", path, auth=False)
        etag = first.headers["ETag"]
        again = api.call("GET", path, headers={"If-None-Match": etag}, auth=False)
        assert again.status_code == 304, path
    api.entry(title="New", slug="new")
    api.publish("blog", "new")
    for path in ("/v1/feeds/blog.xml", "/sitemap.xml"):
        changed = api.call("GET", path, headers={"If-None-Match": etag}, auth=False)
        assert changed.status_code == 200, path


def test_the_sitemap_lists_every_entry_past_any_page_size(api: Api, clock: FrozenClock) -> None:
    setup(api, clock, 0)
    api.collection("notes")
    for index in range(105):
        api.entry("notes", title=f"Note {index}", slug=f"note-{index:03d}")
        api.publish("notes", f"note-{index:03d}")
    api.entry(title="Blog post", slug="blog-post")
    api.publish("blog", "blog-post")
    api.entry(title="Unpublished", slug="unpublished")
    response = api.call("GET", "/sitemap.xml", auth=False)
    assert response.headers["Content-Type"].startswith("application/xml")
    urlset = ET.fromstring(response.body)
    locations = [u.findtext(f"{S}loc") for u in urlset.findall(f"{S}url")]
    assert len(locations) == 106
    assert "https://notes.example.com/blog/blog-post/" in locations
    assert "https://notes.example.com/notes/note-104/" in locations
    assert not any("unpublished" in (loc or "") for loc in locations)
    for url in urlset.findall(f"{S}url"):
        rfc3339(url.findtext(f"{S}lastmod"))


def test_feed_size_pages_past_the_api_page_size(api: Api, clock: FrozenClock) -> None:
    setup(api, clock, 0)
    api.json("PUT", "/v1/manage/settings", {**SITE, "feed_size": 120})
    for index in range(110):
        api.entry(title=f"P{index}", slug=f"p-{index:03d}")
        api.publish("blog", f"p-{index:03d}")
        clock.advance(seconds=1)
    feed = check_atom(api.call("GET", "/v1/feeds/blog.xml", auth=False).body)
    assert len(feed.findall(f"{A}entry")) == 110


def test_feed_and_sitemap_problems(api: Api, clock: FrozenClock) -> None:
    api.collection()
    no_base = api.call("GET", "/sitemap.xml", auth=False)
    assert no_base.status_code == 409
    assert "base_url" in problem(no_base)["detail"]
    api.json("PUT", "/v1/manage/settings", SITE)
    cases: dict[str, int] = {
        "/v1/feeds/blog.rss": 404,
        "/v1/feeds/blog": 404,
        "/v1/feeds/nope.xml": 404,
        "/v1/feeds/..%2Fx.xml": 422,
        "/v1/feeds/BAD.xml": 422,
    }
    for path, status in cases.items():
        response = api.call("GET", path, auth=False)
        assert response.status_code in (status, 404), (path, response.status_code)
        problem(response)


def test_feed_xml_escapes_hostile_titles(api: Api, clock: FrozenClock) -> None:
    setup(api, clock, 0)
    nasty: Any = "<script>alert('x')</script> & ]]>"
    api.entry(title=nasty, slug="nasty", tags=["<b>"])
    api.publish("blog", "nasty")
    feed = check_atom(api.call("GET", "/v1/feeds/blog.xml", auth=False).body)
    assert feed.findtext(f"{A}entry/{A}title") == nasty
