"""GET /v1/sync, the change feed for incremental builds, on both backends (a contract module):
every published upsert and removal since a cursor, in order, never missing a deletion."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from chalicelib import wiring
from tests.conftest import Api, FrozenClock, problem


def sync(api: Api, clock: FrozenClock, cursor: str | None = None, limit: int = 100) -> Any:
    """One page, read after the settle window (5 s on AWS, 0 locally) has passed."""
    clock.advance(seconds=10)
    query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
    return api.json("GET", f"/v1/sync{query}", auth=False)


def drain(
    api: Api, clock: FrozenClock, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = sync(api, clock, cursor, limit)
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, cursor  # type: ignore[return-value]


def publish(api: Api, slug: str, **front_matter: Any) -> None:
    api.entry(title=slug.replace("-", " ").title(), slug=slug, **front_matter)
    api.publish("blog", slug)


def test_everything_published_in_order_and_no_drafts(api: Api, clock: FrozenClock) -> None:
    api.collection()
    for slug in ("one", "two", "three"):
        publish(api, slug, tags=["t"])
        clock.advance(seconds=1)
    api.entry(title="Draft only", slug="draft-only")
    items, _ = drain(api, clock)
    assert [(i["type"], i["slug"]) for i in items] == [
        ("upsert", "one"),
        ("upsert", "two"),
        ("upsert", "three"),
    ]
    first = items[0]
    assert first["collection"] == "blog" and first["title"] == "One" and first["tags"] == ["t"]
    assert first["href"] == "/v1/content/blog/one"
    assert first["changed_at"] < items[1]["changed_at"] < items[2]["changed_at"]


def test_pages_follow_each_other_and_a_stored_cursor_sees_only_what_is_new(
    api: Api, clock: FrozenClock
) -> None:
    api.collection()
    for index in range(5):
        publish(api, f"entry-{index}")
    page = sync(api, clock, limit=2)
    assert len(page["items"]) == 2 and page["has_more"]
    rest, cursor = drain(api, clock, page["next_cursor"], limit=2)
    assert [i["slug"] for i in page["items"] + rest] == [f"entry-{i}" for i in range(5)]
    nothing = sync(api, clock, cursor)
    assert nothing["items"] == [] and not nothing["has_more"]
    assert nothing["next_cursor"] == cursor  # an empty page does not move the cursor
    api.json("PATCH", "/v1/manage/content/blog/entry-1", {"body": "Changed."})
    api.publish("blog", "entry-1")
    new = sync(api, clock, cursor)
    assert [(i["type"], i["slug"]) for i in new["items"]] == [("upsert", "entry-1")]


def test_unpublish_and_delete_are_removals(api: Api, clock: FrozenClock) -> None:
    api.collection()
    publish(api, "kept")
    publish(api, "unpublished")
    publish(api, "deleted")
    _, cursor = drain(api, clock)
    api.json("POST", "/v1/manage/content/blog/unpublished/unpublish")
    assert api.call("DELETE", "/v1/manage/content/blog/deleted").status_code == 204
    items, _ = drain(api, clock, cursor)
    assert {(i["type"], i["slug"]) for i in items} == {
        ("delete", "unpublished"),
        ("delete", "deleted"),
    }
    assert set(items[0]) == {"type", "collection", "slug", "changed_at"}


def test_a_deletion_while_a_client_pages_is_never_missed(api: Api, clock: FrozenClock) -> None:
    api.collection()
    for index in range(6):
        publish(api, f"post-{index}")
        clock.advance(seconds=1)
    page = sync(api, clock, limit=2)  # post-0, post-1 seen
    assert [i["slug"] for i in page["items"]] == ["post-0", "post-1"]
    api.call("DELETE", "/v1/manage/content/blog/post-0")  # already seen
    api.call("DELETE", "/v1/manage/content/blog/post-4")  # not seen yet
    api.json("POST", "/v1/manage/content/blog/post-2/unpublish")  # the very next one
    rest, _ = drain(api, clock, page["next_cursor"], limit=2)
    final: dict[str, str] = {}
    for change in page["items"] + rest:
        final[change["slug"]] = change["type"]
    assert final == {
        "post-0": "delete",
        "post-1": "upsert",
        "post-2": "delete",
        "post-3": "upsert",
        "post-4": "delete",
        "post-5": "upsert",
    }


def test_a_scheduled_entry_arrives_when_due(api: Api, clock: FrozenClock) -> None:
    api.collection()
    api.entry(title="Later", slug="later")
    api.publish("blog", "later", publish_at="2025-06-01T13:00:00Z")  # the clock says 12:00
    items, cursor = drain(api, clock)
    assert items == []
    clock.advance(hours=1)
    due = sync(api, clock, cursor)
    assert [(i["type"], i["slug"]) for i in due["items"]] == [("upsert", "later")]
    assert due["items"][0]["changed_at"].startswith("2025-06-01T13:00:00")


def test_a_public_entry_rescheduled_for_later_leaves_the_feed_until_due(
    api: Api, clock: FrozenClock
) -> None:
    """Issue 12, case 2: delivery stops serving it, so a sync client must drop it too."""
    api.collection()
    publish(api, "launch")
    _, cursor = drain(api, clock)
    due = (clock.now() + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.publish("blog", "launch", publish_at=due)
    assert api.call("GET", "/v1/content/blog/launch", auth=False).status_code == 404
    items, later = drain(api, clock, cursor)
    assert [(i["type"], i["slug"]) for i in items] == [("delete", "launch")]
    fresh, _ = drain(api, clock)
    assert [(i["type"], i["slug"]) for i in fresh] == [("delete", "launch")]
    clock.advance(hours=2)
    back = sync(api, clock, later)["items"]
    assert [(i["type"], i["slug"]) for i in back] == [("upsert", "launch")]
    assert api.call("GET", "/v1/content/blog/launch", auth=False).status_code == 200


@pytest.mark.parametrize("withdraw", ["unpublish", "delete", "reschedule"])
def test_a_slug_never_served_publicly_never_appears_in_the_feed(
    api: Api, clock: FrozenClock, withdraw: str
) -> None:
    """Issue 12, case 3: an embargoed slug is itself news."""
    api.collection()
    publish(api, "kept")
    _, cursor = drain(api, clock)
    api.entry(title="Embargoed launch", slug="embargoed-launch")
    api.publish("blog", "embargoed-launch", publish_at="2025-06-02T12:00:00Z")
    if withdraw == "unpublish":
        api.json("POST", "/v1/manage/content/blog/embargoed-launch/unpublish")
    elif withdraw == "delete":
        assert api.call("DELETE", "/v1/manage/content/blog/embargoed-launch").status_code == 204
    else:
        api.publish("blog", "embargoed-launch", publish_at="2025-06-03T12:00:00Z")
    for since in (cursor, None):
        items, _ = drain(api, clock, since)
        assert "embargoed-launch" not in {i["slug"] for i in items}, (since, items)


def test_bad_cursors_and_limits(api: Api) -> None:
    for query in ("cursor=nope", "limit=0", "limit=501", "limit=x", "colour=red"):
        response = api.call("GET", f"/v1/sync?{query}", auth=False)
        assert response.status_code == 400, query
        problem(response)


def test_a_cursor_from_before_a_rebuild_is_gone(api: Api, clock: FrozenClock) -> None:
    api.collection()
    publish(api, "survivor")
    _, cursor = drain(api, clock)
    api.json("POST", "/v1/manage/reindex")
    response = api.call("GET", f"/v1/sync?cursor={cursor}", auth=False)
    assert response.status_code == 410
    assert "without a cursor" in problem(response)["detail"]
    items, _ = drain(api, clock)
    assert [(i["type"], i["slug"]) for i in items] == [("upsert", "survivor")]


@pytest.mark.local_only
def test_the_cursor_survives_a_restart(api: Api, clock: FrozenClock) -> None:
    api.collection()
    publish(api, "before")
    _, cursor = drain(api, clock)
    wiring.reset()
    restarted = wiring.container()
    restarted.backend.clock = clock
    publish(api, "after")
    items, _ = drain(api, clock, cursor)
    assert [i["slug"] for i in items] == ["after"]


def test_changes_inside_the_settle_window_wait(
    api: Api, clock: FrozenClock, container: wiring.Container
) -> None:
    api.collection()
    publish(api, "fresh")
    settle = container.limits.sync_settle_seconds
    early = api.json("GET", "/v1/sync", auth=False)
    if settle:  # AWS: a write may still be landing for `settle` seconds
        assert early["items"] == []
        clock.advance(seconds=settle + 1)
    page = api.json("GET", f"/v1/sync?cursor={early['next_cursor']}", auth=False)
    assert [i["slug"] for i in (early["items"] or page["items"])] == ["fresh"]


def test_a_rebuild_in_another_container_ends_old_cursors_at_once(
    api: Api, clock: FrozenClock, container: Any
) -> None:
    """The epoch is cached per container; a cursor is checked against the stored one, so a
    rebuild elsewhere (a new epoch in the table) is a 410 at once, not after the cache."""
    api.collection()
    publish(api, "kept")
    _, cursor = drain(api, clock)
    container.backend.index.change_epoch()  # cached here now
    if container.backend_name == "aws":
        from tests.aws_stage import set_change_epoch

        set_change_epoch(container, "rebuilt-elsewhere")
    else:  # one SQLite file: a rebuild by another process is the same write
        container.backend.index.clear()
    response = api.call("GET", f"/v1/sync?cursor={cursor}", auth=False)
    assert response.status_code == 410, response.body


def test_a_dynamodb_write_that_raced_another_reads_the_change_log_again(
    api: Api, clock: FrozenClock, container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two events of one entry at once (its publish and its removal) both read the entry's
    rows before either wrote: the later one's transaction must not be applied over rows it
    never saw (it would leave the upsert in the feed for an entry delivery answers 404)."""
    if container.backend_name != "aws":
        pytest.skip("SQLite takes the write lock before it reads")
    api.collection()
    publish(api, "raced")
    index: Any = container.backend.index
    published = index.get_entry("blog", "published", "raced")
    real = index._items_of
    stale = [i for i in real("blog", "raced") if not i["SK"].startswith("CHANGE")]
    reads: list[int] = []

    def items_of(collection: str, slug: str) -> list[dict[str, Any]]:
        reads.append(1)
        return stale if len(reads) == 1 else real(collection, slug)  # read before the upsert

    monkeypatch.setattr(index, "_items_of", items_of)
    removal = dataclasses.replace(published, deleted=True, sequencer="F" * 24)
    assert index.apply_render(removal) is True
    assert len(reads) == 2  # refused, read again, applied
    items, _ = drain(api, clock)
    assert [(i["type"], i["slug"]) for i in items] == [("delete", "raced")]
