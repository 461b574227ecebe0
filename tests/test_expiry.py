"""The end of publication, on both backends (a contract module): an entry whose front matter
sets ``expires_at`` (or Hugo's ``expiryDate`` / ``unpublishDate``, any case) is served from its
publication until that instant, then never again until an edit moves the end, like a page Hugo
no longer builds. Delivery, lists, feeds, the sitemap, the change feed and the editors' states
all agree. The clock of these tests starts at 2025-06-01T12:00:00Z."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.adapters.aws import clients
from tests.conftest import Api, FrozenClock, problem
from tests.test_sync import drain, sync

SITE = {"title": "Site", "base_url": "https://example.com"}
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
QUERIES = ("", "&sort=title", "&sort=published_at", "&tag=news")


def served(api: Api, path: str) -> int:
    return int(api.call("GET", path, auth=False).status_code)


def listed(api: Api, query: str = "") -> list[str]:
    slugs: list[str] = []
    cursor = ""
    while True:
        page = api.json("GET", f"/v1/content/blog?limit=2{query}{cursor}", auth=False)
        slugs += [item["slug"] for item in page["items"]]
        if not page["next_cursor"]:
            return slugs
        cursor = f"&cursor={page['next_cursor']}"


def state(api: Api, slug: str) -> dict[str, Any]:
    return api.json("GET", f"/v1/manage/content/blog/{slug}")["publication"]  # type: ignore[no-any-return]


def in_feeds(api: Api) -> tuple[list[str], list[str]]:
    """The entry titles of the collection's Atom feed, and the sitemap's URLs."""
    feed = ET.fromstring(api.call("GET", "/v1/feeds/blog.xml", auth=False).body)
    sitemap = ET.fromstring(api.call("GET", "/sitemap.xml", auth=False).body)
    titles = [e.findtext(f"{ATOM}title") or "" for e in feed.iter(f"{ATOM}entry")]
    return sorted(titles), sorted(u.text or "" for u in sitemap.iter(f"{SITEMAP}loc"))


def make(api: Api, slug: str, tags: tuple[str, ...] = ("news",), **front_matter: Any) -> None:
    api.entry(title=slug.title(), slug=slug, tags=list(tags), **front_matter)
    api.publish("blog", slug)


@pytest.fixture
def site(api: Api) -> Api:
    api.collection()
    api.json("PUT", "/v1/manage/settings", SITE)
    return api


def test_an_entry_is_served_until_its_end_then_nowhere(site: Api, clock: FrozenClock) -> None:
    api = site
    make(api, "offer", expiryDate="2025-06-01T14:00:00Z")
    make(api, "kept")
    body = api.json("GET", "/v1/content/blog/offer", auth=False)
    assert body["expires_at"] == "2025-06-01T14:00:00Z"
    assert state(api, "offer")["state"] == "published"
    assert state(api, "offer")["expires_at"] == "2025-06-01T14:00:00Z"
    for query in QUERIES:
        assert "offer" in listed(api, query), query
    _, cursor = drain(api, clock)

    clock.advance(hours=2)  # exactly the end: readers no longer see it
    assert served(api, "/v1/content/blog/offer") == 404
    assert served(api, "/v1/content/blog/kept") == 200
    for query in QUERIES:
        assert listed(api, query) == ["kept"], query
    assert state(api, "offer")["state"] == "expired"
    drafts = api.json("GET", "/v1/manage/content/blog?state=expired")["items"]
    assert [(d["slug"], d["expires_at"]) for d in drafts] == [("offer", "2025-06-01T14:00:00Z")]
    made = api.json("POST", "/v1/manage/keys", {"name": "p", "scopes": ["preview"]}, expect=201)
    preview = api.call(
        "GET",
        "/v1/content/blog/offer",
        headers={"Authorization": f"Bearer {made['key']}"},
        auth=False,
    )
    assert json.loads(preview.body)["state"] == "expired"
    items = sync(api, clock, cursor)["items"]
    assert [(i["type"], i["slug"]) for i in items] == [("delete", "offer")]
    assert items[0]["changed_at"].startswith("2025-06-01T14:00:00")


def test_feeds_and_the_sitemap_drop_an_expired_entry(site: Api, clock: FrozenClock) -> None:
    api = site
    make(api, "offer", expiryDate="2025-06-01T14:00:00Z")
    make(api, "kept")
    assert in_feeds(api) == (
        ["Kept", "Offer"],
        ["https://example.com/blog/kept/", "https://example.com/blog/offer/"],
    )
    clock.advance(hours=3)
    assert in_feeds(api) == (["Kept"], ["https://example.com/blog/kept/"])


@pytest.mark.parametrize(
    "front_matter",
    [
        {"expiryDate": "2025-06-01T14:00:00Z"},
        {"expirydate": "2025-06-01 16:00:00+02:00"},
        {"ExpiryDate": "2025-06-01"},  # a date: its midnight, UTC
        {"unpublishDate": "Sun, 01 Jun 2025 14:00:00 +0000"},
        {"expires_at": "2025-06-01T14:00:00Z", "expiryDate": "2030-01-01"},  # ours first
    ],
)
def test_every_spelling_sites_use(site: Api, front_matter: dict[str, Any]) -> None:
    api = site
    make(api, "offer", **front_matter)
    expected = "2025-06-01T00:00:00Z" if "ExpiryDate" in front_matter else "2025-06-01T14:00:00Z"
    assert state(api, "offer")["expires_at"] == expected


def test_an_end_already_past_or_before_publication_never_shows(
    site: Api, clock: FrozenClock
) -> None:
    api = site
    make(api, "kept")
    _, cursor = drain(api, clock)
    api.entry(title="Past", slug="past", expiryDate="2025-05-01")
    result = api.publish("blog", "past")
    assert result["state"] == "expired" and result["expires_at"] == "2025-05-01T00:00:00Z"
    api.entry(title="Never", slug="never", expiryDate="2025-06-02T00:00:00Z")
    result = api.publish("blog", "never", publish_at="2025-06-03T00:00:00Z")
    assert result["state"] == "scheduled"
    for _ in range(4):
        assert served(api, "/v1/content/blog/past") == 404
        assert served(api, "/v1/content/blog/never") == 404
        assert listed(api) == ["kept"]
        clock.advance(days=1)
    for since in (cursor, None):
        items, _ = drain(api, clock, since)
        assert not {"past", "never"} & {i["slug"] for i in items}, (since, items)


def test_a_scheduled_entry_with_an_end_comes_and_goes(site: Api, clock: FrozenClock) -> None:
    api = site
    api.entry(title="Sale", slug="sale", expires_at="2025-06-01T15:00:00Z")
    assert api.publish("blog", "sale", publish_at="2025-06-01T13:00:00Z")["state"] == "scheduled"
    items, cursor = drain(api, clock)
    assert items == []
    clock.advance(hours=1)
    assert served(api, "/v1/content/blog/sale") == 200
    came = sync(api, clock, cursor)
    assert [(i["type"], i["slug"]) for i in came["items"]] == [("upsert", "sale")]
    clock.advance(hours=2)
    assert served(api, "/v1/content/blog/sale") == 404
    went = sync(api, clock, came["next_cursor"])
    assert [(i["type"], i["slug"]) for i in went["items"]] == [("delete", "sale")]


def test_moving_the_end_later_brings_it_back(site: Api, clock: FrozenClock) -> None:
    api = site
    make(api, "offer", expiryDate="2025-06-01T13:00:00Z")
    clock.advance(hours=2)
    _, cursor = drain(api, clock)
    assert served(api, "/v1/content/blog/offer") == 404
    api.json("PATCH", "/v1/manage/content/blog/offer", {"front_matter": {"expiryDate": None}})
    assert served(api, "/v1/content/blog/offer") == 404  # the draft changed, not what is public
    assert api.publish("blog", "offer")["state"] == "published"
    assert served(api, "/v1/content/blog/offer") == 200
    assert state(api, "offer")["expires_at"] is None
    items = sync(api, clock, cursor)["items"]
    assert [(i["type"], i["slug"]) for i in items] == [("upsert", "offer")]


def test_moving_the_end_earlier_withdraws_it_now(site: Api, clock: FrozenClock) -> None:
    api = site
    make(api, "offer", expiryDate="2025-06-10")
    _, cursor = drain(api, clock)
    api.json(
        "PATCH", "/v1/manage/content/blog/offer", {"front_matter": {"expiryDate": "2025-06-01"}}
    )
    api.publish("blog", "offer")
    assert served(api, "/v1/content/blog/offer") == 404
    items = sync(api, clock, cursor)["items"]
    assert [(i["type"], i["slug"]) for i in items] == [("delete", "offer")]


def test_lists_page_past_many_expired_entries(site: Api, clock: FrozenClock) -> None:
    """Expired entries stay in the index's lists until their next write: a page must skip
    any run of them and still come back full, with cursors that continue."""
    api = site
    for index in range(3):
        make(api, f"live-{index}", published_at=f"2025-05-0{index + 1}T00:00:00Z")
    for index in range(25):
        make(api, f"gone-{index:02d}", expiryDate="2025-06-01T12:30:00Z")
    clock.advance(hours=1)
    for query in QUERIES:
        assert sorted(listed(api, query)) == ["live-0", "live-1", "live-2"], query
    first = api.json("GET", "/v1/content/blog?limit=2", auth=False)
    assert [i["slug"] for i in first["items"]] == ["live-2", "live-1"]


def test_a_bad_end_is_refused_in_our_field_and_ignored_in_hugo_s(site: Api) -> None:
    """``expires_at`` is the CMS's own field, validated like ``published_at``; Hugo's keys
    are read leniently, like its dates, since a site's files are taken as they are."""
    api = site
    response = api.call(
        "POST",
        "/v1/manage/content/blog",
        {"front_matter": {"title": "X", "expires_at": "next week"}, "body": "x"},
    )
    assert response.status_code == 422
    assert "expires_at" in json.dumps(problem(response))
    make(api, "lenient", expiryDate="some day")
    assert state(api, "lenient") == {**state(api, "lenient"), "state": "published"}
    assert state(api, "lenient")["expires_at"] is None


def test_export_keeps_the_field_as_written(site: Api) -> None:
    api = site
    api.entry(title="Offer", slug="offer", expiryDate="2025-06-10")
    source = api.call("GET", "/v1/manage/content/blog/offer/source").body
    text = source.decode() if isinstance(source, bytes) else source
    assert "expiryDate: '2025-06-10'" in text or "expiryDate: 2025-06-10" in text


def test_the_end_survives_a_rebuild_of_the_index(site: Api, clock: FrozenClock) -> None:
    api = site
    make(api, "offer", expiryDate="2025-06-01T14:00:00Z")
    api.json("POST", "/v1/manage/reindex", {})
    assert state(api, "offer")["expires_at"] == "2025-06-01T14:00:00Z"
    clock.advance(hours=2)
    assert served(api, "/v1/content/blog/offer") == 404
    assert listed(api) == []


def test_a_window_nobody_looked_at_is_in_the_feed_in_order(site: Api, clock: FrozenClock) -> None:
    """Due in 38 minutes, ending in 111: a client that syncs only after both has the upsert
    then the delete, and ends without it, as delivery does."""
    api = site
    _, cursor = drain(api, clock)
    api.entry(title="Flash", slug="flash", expiryDate="2025-06-01T13:51:00Z")
    api.publish("blog", "flash", publish_at="2025-06-01T12:38:00Z")
    clock.advance(minutes=150)
    items, _ = drain(api, clock, cursor)
    assert [(i["type"], i["slug"]) for i in items] == [("upsert", "flash"), ("delete", "flash")]
    assert [i["changed_at"][:19] for i in items] == ["2025-06-01T12:38:00", "2025-06-01T13:51:00"]
    assert listed(api) == []


def test_on_dynamodb_a_run_of_expired_entries_costs_a_few_queries(
    site: Api, clock: FrozenClock, container: wiring.Container
) -> None:
    """Each Query after a short page reads twice as many items: 60 expired entries in front
    of the live ones cost a handful of Queries, not one per three items."""
    if container.backend_name == "local":
        pytest.skip("DynamoDB's Limit counts items before its filter; SQLite filters in the query")
    api = site
    make(api, "live", published_at="2025-05-01T00:00:00Z")
    for index in range(60):
        make(api, f"gone-{index:02d}", expiryDate="2025-06-01T12:30:00Z")
    clock.advance(hours=1)
    ddb = clients.client("dynamodb")
    queries = []
    hook = lambda **kwargs: queries.append(kwargs)  # noqa: E731
    ddb.meta.events.register("before-call.dynamodb.Query", hook)
    try:
        page = api.json("GET", "/v1/content/blog?limit=2", auth=False)
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.Query", hook)
    assert [i["slug"] for i in page["items"]] == ["live"]
    assert len(queries) <= 6, len(queries)  # 3, 6, 12, 24, 48 items: the run and past it
    api.json("POST", "/v1/manage/reindex", {})  # written past their end: left out of the lists
    queries.clear()
    ddb.meta.events.register("before-call.dynamodb.Query", hook)
    try:
        page = api.json("GET", "/v1/content/blog?limit=2", auth=False)
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.Query", hook)
    assert [i["slug"] for i in page["items"]] == ["live"] and len(queries) == 1


@pytest.mark.parametrize(
    ("spec", "value", "end"),
    [
        ({"type": "string"}, "soon", None),
        ({"type": "number"}, 5, "1970-01-01T00:00:05Z"),  # Unix seconds, as Hugo reads them
        ({"type": "datetime"}, "2025-06-01T14:00:00Z", "2025-06-01T14:00:00Z"),
    ],
)
def test_a_collection_field_of_its_own_named_expires_at(
    api: Api, clock: FrozenClock, spec: dict[str, Any], value: Any, end: str | None
) -> None:
    """A collection made before the end of publication may define 'expires_at' itself: its
    value is read leniently, never a crash."""
    api.collection(fields={"expires_at": spec})
    api.entry(title="Own", slug="own", expires_at=value)
    published = api.publish("blog", "own")
    assert published["expires_at"] == end
    assert published["state"] == ("expired" if end and end < "2025-06-01T12" else "published")
    assert state(api, "own")["expires_at"] == end
    expected = 404 if published["state"] == "expired" else 200
    assert served(api, "/v1/content/blog/own") == expected
