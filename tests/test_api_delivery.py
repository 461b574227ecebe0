"""The public delivery API over HTTP: listing (sort, tag, limit, cursors), single entries
(fields, strong ETag, 304), what readers must never see, uniform 404s, sanitized HTML, health.

A realistic data set is seeded through the services (fast) and read through HTTP only."""

from __future__ import annotations

import json
import re
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import pytest

from chalicelib.services import collections as collection_service
from chalicelib.services import entries as entry_service
from chalicelib.services import publishing
from tests.conftest import problem

DELIVER = "/v1/content"
SORTS = ("-published_at", "published_at", "title")

# Titles chosen to stress title order: case differences, exact duplicates, casefold ties,
# digits, non-ASCII letters. Several entries share the same published_at (ties on slug).
TITLE_WORDS = [
    "apple",
    "Banana",
    "cherry",
    "Same title",
    "same Title",
    "Same title",
    "Éclair",
    "zebra",
    "10 things",
    "2 ways",
    "Mango",
    "mango",
]
TAG_CYCLE = [["Python"], ["PYTHON", "Web"], ["python", "Data Science"], ["web"], []]


@dataclass
class Seeded:
    """What was seeded, and what delivery must show."""

    visible: list[dict[str, Any]] = field(default_factory=list)  # published and due, in blog
    hidden: dict[str, str] = field(default_factory=dict)  # slug -> why readers cannot see it

    def expected(self, sort: str, tag: str | None = None) -> list[str]:
        rows = [
            r for r in self.visible if tag is None or tag.lower() in [t.lower() for t in r["tags"]]
        ]
        if sort == "title":
            rows.sort(key=lambda r: (r["title"].casefold(), r["slug"]))
        else:
            rows.sort(key=lambda r: (r["published_at"], r["slug"]), reverse=sort.startswith("-"))
        return [r["slug"] for r in rows]


def _create(container: Any, collection: str, slug: str, title: str, **extra: Any) -> None:
    body = extra.pop("body", f"# {title}\n\nThe text of {slug}, long enough for an excerpt.")
    fm = {"title": title, "slug": slug, **extra}
    entry_service.create_entry(container.backend, container.limits, collection, fm, body)


@pytest.fixture
def seeded(container: Any, clock: Any) -> Seeded:
    backend = container.backend
    collection_service.put_collection(backend, "blog", {"title": "Blog"})
    collection_service.put_collection(backend, "news", {"title": "News"})
    data = Seeded()
    for i in range(42):
        slug = f"post-{i:02d}"
        title = f"{TITLE_WORDS[i % len(TITLE_WORDS)]}" + ("" if i % 5 == 0 else f" {i}")
        tags = TAG_CYCLE[i % len(TAG_CYCLE)]
        # groups of three share one instant: ordering must fall back to the slug
        published_at = f"2025-05-{1 + i // 3:02d}T08:00:00Z"
        _create(container, "blog", slug, title, tags=tags, rating=i % 5, series="Seeded")
        publishing.publish(backend, "blog", slug, publish_at=published_at)
        data.visible.append(
            {"slug": slug, "title": title, "tags": tags, "published_at": published_at}
        )

    # things readers must never see, all tagged so tag queries would reveal them too
    _create(container, "blog", "draft-only", "Aaa draft", tags=["python"])
    data.hidden["draft-only"] = "never published"
    _create(container, "blog", "was-public", "Aaa unpublished", tags=["python"])
    publishing.publish(backend, "blog", "was-public", publish_at="2025-05-30T00:00:00Z")
    publishing.unpublish(backend, "blog", "was-public")
    data.hidden["was-public"] = "unpublished"
    _create(container, "blog", "coming-later", "Aaa scheduled", tags=["python"])
    publishing.publish(backend, "blog", "coming-later", publish_at="2025-07-01T00:00:00Z")
    data.hidden["coming-later"] = "scheduled in the future"
    _create(container, "blog", "deleted-one", "Aaa deleted", tags=["python"])
    publishing.publish(backend, "blog", "deleted-one", publish_at="2025-05-30T00:00:00Z")
    entry_service.delete_entry(backend, "blog", "deleted-one", if_match=None)
    data.hidden["deleted-one"] = "deleted"
    # another collection, published and due, with a slug that is only a draft in blog
    for slug in ("draft-only", "news-1", "news-2"):
        _create(container, "news", slug, f"Aaa news {slug}", tags=["python"])
        publishing.publish(backend, "news", slug, publish_at="2025-05-31T00:00:00Z")
    container.process_events()
    return data


@pytest.fixture
def small(container: Any, clock: Any) -> None:
    """Just enough to get cursors: three published entries in blog, two in news."""
    for name in ("blog", "news"):
        collection_service.put_collection(container.backend, name, {"title": name})
    for collection, slugs in (("blog", ("one", "two", "three")), ("news", ("n-one", "n-two"))):
        for i, slug in enumerate(slugs):
            _create(container, collection, slug, slug.title(), tags=["python", "web"])
            publishing.publish(
                container.backend, collection, slug, publish_at=f"2025-05-0{i + 1}T00:00:00Z"
            )
    container.process_events()


def get(api: Any, path: str, **headers: str) -> Any:
    return api.call("GET", path, headers=headers or None, auth=False)


def page(api: Any, query: str, collection: str = "blog") -> dict[str, Any]:
    response = get(api, f"{DELIVER}/{collection}?{query}" if query else f"{DELIVER}/{collection}")
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def walk(api: Any, **params: Any) -> tuple[list[str], int]:
    """Follow next_cursor to the end; returns every slug in order and the page count."""
    slugs: list[str] = []
    pages = 0
    cursor = None
    while True:
        query = {k: v for k, v in params.items() if v is not None}
        if cursor:
            query["cursor"] = cursor
        body = page(api, urllib.parse.urlencode(query))
        pages += 1
        assert len(body["items"]) <= int(params.get("limit") or 20)
        slugs.extend(item["slug"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return slugs, pages
        assert body["items"], "a page with a next_cursor must not be empty"
        assert pages < 200, "paging does not terminate"


# --- listing: order, tags, limits -----------------------------------------------------------


def test_default_order_is_newest_first(api: Any, seeded: Seeded) -> None:
    body = page(api, "limit=100")
    assert [i["slug"] for i in body["items"]] == seeded.expected("-published_at")
    assert body["next_cursor"] is None
    dates = [i["published_at"] for i in body["items"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_default_page_size_is_20(api: Any, seeded: Seeded) -> None:
    body = page(api, "")
    assert [i["slug"] for i in body["items"]] == seeded.expected("-published_at")[:20]
    assert body["next_cursor"]


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
@pytest.mark.parametrize("sort", SORTS)
def test_each_sort_order(api: Any, seeded: Seeded, sort: str) -> None:
    body = page(api, f"sort={urllib.parse.quote(sort)}&limit=100")
    assert [i["slug"] for i in body["items"]] == seeded.expected(sort)


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_title_order_is_case_insensitive_with_slug_tie_break(api: Any, seeded: Seeded) -> None:
    titles = [i["title"] for i in page(api, "sort=title&limit=100")["items"]]
    assert titles == sorted(titles, key=str.casefold)
    same = [i for i in page(api, "sort=title&limit=100")["items"] if i["title"] == "Same title"]
    assert [i["slug"] for i in same] == sorted(i["slug"] for i in same)


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
@pytest.mark.parametrize("tag", ["python", "Python", "PYTHON", "  pyTHon "])
def test_tag_filter_is_case_insensitive(api: Any, seeded: Seeded, tag: str) -> None:
    body = page(api, urllib.parse.urlencode({"tag": tag, "limit": 100}))
    slugs = [i["slug"] for i in body["items"]]
    assert slugs == seeded.expected("-published_at", "python")
    assert len(slugs) > 10
    assert all("python" in i["tags"] for i in body["items"])


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_tag_with_a_space(api: Any, seeded: Seeded) -> None:
    body = page(api, urllib.parse.urlencode({"tag": "data science", "sort": "title"}))
    assert [i["slug"] for i in body["items"]] == seeded.expected("title", "data science")
    assert body["items"]


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_unknown_tag_gives_an_empty_list(api: Any, seeded: Seeded) -> None:
    assert page(api, "tag=nothing-has-this") == {"items": [], "next_cursor": None}


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
@pytest.mark.parametrize("limit", ["1", "7", "42", "100"])
def test_limit_within_bounds(api: Any, seeded: Seeded, limit: str) -> None:
    body = page(api, f"limit={limit}")
    expected = seeded.expected("-published_at")
    assert [i["slug"] for i in body["items"]] == expected[: int(limit)]
    # exactly as many as exist: there is no next page
    assert (body["next_cursor"] is None) == (int(limit) >= len(expected))


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5", "1e2", "9999999999999999999"])
def test_limit_out_of_bounds_is_400(api: Any, small: None, limit: str) -> None:
    response = get(api, f"{DELIVER}/blog?limit={urllib.parse.quote(limit)}")
    assert response.status_code == 400, (limit, response.body)
    assert problem(response)["type"].endswith("bad-request")


@pytest.mark.parametrize("limit", ["%C2%B2", "%E2%91%A0"])  # '²' and '①'
def test_limit_with_unicode_digits_is_400(api: Any, small: None, limit: str) -> None:
    response = get(api, f"{DELIVER}/blog?limit={limit}")
    assert response.status_code == 400, response.body
    problem(response)


@pytest.mark.parametrize("query", ["sort=date", "sort=-title", "tag=", "tag=" + "x" * 65])
def test_bad_sort_or_tag_is_400(api: Any, small: None, query: str) -> None:
    response = get(api, f"{DELIVER}/blog?{query}")
    assert response.status_code == 400, response.body
    problem(response)


@pytest.mark.parametrize("query", ["page=2", "offset=10", "limit=5&foo=bar", "Sort=title"])
def test_unknown_query_parameter_is_400(api: Any, small: None, query: str) -> None:
    response = get(api, f"{DELIVER}/blog?{query}")
    assert response.status_code == 400, response.body
    body = problem(response)
    assert "Unknown query parameter" in body["detail"]


def test_list_items_are_summaries_with_cache_control(api: Any, seeded: Seeded) -> None:
    response = get(api, f"{DELIVER}/blog?limit=3")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert "max-age" in response.headers["Cache-Control"]
    item = json.loads(response.body)["items"][0]
    assert {
        "collection",
        "slug",
        "title",
        "tags",
        "published_at",
        "updated_at",
        "excerpt",
        "reading_time_minutes",
        "front_matter",
    } <= set(item)
    assert "html" not in item  # lists stay light; the body comes with the single entry
    assert item["collection"] == "blog"
    assert item["front_matter"]["series"] == "Seeded"


# --- paging ---------------------------------------------------------------------------------


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("tag", [None, "python", "Web"])
def test_paging_returns_every_entry_once_in_order(
    api: Any, seeded: Seeded, sort: str, tag: str | None
) -> None:
    expected = seeded.expected(sort, tag)
    for limit in (1, 4, 7) if tag is None and sort == "title" else (4,):
        slugs, pages = walk(api, sort=sort, tag=tag, limit=limit)
        assert slugs == expected, (sort, tag, limit)
        assert len(set(slugs)) == len(slugs)
        assert pages == max(1, -(-len(expected) // limit))


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_a_cursor_may_continue_with_another_page_size(api: Any, seeded: Seeded) -> None:
    first = page(api, "sort=title&limit=5")
    cursor = urllib.parse.quote(first["next_cursor"])
    rest = page(api, f"sort=title&limit=10&cursor={cursor}")
    assert [i["slug"] for i in rest["items"]] == seeded.expected("title")[5:15]


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_cursor_for_an_equivalent_tag_spelling_is_accepted(api: Any, seeded: Seeded) -> None:
    first = page(api, "tag=Python&limit=3")
    cursor = urllib.parse.quote(first["next_cursor"])
    rest = page(api, f"tag=python&limit=3&cursor={cursor}")
    assert [i["slug"] for i in rest["items"]] == seeded.expected("-published_at", "python")[3:6]


def test_paging_is_stable_while_entries_are_published_and_deleted(
    api: Any, seeded: Seeded, container: Any
) -> None:
    expected = seeded.expected("-published_at")
    first = page(api, "limit=10")
    assert [i["slug"] for i in first["items"]] == expected[:10]
    # a newer entry appears before the cursor, and an entry on a later page is deleted
    _create(container, "blog", "late-arrival", "Late arrival")
    publishing.publish(container.backend, "blog", "late-arrival", publish_at="2025-06-01T00:00:00Z")
    entry_service.delete_entry(container.backend, "blog", expected[20], if_match=None)
    container.process_events()
    seen = [i["slug"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        body = page(api, f"limit=10&cursor={urllib.parse.quote(cursor)}")
        seen.extend(i["slug"] for i in body["items"])
        cursor = body["next_cursor"]
    assert seen == [s for s in expected if s != expected[20]]


@pytest.mark.parametrize(
    "other",
    [
        "sort=title&limit=5",
        "sort=published_at&limit=5",
        "tag=python&limit=5",
        "limit=5&tag=web",
    ],
)
def test_cursor_from_another_query_is_400(api: Any, small: None, other: str) -> None:
    cursor = page(api, "limit=1")["next_cursor"]
    response = get(api, f"{DELIVER}/blog?{other}&cursor={urllib.parse.quote(cursor)}")
    assert response.status_code == 400, response.body
    assert problem(response)["type"].endswith("bad-request")


def test_cursor_from_another_collection_is_400(api: Any, small: None) -> None:
    cursor = page(api, "limit=1", collection="news")["next_cursor"]
    assert cursor
    response = get(api, f"{DELIVER}/blog?limit=1&cursor={urllib.parse.quote(cursor)}")
    assert response.status_code == 400
    problem(response)


def test_cursor_with_a_tag_reused_without_it_is_400(api: Any, small: None) -> None:
    cursor = page(api, "tag=python&limit=1")["next_cursor"]
    response = get(api, f"{DELIVER}/blog?limit=1&cursor={urllib.parse.quote(cursor)}")
    assert response.status_code == 400
    problem(response)


def _flip(text: str, index: int) -> str:
    replacement = "B" if text[index] != "B" else "C"
    return text[:index] + replacement + text[index + 1 :]


@pytest.mark.parametrize("where", ["start", "tag", "middle", "payload-end"])
def test_tampered_cursor_is_400(api: Any, small: None, where: str) -> None:
    cursor = page(api, "limit=1")["next_cursor"]
    index = {"start": 0, "tag": 10, "middle": len(cursor) // 2, "payload-end": len(cursor) - 3}
    tampered = _flip(cursor, index[where])
    assert tampered != cursor
    response = get(api, f"{DELIVER}/blog?limit=1&cursor={urllib.parse.quote(tampered)}")
    assert response.status_code == 400, response.body
    assert problem(response)["detail"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "eyJhIjpbIjIwMjUiLCJ4Il19",  # base64 JSON with no signature
        "A" * 3000,
        "%00%01",
        "%E2%98%83",
        "x" * 22 + "==",
    ],
)
def test_garbage_cursor_is_400(api: Any, small: None, cursor: str) -> None:
    response = get(api, f"{DELIVER}/blog?cursor={cursor}")
    assert response.status_code == 400, response.body
    problem(response)


# --- what readers never see -----------------------------------------------------------------


def test_lists_never_include_hidden_or_foreign_entries(api: Any, seeded: Seeded) -> None:
    for sort in SORTS:
        for tag in (None, "python"):
            slugs, _ = walk(api, sort=sort, tag=tag, limit=100)
            assert not set(slugs) & set(seeded.hidden), (sort, tag)
            assert not {"news-1", "news-2"} & set(slugs)
    body = page(api, "limit=100")
    assert {i["collection"] for i in body["items"]} == {"blog"}
    assert all(not i["title"].startswith("Aaa") for i in body["items"])


@pytest.mark.local_only  # the AWS backend walks every order in one seed below
def test_the_other_collection_lists_only_its_own(api: Any, seeded: Seeded) -> None:
    body = page(api, "sort=title", collection="news")
    assert [i["slug"] for i in body["items"]] == ["draft-only", "news-1", "news-2"]
    assert {i["collection"] for i in body["items"]} == {"news"}


def test_hidden_entries_all_answer_the_same_404_as_a_missing_one(api: Any, seeded: Seeded) -> None:
    responses = {
        slug: get(api, f"{DELIVER}/blog/{slug}") for slug in [*seeded.hidden, "never-existed"]
    }
    normalized = set()
    for slug, response in responses.items():
        assert response.status_code == 404, (slug, seeded.hidden.get(slug), response.body)
        body = problem(response)
        assert (body["status"], body["type"], body["title"]) == (
            404,
            "/problems/not-found",
            "Not found",
        )
        assert response.headers == responses["never-existed"].headers
        normalized.add(response.body.decode().replace(slug, "{slug}"))
    assert len(normalized) == 1, normalized
    # the same slug is a published entry in another collection
    assert get(api, f"{DELIVER}/news/draft-only").status_code == 200


def test_scheduled_entry_is_released_by_the_clock_alone(
    api: Any, seeded: Seeded, clock: Any
) -> None:
    assert get(api, f"{DELIVER}/blog/coming-later").status_code == 404
    clock.advance(days=30)  # 2025-07-01T12:00Z: past the scheduled instant
    assert get(api, f"{DELIVER}/blog/coming-later").status_code == 200
    slugs, _ = walk(api, tag="python", limit=5)
    assert slugs[0] == "coming-later"
    assert slugs[1:] == seeded.expected("-published_at", "python")


# --- single entries -------------------------------------------------------------------------


def test_single_entry_fields(api: Any, container: Any, clock: Any) -> None:
    api.collection("docs")
    api.entry(
        "docs",
        title="A Full Entry",
        summary="What this is about.",
        author="Grace",
        tags=["Guide", "HOWTO"],
        difficulty="hard",
        steps=3,
        body=(
            "# Getting started\n\nFirst, install it.\n\n## Configure\n\nThen configure it.\n\n"
            + "word " * 450
        ),
    )
    api.publish("docs", "a-full-entry")
    response = get(api, f"{DELIVER}/docs/a-full-entry")
    assert response.status_code == 200
    entry = json.loads(response.body)
    assert entry["collection"] == "docs"
    assert entry["slug"] == "a-full-entry"
    assert entry["title"] == "A Full Entry"
    assert entry["summary"] == "What this is about."
    assert entry["author"] == "Grace"
    assert entry["tags"] == ["guide", "howto"]
    assert entry["published_at"] == "2025-06-01T12:00:00Z"
    assert entry["updated_at"] == "2025-06-01T12:00:00Z"
    assert entry["html"].startswith('<h1 id="getting-started">Getting started</h1>')
    assert '<h2 id="configure">Configure</h2>' in entry["html"]
    assert entry["toc"] == [
        {
            "level": 1,
            "id": "getting-started",
            "title": "Getting started",
            "children": [{"level": 2, "id": "configure", "title": "Configure", "children": []}],
        }
    ]
    assert entry["excerpt"] == "What this is about."  # the summary wins over the body
    assert entry["word_count"] >= 450
    assert entry["reading_time_minutes"] >= 2
    fm = entry["front_matter"]
    assert fm["difficulty"] == "hard"
    assert fm["steps"] == 3
    assert fm["title"] == "A Full Entry"
    assert fm["tags"] == ["Guide", "HOWTO"]  # the front matter as written
    assert "published_at" not in fm  # the publication is the CMS's, not the document's


def test_excerpt_comes_from_the_body_without_a_summary(api: Any, clock: Any) -> None:
    api.collection("blog")
    api.entry(title="No summary", body="# Heading\n\nThe *first* paragraph speaks.\n\nMore.")
    api.publish("blog", "no-summary")
    entry = json.loads(get(api, f"{DELIVER}/blog/no-summary").body)
    assert entry["summary"] is None
    assert entry["excerpt"].startswith("The first paragraph speaks.")
    assert "<" not in entry["excerpt"]


def test_strong_etag_cache_control_and_304(api: Any, clock: Any) -> None:
    api.collection("blog")
    api.entry(title="Cached", body="Cache me.")
    api.publish("blog", "cached")
    response = get(api, f"{DELIVER}/blog/cached")
    etag = response.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert not etag.startswith("W/")
    cache_control = response.headers["Cache-Control"]
    assert "public" in cache_control and "max-age=" in cache_control
    assert get(api, f"{DELIVER}/blog/cached").headers["ETag"] == etag  # stable across reads

    for header in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        not_modified = get(api, f"{DELIVER}/blog/cached", **{"If-None-Match": header})
        assert not_modified.status_code == 304, header
        assert not_modified.body in (b"", "")
        assert not_modified.headers["ETag"] == etag
        assert not_modified.headers["Cache-Control"] == cache_control

    fresh = get(api, f"{DELIVER}/blog/cached", **{"If-None-Match": '"something-else"'})
    assert fresh.status_code == 200
    assert json.loads(fresh.body)["slug"] == "cached"


def test_etag_changes_when_changed_content_is_republished(api: Any, clock: Any) -> None:
    api.collection("blog")
    api.entry(title="Evolving", body="First version.")
    api.publish("blog", "evolving")
    old = get(api, f"{DELIVER}/blog/evolving").headers["ETag"]

    # republishing unchanged content keeps the validator
    api.publish("blog", "evolving")
    assert get(api, f"{DELIVER}/blog/evolving").headers["ETag"] == old

    clock.advance(minutes=5)
    api.json("PATCH", "/v1/manage/content/blog/evolving", {"body": "Second version."})
    # a saved draft is not published: the old validator still holds
    assert get(api, f"{DELIVER}/blog/evolving", **{"If-None-Match": old}).status_code == 304

    api.publish("blog", "evolving")
    response = get(api, f"{DELIVER}/blog/evolving", **{"If-None-Match": old})
    assert response.status_code == 200
    new = response.headers["ETag"]
    assert new != old
    assert "Second version." in json.loads(response.body)["html"]
    assert get(api, f"{DELIVER}/blog/evolving", **{"If-None-Match": new}).status_code == 304


def test_unknown_collection_is_404_problem(api: Any, small: None) -> None:
    for path in (f"{DELIVER}/nowhere", f"{DELIVER}/nowhere/one"):
        response = get(api, path)
        assert response.status_code == 404, path
        body = problem(response)
        assert body["type"] == "/problems/not-found"
        assert "nowhere" in body["detail"]


def test_delivery_needs_no_credentials_and_ignores_bad_ones(api: Any, small: None) -> None:
    response = get(api, f"{DELIVER}/blog/one", Authorization="Bearer not-a-key")
    assert response.status_code == 200


# --- sanitizing -----------------------------------------------------------------------------


XSS_BODY = """# Hello <script>alert('h1')</script>

<script>alert('block')</script>

<img src="x.png" onerror="alert('img')">

<svg onload="alert('svg')"><circle r="1"/></svg>

<div onclick="steal()" onmouseover='steal()'>hover me</div>

[link](javascript:alert('md-link')) and [upper](JaVaScRiPt:alert(1))
and [encoded](&#106;avascript:alert(1)) and [spaced]( javascript:alert(1))

<a href="javascript:alert('a')">raw anchor</a>
<a href="  JAVASCRIPT:alert('a2')">raw anchor 2</a>

![pic](javascript:alert('pic'))

<iframe src="javascript:alert('frame')"></iframe>
<object data="javascript:alert('obj')"></object>

<form action="javascript:alert('form')"><button formaction="javascript:x()">b</button></form>

## <img src=x onerror=alert('toc')> Section

Safe [normal link](https://example.com/page) stays.
"""


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, [(k, v or "") for k, v in attrs]))

    handle_startendtag = handle_starttag


def assert_harmless(fragment: str) -> None:
    parser = _Elements()
    parser.feed(fragment)
    parser.close()
    assert parser.elements, "nothing rendered"
    for tag, attrs in parser.elements:
        assert tag not in {"script", "iframe", "object", "embed", "form", "svg", "style"}, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name, value)
            # browsers ignore whitespace and control characters inside a URL scheme
            squashed = "".join(ch for ch in value if ch > " ").lower()
            assert not squashed.startswith(("javascript:", "vbscript:", "data:text/html")), (
                tag,
                name,
                value,
            )


def test_xss_in_a_published_body_never_reaches_delivery(api: Any, clock: Any) -> None:
    api.collection("blog")
    api.entry(title="Hostile", body=XSS_BODY, summary="<script>alert('summary')</script>")
    api.publish("blog", "hostile")
    response = get(api, f"{DELIVER}/blog/hostile")
    assert response.status_code == 200
    entry = json.loads(response.body)
    assert_harmless(entry["html"])
    assert "<script" not in entry["html"].lower()  # not even as a stray fragment
    assert '<a href="https://example.com/page"' in entry["html"]  # real links survive
    # toc titles are plain text (the heading's text content), and its ids are plain slugs
    ids = [entry["toc"][0]["id"], *(c["id"] for c in entry["toc"][0]["children"])]
    assert all(re.fullmatch(r"[a-z0-9_-]+", i) for i in ids), ids
    # the management view of the same draft is sanitized too
    draft = api.json("GET", "/v1/manage/content/blog/hostile")
    assert_harmless(draft["render"]["html"])


# --- health ---------------------------------------------------------------------------------


def test_health(api: Any, container: Any) -> None:
    response = api.call("GET", "/health", auth=False)
    assert response.status_code == 200
    assert json.loads(response.body) == {"status": "ok", "backend": container.backend_name}
    assert response.headers["Cache-Control"] == "no-store"


def test_paging_walks_every_order_and_tag_in_one_seed(api: Any, seeded: Seeded) -> None:
    """The contract for both backends in one seed: every sort, with and without a tag, pages
    of 7 return every published, due entry once and in order."""
    for sort in SORTS:
        for tag in (None, "python"):
            slugs, pages = walk(api, sort=sort, tag=tag, limit=7)
            assert slugs == seeded.expected(sort, tag), (sort, tag)
            assert pages == max(1, -(-len(slugs) // 7))
