"""GET /v1/manage/content/{collection}: each draft says where it stands in publishing, and the
list filters by that state and searches titles, paging through filtered results with the same
cursor (both backends)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.services import draft_lists
from tests.conftest import Api, FrozenClock, problem

LIST = "/v1/manage/content/blog"


@pytest.fixture
def site(api: Api, clock: FrozenClock) -> Api:
    """a-live published, b-later scheduled, c-wip a draft, d-was published then unpublished,
    e-edited published then edited; and 'Release notes 1..5' drafts."""
    api.collection()
    for slug, title in (
        ("a-live", "Live post"),
        ("b-later", "Later post"),
        ("c-wip", "Work in progress"),
        ("d-was", "Was live"),
        ("e-edited", "Edited post"),
    ):
        api.entry(title=title, slug=slug)
    api.publish("blog", "a-live")
    api.publish("blog", "b-later", publish_at="2025-06-02T12:00:00Z")
    api.publish("blog", "d-was")
    api.json("POST", f"{LIST}/d-was/unpublish")
    api.publish("blog", "e-edited")
    api.json("PATCH", f"{LIST}/e-edited", {"body": "Changed since."})
    for number in range(1, 6):
        api.entry(title=f"Release notes {number}", slug=f"notes-{number}")
    return api


def slugs(api: Api, query: str) -> list[str]:
    return [i["slug"] for i in api.json("GET", f"{LIST}?{query}")["items"]]


def every_page(api: Api, query: str) -> tuple[list[str], int]:
    """Every item of a listing, following next_after; and how many pages it took."""
    found: list[str] = []
    after = ""
    pages = 0
    while True:
        page = api.json("GET", f"{LIST}?{query}{after}")
        pages += 1
        found += [i["slug"] for i in page["items"]]
        if page["next_after"] is None:
            return found, pages
        after = f"&after={page['next_after']}"


def test_each_draft_says_where_it_stands(site: Api) -> None:
    items = {i["slug"]: i for i in site.json("GET", LIST)["items"]}
    states = {slug: item["state"] for slug, item in items.items()}
    assert states["a-live"] == "published" and states["e-edited"] == "published"
    assert states["b-later"] == "scheduled"
    assert states["c-wip"] == states["d-was"] == states["notes-1"] == "draft"
    assert items["b-later"]["published_at"] == "2025-06-02T12:00:00Z"
    assert items["c-wip"]["published_at"] is None and items["a-live"]["published_at"]


def test_the_state_filter(site: Api, clock: FrozenClock) -> None:
    assert slugs(site, "state=published") == ["a-live", "e-edited"]
    assert slugs(site, "state=scheduled") == ["b-later"]
    assert slugs(site, "state=draft") == ["c-wip", "d-was", *(f"notes-{n}" for n in range(1, 6))]
    clock.advance(days=2)  # the scheduled one falls due
    assert slugs(site, "state=published") == ["a-live", "b-later", "e-edited"]
    assert slugs(site, "state=scheduled") == []
    published = site.json("GET", f"{LIST}?stage=published")["items"]
    assert {i["slug"]: i["state"] for i in published}["b-later"] == "published"


def test_search_by_title_or_path_ignores_case(site: Api) -> None:
    assert slugs(site, "q=POST") == ["a-live", "b-later", "e-edited"]
    assert slugs(site, "q=notes-3") == ["notes-3"]
    assert slugs(site, "q=release&state=published") == []
    assert slugs(site, "q=") == slugs(site, "")  # empty: no search
    assert slugs(site, "q=nothing+like+it") == []


def test_filtered_pages_follow_the_same_cursor(site: Api) -> None:
    found, pages = every_page(site, "limit=2&q=notes")
    assert found == [f"notes-{n}" for n in range(1, 6)] and pages == 3
    plain, _ = every_page(site, "limit=3")
    assert plain == slugs(site, "limit=100")


def test_a_filtered_page_reads_a_bounded_number_of_entries(
    site: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(draft_lists, "BATCH", 2)
    monkeypatch.setattr(draft_lists, "SCAN_LIMIT", 4)
    first = site.json("GET", f"{LIST}?q=notes&limit=10")
    assert first["items"] == []  # four entries read, none of them a match
    assert first["next_after"] == "d-was"
    found, pages = every_page(site, "q=notes&limit=10")
    assert found == [f"notes-{n}" for n in range(1, 6)] and pages >= 3


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("state=gone", "state"), ("state=", "state"), (f"q={'x' * 201}", "q")],
)
def test_bad_filters_are_400(site: Api, query: str, parameter: str) -> None:
    response = site.call("GET", f"{LIST}?{query}")
    assert response.status_code == 400
    assert problem(response)["parameter"] == parameter


def test_every_item_has_the_documented_fields(site: Api) -> None:
    from app import app
    from chalicelib.api.openapi_spec import build

    spec: dict[str, Any] = build(app.routes)
    required = set(spec["components"]["schemas"]["DraftSummary"]["required"])
    for item in site.json("GET", LIST)["items"]:
        assert required <= set(item), item


def test_a_sparse_page_reads_its_snapshots_by_key_not_the_collection_between(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three failed drafts spread across 60 published entries, read 10 at a time: their page
    reads a few batches of snapshots and the rest by key, not the 60 in between (7 reads of
    ranges before); states stay right."""
    monkeypatch.setattr(draft_lists, "BATCH", 10)
    from chalicelib.domain.collections import Collection
    from tests.test_contract_ports import _record

    index = container.backend.index
    stamp = "2025-01-01T00:00:00Z"
    index.put_collection(Collection(name="blog", created_at=stamp, updated_at=stamp))
    for n in range(60):
        slug = f"p{n:04d}"
        index.apply_render(_record(slug, sequencer="1"))
        failed = n in (3, 30, 57)
        status = "failed" if failed else "rendered"
        index.apply_render(_record(slug, stage="draft", render_status=status, sequencer="1"))
    index.apply_render(_record("p0030", sequencer="2", deleted=True))  # unpublished since
    reads = {"ranges": 0, "keys": 0}
    list_entries, get_entry = index.list_entries, index.get_entry

    def counted(name: str, read: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            reads[name] += 1
            return read(*args, **kwargs)

        return call

    index.list_entries = counted("ranges", list_entries)
    index.get_entry = counted("keys", get_entry)
    where = draft_lists.DraftFilter(status="failed")
    items, after = draft_lists.list_drafts(container.backend, "blog", where, limit=50)
    assert [(i["slug"], i["state"]) for i in items] == [
        ("p0003", "published"),
        ("p0030", "draft"),
        ("p0057", "published"),
    ]
    assert after is None
    assert reads["ranges"] <= 4 and reads["keys"] <= 2, reads
