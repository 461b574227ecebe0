"""The index is derived: wipe it, rebuild it from the objects alone, and delivery answers
exactly as before (on both backends)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain.sized_lru import SizedLru
from chalicelib.services import delivery
from tests.conftest import Api, problem

SORTS = ("-published_at", "published_at", "title")


def _snapshot(api: Api, slugs: list[str]) -> dict[str, Any]:
    """Every delivery response a site could ask for, with its status and validators."""
    seen: dict[str, Any] = {}
    for collection in ("blog", "docs"):
        for sort in SORTS:
            for tag in (None, "python", "web"):
                query = f"sort={sort}&limit=2" + (f"&tag={tag}" if tag else "")
                pages, cursor = [], None
                while True:
                    path = f"/v1/content/{collection}?{query}"
                    if cursor:
                        path += f"&cursor={cursor}"
                    response = api.call("GET", path, auth=False)
                    body = json.loads(response.body)
                    pages.append((response.status_code, body["items"]))
                    cursor = body.get("next_cursor")
                    if not cursor:
                        break
                seen[f"{collection}?{query}"] = pages
        for slug in slugs:
            response = api.call("GET", f"/v1/content/{collection}/{slug}", auth=False)
            seen[f"{collection}/{slug}"] = (
                response.status_code,
                response.headers.get("ETag"),
                json.loads(response.body) if response.status_code == 200 else None,
            )
    return seen


@pytest.fixture
def site(api: Api, container: wiring.Container, clock: Any) -> list[str]:
    api.collection("blog")
    api.collection(
        "docs",
        fields={
            "rating": {"type": "number"},
            "level": {"type": "enum", "values": ["intro", "deep"]},
        },
    )
    slugs = []
    for i in range(7):
        slug = api.entry(
            "blog",
            body=f"# Post {i}\n\nText *{i}* [^1].\n\n[^1]: A note.",
            title=f"Post {i}",
            tags=["Python" if i % 2 else "Web"],
            summary=None if i % 3 else f"Summary {i}",
        )["slug"]
        slugs.append(slug)
        api.publish("blog", slug, publish_at=f"2025-05-0{i + 1}T10:00:00Z")
    api.publish("blog", slugs[6], publish_at="2025-07-01T00:00:00Z")  # scheduled: hidden
    api.json("POST", f"/v1/manage/content/blog/{slugs[5]}/unpublish")
    api.json("DELETE", f"/v1/manage/content/blog/{slugs[4]}", expect=204)
    draft = api.entry("blog", title="Only a draft")["slug"]
    doc = api.entry("docs", title="Guide", rating=4.5, level="deep", tags=["python"])["slug"]
    api.publish("docs", doc)
    # an object dropped into the bucket by another tool
    container.backend.objects.put(
        "published/docs/dropped.md",
        b"---\ntitle: Dropped\npublished_at: 2025-05-20\n---\nFrom another tool.\n",
        content_type="text/markdown",
    )
    container.process_events()
    return [*slugs, draft, doc, "dropped", "missing"]


def test_wipe_and_reindex_answers_exactly_as_before(
    api: Api, container: wiring.Container, site: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _snapshot(api, site)
    assert before["blog/post-0"][0] == 200 and before["docs/dropped"][0] == 200

    container.backend.index.clear()
    monkeypatch.setattr(delivery, "_bodies", SizedLru(1 << 20, len))  # nothing served from cache
    problem(api.call("GET", "/v1/content/blog", auth=False))  # the index is empty: 404

    report = api.json("POST", "/v1/manage/reindex")
    assert report["collections"] == 2
    assert report["entries"] >= 9
    assert report["errors"] == []

    assert _snapshot(api, site) == before
    drafts = api.json("GET", "/v1/manage/content/blog")["items"]
    assert "only-a-draft" in [d["slug"] for d in drafts]
    assert all(d["render_status"] == "rendered" for d in drafts)


def test_reindex_reports_objects_it_cannot_index(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    container.backend.objects.put(
        "content/ghosts/boo.md", b"---\ntitle: Boo\n---\n", content_type="text/markdown"
    )
    container.backend.objects.put(
        "content/blog/bad.md", b"---\ntitle: [\n---\n", content_type="text/markdown"
    )
    container.process_events()
    report = api.json("POST", "/v1/manage/reindex")
    assert [e.split(":")[0] for e in report["errors"]] == ["content/ghosts/boo.md"]
    bad = api.json("GET", "/v1/manage/content/blog/bad")
    assert bad["render"]["status"] == "failed"
    assert "YAML" in bad["render"]["error"]


def test_reindex_needs_the_admin_scope(api: Api) -> None:
    created = api.json(
        "POST", "/v1/manage/keys", {"name": "writer", "scopes": ["content:write"]}, expect=201
    )
    response = api.call(
        "POST",
        "/v1/manage/reindex",
        headers={"Authorization": f"Bearer {created['key']}"},
        auth=False,
    )
    assert problem(response)["status"] == 403
