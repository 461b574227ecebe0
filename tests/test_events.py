"""The event path end to end on the local backend: S3-shaped object events -> index.

Covers replay (duplicated, shuffled, late events converge on the latest revision), objects
dropped straight into the store (like ``aws s3 cp``), retries and dead letters, restarts,
and messages that carry no object change.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib import events, wiring
from chalicelib.adapters.local import event_queue, object_store, sqlite_index
from chalicelib.adapters.local.sqlite import Database
from chalicelib.domain import frontmatter
from chalicelib.domain.entries import EntryRecord
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.rendering import render_markdown
from chalicelib.domain.s3_events import iter_object_events, make_record
from chalicelib.domain.timeutil import to_iso
from chalicelib.ports import Backend, ManageQuery, PageQuery
from chalicelib.services import rendering
from tests.conftest import Api, problem

MD = "text/markdown; charset=utf-8"
SEEDS = [0, 1, 2, 3, 7, 42]

Message = dict[str, Any]


# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[Message]:
    """Every S3 notification the local queue delivers, in delivery order (deep copies)."""
    messages: list[Message] = []
    real = events.handle_notification

    def capture(backend: Backend, limits: Any, message: Message) -> int:
        messages.append(copy.deepcopy(message))
        return real(backend, limits, message)

    monkeypatch.setattr(events, "handle_notification", capture)
    return messages


def keys_of(message: Message) -> list[str]:
    return [e.key for e in iter_object_events(message)]


def for_key(messages: list[Message], *prefixes: str) -> list[Message]:
    return [m for m in messages if any(k.startswith(prefixes) for k in keys_of(m))]


def fresh_backend(container: wiring.Container, path: Path) -> Backend:
    """The same bucket with an empty index: what a rebuild from events starts from."""
    live = container.backend
    return Backend(
        objects=live.objects,
        index=sqlite_index.SqliteIndex(Database(path, sqlite_index.SCHEMA)),
        config=live.config,
        dead_letters=live.dead_letters,
        media=live.media,
        links=live.links,
        webhook_log=live.webhook_log,
        outbox=live.outbox,
        clock=live.clock,
    )


def deliver(backend: Backend, container: wiring.Container, messages: list[Message]) -> None:
    for message in messages:
        events.handle_notification(backend, container.limits, message)


def shuffled_with_duplicates(messages: list[Message], seed: int) -> list[Message]:
    rng = random.Random(seed)
    batch = list(messages) + [rng.choice(messages) for _ in range(len(messages))]
    rng.shuffle(batch)
    return batch


def comparable(record: EntryRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    if record.deleted:  # a tombstone's title depends on what it replaced: not compared
        return {"deleted": True, "sequencer": record.sequencer, "html_key": record.html_key}
    return record.to_dict()


def expected_from_object(container: wiring.Container, key: str) -> dict[str, Any]:
    """What the index must say about the object at ``key`` as it is now."""
    stored = container.backend.objects.get(key)
    fm, body = frontmatter.parse(stored.data.decode("utf-8"))
    return {
        "source_etag": stored.info.etag,
        "version_id": stored.info.version_id,
        "rendered_sha256": hashlib.sha256(stored.data).hexdigest(),
        "html": render_markdown(body, summary=fm.get("summary")).html,
        "title": fm["title"],
    }


def index_state(backend: Backend, stage: Any, slug: str) -> dict[str, Any]:
    record = backend.index.get_entry("blog", stage, slug)
    assert record is not None and not record.deleted
    assert record.render_status == "rendered", record.render_error
    assert record.html_key is not None
    return {
        "source_etag": record.source_etag,
        "version_id": record.version_id,
        "rendered_sha256": record.rendered_sha256,
        "html": backend.objects.get(record.html_key).data.decode("utf-8"),
        "title": record.title,
    }


def put_markdown(
    container: wiring.Container, key: str, text: str | bytes, *, drain: bool = True
) -> None:
    data = text.encode("utf-8") if isinstance(text, str) else text
    container.backend.objects.put(key, data, content_type=MD)
    if drain:
        container.process_events()


def save(api: Api, slug: str, title: str, body: str) -> Any:
    return api.json(
        "PUT",
        f"/v1/manage/content/blog/{slug}",
        {"front_matter": {"title": title, "tags": ["replay"]}, "body": body},
    )


# --- replay: duplicated, shuffled and late events -----------------------------------------------


@pytest.fixture
def six_revisions(api: Api, container: wiring.Container, captured: list[Message]) -> list[Any]:
    """A collection, an entry saved 6 times, published after revisions 3 and 6."""
    api.collection("blog")
    api.entry("blog", body="Revision 0 body.", title="Post", slug="post")
    views = []
    for n in range(1, 7):
        views.append(save(api, "post", f"Post rev {n}", f"## Part {n}\n\nRevision {n} *body*."))
        if n in (3, 6):
            api.publish("blog", "post")
    assert container.backend.dead_letters.list() == []
    return views


def test_every_change_produced_one_event(six_revisions: list[Any], captured: list[Message]) -> None:
    draft = for_key(captured, "content/blog/post.md")
    published = for_key(captured, "published/blog/post.md")
    assert len(draft) == 7  # create + 6 saves
    assert len(published) == 2
    assert len(for_key(captured, "collections/blog.json")) == 1
    assert [len(m["Records"]) for m in captured] == [1] * len(captured)
    sequencers = [int(next(iter_object_events(m)).sequencer, 16) for m in captured]
    assert sequencers == sorted(sequencers) and len(set(sequencers)) == len(sequencers)
    etags = [next(iter_object_events(m)).etag for m in draft]
    assert etags[-1] == six_revisions[-1]["etag"]


@pytest.mark.parametrize("seed", SEEDS)
def test_replay_on_a_fresh_index_converges_to_the_latest_revision(
    six_revisions: list[Any],
    captured: list[Message],
    container: wiring.Container,
    tmp_path: Path,
    seed: int,
) -> None:
    live = container.backend
    collection_messages = for_key(captured, "collections/")
    entry_messages = for_key(captured, "content/", "published/")
    fresh = fresh_backend(container, tmp_path / f"replay-{seed}.sqlite3")
    deliver(fresh, container, collection_messages)
    deliver(fresh, container, shuffled_with_duplicates(entry_messages, seed))

    for stage, key in (("draft", "content/blog/post.md"), ("published", "published/blog/post.md")):
        expected = expected_from_object(container, key)
        assert index_state(fresh, stage, "post") == expected
        assert index_state(live, stage, "post") == expected
        # the rebuilt row is the very row the live index holds
        assert comparable(fresh.index.get_entry("blog", stage, "post")) == comparable(
            live.index.get_entry("blog", stage, "post")
        )
    assert "Revision 6 <em>body</em>" in index_state(fresh, "draft", "post")["html"]
    assert six_revisions[-1]["etag"] == index_state(fresh, "draft", "post")["source_etag"]
    assert fresh.index.list_object_errors() == []

    # late, older events after the latest one never move it back
    before = {
        s: comparable(fresh.index.get_entry("blog", s, "post")) for s in ("draft", "published")
    }
    deliver(fresh, container, entry_messages[:3] + entry_messages[:1] + collection_messages)
    after = {
        s: comparable(fresh.index.get_entry("blog", s, "post")) for s in ("draft", "published")
    }
    assert after == before


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_replay_on_the_live_index_changes_nothing(
    six_revisions: list[Any], captured: list[Message], container: wiring.Container, seed: int
) -> None:
    live = container.backend
    before = {
        s: comparable(live.index.get_entry("blog", s, "post")) for s in ("draft", "published")
    }
    html_before = index_state(live, "draft", "post")["html"]
    deliver(live, container, shuffled_with_duplicates(list(captured), seed))
    after = {s: comparable(live.index.get_entry("blog", s, "post")) for s in ("draft", "published")}
    assert after == before
    assert index_state(live, "draft", "post")["html"] == html_before


def test_late_event_of_an_older_revision_is_ignored(
    six_revisions: list[Any], captured: list[Message], container: wiring.Container
) -> None:
    live = container.backend
    latest = live.index.get_entry("blog", "draft", "post")
    assert latest is not None and latest.sequencer is not None
    first = for_key(captured, "content/blog/post.md")[0]
    (event,) = list(iter_object_events(first))
    assert int(event.sequencer, 16) < int(latest.sequencer, 16)
    # the old event is "late": the renderer sees the current object, and the index refuses
    # the write because its sequencer is older than the one it holds
    deliver(live, container, [first])
    assert live.index.get_entry("blog", "draft", "post") == latest


def test_delivery_shows_the_latest_revision_after_a_replay(
    six_revisions: list[Any], captured: list[Message], container: wiring.Container, api: Api
) -> None:
    deliver(container.backend, container, list(reversed(captured)))
    body = api.json("GET", "/v1/content/blog/post", auth=False)
    assert body["title"] == "Post rev 6"
    assert "Revision 6 <em>body</em>" in body["html"]
    view = api.json("GET", "/v1/manage/content/blog/post")
    assert view["render"]["status"] == "rendered"
    assert "Revision 6" in view["render"]["html"]


def delete_then_recreate(api: Api) -> None:
    api.collection("blog")
    api.entry("blog", body="first life", title="Phoenix", slug="phoenix")
    save(api, "phoenix", "Phoenix 2", "first life, second save")
    api.publish("blog", "phoenix")
    api.json("DELETE", "/v1/manage/content/blog/phoenix", expect=204)
    api.entry("blog", body="Second **life**.", title="Phoenix reborn", slug="phoenix")
    save(api, "phoenix", "Phoenix reborn 2", "Second **life**, saved again.")


@pytest.mark.parametrize("seed", SEEDS)
def test_delete_then_recreate_converges(
    api: Api, container: wiring.Container, captured: list[Message], tmp_path: Path, seed: int
) -> None:
    delete_then_recreate(api)
    entry_messages = for_key(captured, "content/", "published/")
    names = [next(iter_object_events(m)).event_name for m in entry_messages]
    assert names.count("ObjectRemoved:DeleteMarkerCreated") == 2  # draft and published

    fresh = fresh_backend(container, tmp_path / f"phoenix-{seed}.sqlite3")
    deliver(fresh, container, for_key(captured, "collections/"))
    deliver(fresh, container, shuffled_with_duplicates(entry_messages, seed))

    expected = expected_from_object(container, "content/blog/phoenix.md")
    assert index_state(fresh, "draft", "phoenix") == expected
    assert "<strong>life</strong>, saved again" in expected["html"]
    assert comparable(fresh.index.get_entry("blog", "draft", "phoenix")) == comparable(
        container.backend.index.get_entry("blog", "draft", "phoenix")
    )
    # the published copy was deleted and never re-published: it stays gone
    gone = fresh.index.get_entry("blog", "published", "phoenix")
    assert gone is not None and gone.deleted
    assert fresh.index.list_published(PageQuery("blog", now="2100-01-01T00:00:00Z")) == []


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_replay_ending_in_a_delete_converges_to_gone(
    api: Api, container: wiring.Container, captured: list[Message], tmp_path: Path, seed: int
) -> None:
    api.collection("blog")
    api.entry("blog", body="short life", title="Mayfly", slug="mayfly")
    save(api, "mayfly", "Mayfly 2", "still short")
    api.publish("blog", "mayfly")
    api.json("DELETE", "/v1/manage/content/blog/mayfly", expect=204)

    fresh = fresh_backend(container, tmp_path / f"mayfly-{seed}.sqlite3")
    deliver(fresh, container, for_key(captured, "collections/"))
    deliver(
        fresh,
        container,
        shuffled_with_duplicates(for_key(captured, "content/", "published/"), seed),
    )
    for stage in ("draft", "published"):
        record = fresh.index.get_entry("blog", stage, "mayfly")
        assert record is not None and record.deleted, stage
    assert fresh.index.list_entries(ManageQuery("blog")) == []
    assert fresh.index.count_entries("blog") == 0


# --- objects dropped straight into the store ----------------------------------------------------

DROPPED = """---
title: Dropped post
tags: [News, S3 Sync]
summary: Written by a tool, not the API.
published_at: 2025-01-02T03:04:05Z
---
# Dropped heading

Some **bold** text and a [link](https://example.com).

## Second part

More words here.
"""


def test_dropped_object_is_indexed_like_an_api_write(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    put_markdown(container, "content/blog/dropped.md", DROPPED, drain=False)
    put_markdown(container, "published/blog/dropped.md", DROPPED, drain=False)
    assert container.process_events() == 2

    view = api.json("GET", "/v1/manage/content/blog/dropped")
    assert view["render"]["status"] == "rendered"
    assert view["front_matter"]["title"] == "Dropped post"
    assert "<strong>bold</strong>" in view["render"]["html"]
    (top,) = view["render"]["toc"]
    assert top["title"] == "Dropped heading"
    assert [c["title"] for c in top["children"]] == ["Second part"]
    assert view["publication"]["state"] == "published"
    assert view["publication"]["published_at"] == "2025-01-02T03:04:05Z"
    drafts = api.json("GET", "/v1/manage/content/blog")["items"]
    assert [(d["slug"], d["render_status"]) for d in drafts] == [("dropped", "rendered")]

    delivered = api.json("GET", "/v1/content/blog/dropped", auth=False)
    assert delivered["published_at"] == "2025-01-02T03:04:05Z"
    assert delivered["tags"] == ["news", "s3 sync"]
    listed = api.json("GET", "/v1/content/blog?tag=news", auth=False)["items"]
    assert [i["slug"] for i in listed] == ["dropped"]

    # the same document through the API gives the same reader-visible result
    fm, body = frontmatter.parse(DROPPED)
    api.json(
        "POST",
        "/v1/manage/content/blog",
        {"front_matter": {**fm, "slug": "via-api"}, "body": body},
        expect=201,
    )
    api.publish("blog", "via-api")
    via_api = api.json("GET", "/v1/content/blog/via-api", auth=False)
    for field in (
        "title",
        "summary",
        "tags",
        "published_at",
        "html",
        "toc",
        "excerpt",
        "word_count",
        "reading_time_minutes",
    ):
        assert delivered[field] == via_api[field], field
    assert container.backend.index.list_object_errors() == []


def test_dropped_published_object_without_date_uses_the_object_time(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    text = "---\ntitle: Undated\n---\nNo date in the front matter.\n"
    put_markdown(container, "content/blog/undated.md", text, drain=False)
    put_markdown(container, "published/blog/undated.md", text)
    info = container.backend.objects.head("published/blog/undated.md")
    assert info is not None
    delivered = api.json("GET", "/v1/content/blog/undated", auth=False)
    assert delivered["published_at"] == to_iso(info.last_modified)
    assert "No date in the front matter." in delivered["html"]


@pytest.mark.parametrize(
    ("written", "published_at"),
    [
        ("date: 2024-01-05", "2024-01-05T00:00:00Z"),
        ("date: 2024-01-05 10:30:00 +0100", "2024-01-05T09:30:00Z"),
        ("date: 1704164645", "2024-01-02T03:04:05Z"),  # Unix seconds
        ("date: 02 Jan 2024", "2024-01-02T00:00:00Z"),
        ("date: Tue, 02 Jan 2024 15:04:05 -0700", "2024-01-02T22:04:05Z"),  # RFC 1123Z
        ("date: Tue Jan  2 15:04:05 2024", "2024-01-02T15:04:05Z"),  # ANSIC
        ("date = 2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),  # TOML's own date-time
    ],
)
def test_a_dropped_page_is_published_at_any_date_form_hugo_reads(
    api: Api, container: wiring.Container, written: str, published_at: str
) -> None:
    api.collection("blog")
    fence = "+++" if " = " in written else "---"
    text = f"{fence}\ntitle: Dated\n{written}\n{fence}\nBody.\n".replace(
        "title: Dated", 'title = "Dated"' if fence == "+++" else "title: Dated"
    )
    put_markdown(container, "content/blog/dated.md", text, drain=False)
    put_markdown(container, "published/blog/dated.md", text)
    assert api.json("GET", "/v1/content/blog/dated", auth=False)["published_at"] == published_at


def test_dropped_draft_only_is_not_delivered(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    put_markdown(container, "content/blog/draft-only.md", DROPPED)
    assert api.json("GET", "/v1/manage/content/blog/draft-only")["render"]["status"] == "rendered"
    response = api.call("GET", "/v1/content/blog/draft-only", auth=False)
    assert response.status_code == 404
    problem(response)


def test_dropped_object_with_invalid_front_matter_is_failed(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    api.entry("blog", title="Fine", body="fine")
    put_markdown(container, "content/blog/broken.md", "---\ntags: {a: 1}\n---\nBad tags.\n")
    view = api.json("GET", "/v1/manage/content/blog/broken")
    assert view["render"]["status"] == "failed"
    assert "tags" in view["render"]["error"]
    failed = api.json("GET", "/v1/manage/content/blog?status=failed")["items"]
    assert [(i["slug"], i["render_status"]) for i in failed] == [("broken", "failed")]
    assert "tags" in failed[0]["render_error"]
    rendered = api.json("GET", "/v1/manage/content/blog?status=rendered")["items"]
    assert [i["slug"] for i in rendered] == ["fine"]
    assert container.backend.dead_letters.list() == []  # recorded, not crash-looped

    # fixing the object fixes the entry
    put_markdown(container, "content/blog/broken.md", "---\ntitle: Mended\n---\nNow fine.\n")
    view = api.json("GET", "/v1/manage/content/blog/broken")
    assert view["render"]["status"] == "rendered"
    assert api.json("GET", "/v1/manage/content/blog?status=failed")["items"] == []


def test_dropped_object_failing_a_collection_schema(api: Api, container: wiring.Container) -> None:
    api.collection("recipes", fields={"serves": {"type": "number", "required": True}})
    put_markdown(
        container, "content/recipes/soup.md", "---\ntitle: Soup\nserves: lots\n---\nStir.\n"
    )
    view = api.json("GET", "/v1/manage/content/recipes/soup")
    assert view["render"]["status"] == "failed"
    assert "serves" in view["render"]["error"]


def test_invalid_yaml_is_recorded_as_failed(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    put_markdown(container, "content/blog/bad-yaml.md", "---\ntitle: [unclosed\n---\nbody\n")
    failed = api.json("GET", "/v1/manage/content/blog?status=failed")["items"]
    assert [i["slug"] for i in failed] == ["bad-yaml"]
    assert "YAML" in failed[0]["render_error"]


def test_invalid_yaml_entry_can_still_be_opened_by_editors(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    put_markdown(container, "content/blog/bad-yaml.md", "---\ntitle: [unclosed\n---\nbody\n")
    view = api.json("GET", "/v1/manage/content/blog/bad-yaml")
    assert view["render"]["status"] == "failed"
    assert "YAML" in view["render"]["error"]


def test_bad_published_object_keeps_serving_the_last_good_version(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    api.entry("blog", title="Stable", slug="stable", body="The **good** version.")
    api.publish("blog", "stable")
    good = api.json("GET", "/v1/content/blog/stable", auth=False)
    assert "<strong>good</strong>" in good["html"]

    put_markdown(container, "published/blog/stable.md", "---\ntags: {not: a list}\n---\nBad.\n")
    still = api.json("GET", "/v1/content/blog/stable", auth=False)
    assert still["html"] == good["html"] and still["title"] == "Stable"
    assert [i["slug"] for i in api.json("GET", "/v1/content/blog", auth=False)["items"]] == [
        "stable"
    ]
    publication = api.json("GET", "/v1/manage/content/blog/stable")["publication"]
    assert publication["state"] == "published"
    assert publication["render_status"] == "failed"
    assert publication["render_error"]

    put_markdown(container, "published/blog/stable.md", "---\ntitle: Stable v2\n---\nNew **text**.")
    fixed = api.json("GET", "/v1/content/blog/stable", auth=False)
    assert fixed["title"] == "Stable v2" and "<strong>text</strong>" in fixed["html"]
    assert api.json("GET", "/v1/manage/content/blog/stable")["publication"]["render_error"] is None


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("content/nope/x.md", ["collection", "nope"]),
        ("content/blog/!!!.md", ["slug"]),
        ("content/blog/x.txt", ["entry key"]),
        ("content/blog/a/.hidden/b.md", ["hidden"]),
        ("content/blog/.md", []),
        ("published/Bad_Coll/x.md", []),
        ("collections/Bad Coll.json", []),
        ("collections/broken.json", ["collection"]),
    ],
)
def test_unindexable_objects_are_listed_as_errors(
    api: Api, container: wiring.Container, key: str, words: list[str]
) -> None:
    api.collection("blog")
    data = b"not json" if key.endswith(".json") else b"---\ntitle: Orphan\n---\nbody\n"
    container.backend.objects.put(key, data, content_type=MD)
    container.process_events()
    # the request path keeps working
    api.entry("blog", title="Still works", body="yes")
    assert api.json("GET", "/v1/manage/content/blog/still-works")["render"]["status"] == "rendered"

    errors = api.json("GET", "/v1/manage/errors")["items"]
    assert [e["key"] for e in errors] == [key]
    assert errors[0]["error"] and errors[0]["recorded_at"]
    for word in words:
        assert word.lower() in errors[0]["error"].lower()
    assert container.backend.dead_letters.list() == []
    assert [c["name"] for c in api.json("GET", "/v1/manage/collections")["items"]] == ["blog"]


def test_object_error_clears_when_the_object_is_fixed(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    put_markdown(container, "content/later/x.md", "---\ntitle: Early\n---\nbody\n")
    assert [e["key"] for e in api.json("GET", "/v1/manage/errors")["items"]] == [
        "content/later/x.md"
    ]
    api.collection("later")
    put_markdown(container, "content/later/x.md", "---\ntitle: Early\n---\nbody again\n")
    assert api.json("GET", "/v1/manage/errors")["items"] == []
    assert api.json("GET", "/v1/manage/content/later/x")["render"]["status"] == "rendered"


def test_non_utf8_object_fails_cleanly(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    put_markdown(
        container,
        "content/blog/latin.md",
        "---\ntitle: Caf\xe9\n---\n\xe9t\xe9\n".encode("latin-1"),
    )
    put_markdown(container, "content/blog/binary.md", bytes(range(256)))
    failed = api.json("GET", "/v1/manage/content/blog?status=failed")["items"]
    assert {i["slug"]: "UTF-8" in i["render_error"] for i in failed} == {
        "binary": True,
        "latin": True,
    }
    assert container.backend.dead_letters.list() == []
    api.entry("blog", title="Unaffected", body="fine")
    assert api.json("GET", "/v1/manage/content/blog/unaffected")["render"]["status"] == "rendered"


def test_non_utf8_entry_can_be_opened_without_a_server_error(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    put_markdown(container, "content/blog/latin.md", "---\ntitle: Caf\xe9\n---\n".encode("latin-1"))
    response = api.call("GET", "/v1/manage/content/blog/latin")
    assert response.status_code != 500
    if response.status_code == 200:
        assert json.loads(response.body)["render"]["status"] == "failed"
    else:
        assert "UTF-8" in problem(response)["detail"]


def test_non_utf8_published_object_keeps_the_last_good_version(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    api.entry("blog", title="Kept", slug="kept", body="Good text.")
    api.publish("blog", "kept")
    put_markdown(container, "published/blog/kept.md", b"\xff\xfe\x00garbage")
    delivered = api.json("GET", "/v1/content/blog/kept", auth=False)
    assert "Good text." in delivered["html"]


# --- retries and dead letters -------------------------------------------------------------------


def fail_for(monkeypatch: pytest.MonkeyPatch, key: str, calls: list[str]) -> Callable[[], None]:
    """Make rendering raise for one key; returns a function that removes the fault."""
    real = rendering.on_entry_object

    def faulty(backend: Backend, limits: Any, event: Any) -> None:
        if event.key == key:
            calls.append(event.key)
            raise RuntimeError("renderer is down")
        real(backend, limits, event)

    monkeypatch.setattr(rendering, "on_entry_object", faulty)
    return lambda: monkeypatch.setattr(rendering, "on_entry_object", real)


def test_failing_render_is_retried_then_dead_lettered(
    api: Api, container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.collection("blog")
    calls: list[str] = []
    fail_for(monkeypatch, "content/blog/doomed.md", calls)
    created = api.entry("blog", title="Doomed", body="never rendered")  # the request succeeds
    assert created["slug"] == "doomed"
    assert calls == ["content/blog/doomed.md"] * 3

    api.entry("blog", title="Healthy", body="Rendered **fine**.")
    healthy = api.json("GET", "/v1/manage/content/blog/healthy")
    assert healthy["render"]["status"] == "rendered"
    assert calls == ["content/blog/doomed.md"] * 3  # no more attempts on later drains

    letters = api.json("GET", "/v1/manage/events/dead-letters")["items"]
    assert len(letters) == 1
    assert letters[0]["attempts"] == 3
    assert "renderer is down" in letters[0]["error"]
    assert keys_of(letters[0]["message"]) == ["content/blog/doomed.md"]

    view = api.json("GET", "/v1/manage/content/blog/doomed")
    assert view["render"]["status"] == "failed"
    assert "retries" in view["render"]["error"] and "renderer is down" in view["render"]["error"]
    failed = api.json("GET", "/v1/manage/content/blog?status=failed")["items"]
    assert [i["slug"] for i in failed] == ["doomed"]

    # dead letters are for admins only
    response = api.call("GET", "/v1/manage/events/dead-letters", auth=False)
    assert response.status_code == 401
    problem(response)


def test_a_new_save_after_a_dead_letter_renders(
    api: Api, container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.collection("blog")
    calls: list[str] = []
    heal = fail_for(monkeypatch, "content/blog/doomed.md", calls)
    api.entry("blog", title="Doomed", body="first")
    heal()
    save(api, "doomed", "Doomed", "Second *try*.")
    view = api.json("GET", "/v1/manage/content/blog/doomed")
    assert view["render"]["status"] == "rendered"
    assert "Second <em>try</em>." in view["render"]["html"]


def test_redrive_after_the_fault_is_removed_renders_the_entry(
    api: Api, container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.collection("blog")
    calls: list[str] = []
    heal = fail_for(monkeypatch, "content/blog/doomed.md", calls)
    api.entry("blog", title="Doomed", body="Rendered *at last*.")
    assert len(api.json("GET", "/v1/manage/events/dead-letters")["items"]) == 1
    heal()
    assert api.json("POST", "/v1/manage/events/dead-letters/redrive", {}) == {"redriven": 1}
    assert api.json("GET", "/v1/manage/events/dead-letters")["items"] == []
    view = api.json("GET", "/v1/manage/content/blog/doomed")
    assert view["render"]["status"] == "rendered", view["render"]
    assert "<em>at last</em>" in view["render"]["html"]


def test_redrive_by_id_puts_only_that_message_back(
    api: Api, container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.collection("blog")
    calls: list[str] = []
    real = rendering.on_entry_object

    def faulty(backend: Backend, limits: Any, event: Any) -> None:
        calls.append(event.key)
        raise RuntimeError("down")

    monkeypatch.setattr(rendering, "on_entry_object", faulty)
    api.entry("blog", title="One", body="1")
    api.entry("blog", title="Two", body="2")
    letters = api.json("GET", "/v1/manage/events/dead-letters")["items"]
    assert [keys_of(d["message"]) for d in letters] == [
        ["content/blog/one.md"],
        ["content/blog/two.md"],
    ]
    monkeypatch.setattr(rendering, "on_entry_object", real)
    calls.clear()
    monkeypatch.setattr(
        rendering,
        "on_entry_object",
        lambda b, limits, e: (calls.append(e.key), real(b, limits, e))[1],
    )
    result = api.json(
        "POST",
        "/v1/manage/events/dead-letters/redrive",
        {"ids": [letters[1]["id"], "424242", "nonsense"]},
    )
    assert result == {"redriven": 1}
    assert calls == ["content/blog/two.md"]  # delivered by the request's own drain
    remaining = api.json("GET", "/v1/manage/events/dead-letters")["items"]
    assert [d["id"] for d in remaining] == [letters[0]["id"]]

    response = api.call("POST", "/v1/manage/events/dead-letters/redrive", {"ids": "all"})
    assert response.status_code == 400
    problem(response)


# --- restarts -----------------------------------------------------------------------------------


def test_data_survives_a_new_container(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    for n in range(3):
        api.entry("blog", title=f"Entry {n}", body=f"Body {n}.", published_at=f"2025-01-0{n + 1}")
        api.publish("blog", f"entry-{n}")
    save(api, "entry-0", "Entry 0", "Body 0, revised.")
    page = api.json("GET", "/v1/content/blog?limit=2", auth=False)
    assert page["next_cursor"]

    wiring.reset()
    restarted = wiring.container()
    assert restarted is not container
    assert restarted.backend.index.get_collection("blog") is not None

    assert [c["name"] for c in api.json("GET", "/v1/manage/collections")["items"]] == ["blog"]
    view = api.json("GET", "/v1/manage/content/blog/entry-0")
    assert view["body"] == "Body 0, revised." and view["render"]["status"] == "rendered"
    revisions = api.json("GET", "/v1/manage/content/blog/entry-0/revisions")["items"]
    assert len(revisions) == 2
    entry = api.json("GET", "/v1/content/blog/entry-1", auth=False)
    assert "Body 1." in entry["html"]
    # the cursor signing secret survives too: a cursor from before the restart still works
    rest = api.json("GET", f"/v1/content/blog?limit=2&cursor={page['next_cursor']}", auth=False)
    assert [i["slug"] for i in rest["items"]] == ["entry-0"]


def test_pending_event_is_delivered_when_the_next_container_starts(
    api: Api, container: wiring.Container, data_dir: Path
) -> None:
    api.collection("blog")
    container.events.stop()  # no background delivery: the process is about to "die"
    put_markdown(container, "content/blog/left-behind.md", DROPPED, drain=False)
    assert container.backend.index.get_entry("blog", "draft", "left-behind") is None

    wiring.reset()  # the process "dies" before delivering the event
    probe = Database(data_dir / "objects.sqlite3", object_store.SCHEMA + event_queue.SCHEMA)
    assert event_queue.EventQueue(probe).pending() == 1

    restarted = wiring.container()  # starting up hands what was left to the thread
    assert restarted.events.wait_until_idle(10)
    record = restarted.backend.index.get_entry("blog", "draft", "left-behind")
    assert record is not None and record.render_status == "rendered"
    assert event_queue.EventQueue(probe).pending() == 0
    assert api.json("GET", "/v1/manage/content/blog/left-behind")["render"]["status"] == "rendered"
    probe.close()


# --- messages without object changes --------------------------------------------------------------

TEST_EVENT = {
    "Service": "Amazon S3",
    "Event": "s3:TestEvent",
    "Time": "2025-06-01T12:00:00.000Z",
    "Bucket": "cms-local",
    "RequestId": "5582815E1AEA5ADF",
    "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
}


def other_record(source: str = "aws:sqs") -> dict[str, Any]:
    return {"eventSource": source, "eventName": "ObjectCreated:Put", "body": "{}"}


def test_test_events_and_foreign_records_are_ignored(api: Api, container: wiring.Container) -> None:
    api.collection("blog")
    backend = container.backend
    limits = container.limits
    assert events.handle_notification(backend, limits, TEST_EVENT) == 0
    assert events.handle_notification(backend, limits, json.dumps(TEST_EVENT)) == 0
    assert events.handle_notification(backend, limits, {"Records": [other_record()]}) == 0
    assert events.handle_notification(backend, limits, {"Records": []}) == 0
    assert events.handle_notification(backend, limits, {}) == 0
    assert events.handle_notification(backend, limits, json.dumps([1, 2])) == 0

    container.backend.objects.put(
        "content/blog/mixed.md", b"---\ntitle: Mixed\n---\nbody", content_type=MD
    )
    info = container.backend.objects.head("content/blog/mixed.md")
    assert info is not None
    real = make_record(
        bucket="cms-local",
        key="content/blog/mixed.md",
        event_name="ObjectCreated:Put",
        sequencer="FFFFFFFFFFFFFFFF",
        version_id=info.version_id,
        etag=info.etag,
    )
    mixed = {"Records": [other_record("aws:sns"), real, other_record("aws:dynamodb")]}
    assert events.handle_notification(backend, limits, mixed) == 1
    record = backend.index.get_entry("blog", "draft", "mixed")
    assert record is not None and record.render_status == "rendered"
    assert backend.index.list_object_errors() == []


def test_test_event_in_the_queue_is_consumed_quietly(
    api: Api, container: wiring.Container, data_dir: Path
) -> None:
    api.collection("blog")
    db = Database(data_dir / "objects.sqlite3", object_store.SCHEMA + event_queue.SCHEMA)
    queue = event_queue.EventQueue(db)
    with db.transaction() as conn:
        queue.enqueue(conn, TEST_EVENT)
        queue.enqueue(conn, {"Records": [other_record()]})
    assert container.process_events() == 2
    assert queue.pending() == 0
    assert container.backend.dead_letters.list() == []
    assert container.backend.index.list_object_errors() == []
    db.close()


def test_malformed_record_does_not_break_the_next_write(
    api: Api, container: wiring.Container, data_dir: Path
) -> None:
    api.collection("blog")
    db = Database(data_dir / "objects.sqlite3", object_store.SCHEMA + event_queue.SCHEMA)
    with db.transaction() as conn:
        event_queue.EventQueue(db).enqueue(
            conn, {"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}
        )
    response = api.call(
        "POST", "/v1/manage/content/blog", {"front_matter": {"title": "After"}, "body": "x"}
    )
    assert response.status_code == 201, response.body
    assert api.json("GET", "/v1/manage/content/blog/after")["render"]["status"] == "rendered"
    assert container.events.wait_until_idle(10)  # the older message is the thread's
    assert len(api.json("GET", "/v1/manage/events/dead-letters")["items"]) == 1
    db.close()


def test_a_document_too_deep_to_render_fails_alone_and_reindex_goes_on(
    api: Api, container: wiring.Container
) -> None:
    api.collection("blog")
    put_markdown(container, "content/blog/a-first.md", "---\ntitle: A\n---\nfine\n")
    put_markdown(container, "content/blog/b-deep.md", "---\ntitle: B\n---\n" + "T\n: d\n" * 500)
    put_markdown(container, "content/blog/c-last.md", "---\ntitle: C\n---\nfine\n")
    view = api.json("GET", "/v1/manage/content/blog/b-deep")
    assert view["render"]["status"] == "failed"
    assert "render-too-complex" in view["render"]["error"]
    assert container.backend.dead_letters.list() == []
    report = api.json("POST", "/v1/manage/reindex")
    assert report["entries"] == 3
    listed = {
        i["slug"]: i["render_status"] for i in api.json("GET", "/v1/manage/content/blog")["items"]
    }
    assert listed == {"a-first": "rendered", "b-deep": "failed", "c-last": "rendered"}


@pytest.mark.parametrize(
    "document",
    [
        "---\ntitle: A\ntags: [x, y]\nauthor: {name: Ann}\n---\nBody.\n",
        '+++\ntitle = "A"\ntags = ["x", "y"]\n[author]\nname = "Ann"\n+++\nBody.\n',
        '{"title": "A", "tags": ["x", "y"], "author": {"name": "Ann"}}\nBody.\n',
    ],
)
def test_front_matter_parsed_again_is_an_equal_copy_of_its_own(document: str) -> None:
    """Parsed once, then copies (a write and both events parse the same text): what one
    caller changes in its mapping never shows in the next caller's."""
    first, body = frontmatter.parse(document)
    first["title"] = "changed"
    first["tags"].append("z")
    second, again = frontmatter.parse(document)
    assert second == {"title": "A", "tags": ["x", "y"], "author": {"name": "Ann"}}
    assert again == body == "Body.\n"
    second["author"]["name"] = "Bob"
    assert frontmatter.parse(document)[0]["author"] == {"name": "Ann"}
    with pytest.raises(ValidationFailed):  # an error is raised every time, never remembered
        frontmatter.parse("---\ntitle: [\n---\nx")
    with pytest.raises(ValidationFailed):
        frontmatter.parse("---\ntitle: [\n---\nx")
