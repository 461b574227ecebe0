"""Unit tests of the local adapters, built directly in a temp dir (no HTTP, no container)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.local import event_queue, object_store, sqlite_index
from chalicelib.adapters.local.config_file import JsonConfigStore
from chalicelib.adapters.local.event_queue import EventQueue, LocalDeadLetters
from chalicelib.adapters.local.object_store import LocalObjectStore
from chalicelib.adapters.local.sqlite import Database
from chalicelib.adapters.local.sqlite_index import SqliteIndex
from chalicelib.domain.entries import EntryRecord
from chalicelib.domain.s3_events import iter_object_events
from chalicelib.ports import (
    SORT_ORDERS,
    InvalidObjectKey,
    ManageQuery,
    ObjectNotFound,
    ObjectPreconditionFailed,
    PageQuery,
)

MD = "text/markdown; charset=utf-8"


# --- object store fixtures ------------------------------------------------------------------


@dataclass
class Store:
    db: Database
    queue: EventQueue
    objects: LocalObjectStore
    blobs: Path

    def messages(self) -> list[dict[str, Any]]:
        rows = self.db.connection().execute("SELECT body FROM event_queue ORDER BY id").fetchall()
        return [json.loads(r["body"]) for r in rows]

    def version_rows(self, key: str) -> int:
        row = (
            self.db.connection()
            .execute("SELECT COUNT(*) FROM object_versions WHERE key = ?", (key,))
            .fetchone()
        )
        return int(row[0])


def make_store(root: Path) -> Store:
    db = Database(root / "objects.sqlite3", object_store.SCHEMA + event_queue.SCHEMA)
    queue = EventQueue(db)
    blobs = root / "blobs"
    return Store(db, queue, LocalObjectStore(db, blobs, events=queue), blobs)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    built = make_store(tmp_path)
    yield built
    built.db.close()


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


# --- LocalObjectStore -------------------------------------------------------------------------


def test_put_get_head(store: Store) -> None:
    info = store.objects.put(
        "content/blog/a.md", b"# Hello", content_type=MD, metadata={"who": "me"}
    )
    assert info.key == "content/blog/a.md"
    assert info.size == 7
    assert info.etag == hashlib.md5(b"# Hello").hexdigest()  # S3's ETag of a single-part PUT
    assert len(info.etag) == 32 and int(info.etag, 16) >= 0

    got = store.objects.get("content/blog/a.md")
    assert got.data == b"# Hello"
    assert got.info.version_id == info.version_id
    assert got.info.etag == info.etag
    assert got.info.content_type == MD
    assert dict(got.info.metadata) == {"who": "me"}
    assert got.info.is_latest and not got.info.is_delete_marker

    head = store.objects.head("content/blog/a.md")
    assert head is not None
    assert (head.etag, head.size, head.version_id) == (info.etag, 7, info.version_id)
    assert store.objects.head("content/blog/missing.md") is None
    with pytest.raises(ObjectNotFound):
        store.objects.get("content/blog/missing.md")


def test_versions_are_kept_newest_first(store: Store) -> None:
    key = "content/blog/v.md"
    infos = [store.objects.put(key, f"rev {i}".encode(), content_type=MD) for i in range(3)]
    versions = store.objects.list_versions(key)
    assert [v.version_id for v in versions] == [i.version_id for i in reversed(infos)]
    assert [v.is_latest for v in versions] == [True, False, False]
    assert store.objects.get(key).data == b"rev 2"
    for i, info in enumerate(infos):
        old = store.objects.get(key, version_id=info.version_id)
        assert old.data == f"rev {i}".encode()
        assert old.info.etag == hashlib.md5(f"rev {i}".encode()).hexdigest()
    with pytest.raises(ObjectNotFound):
        store.objects.get(key, version_id="0" * 32)
    # a version id of another key is not readable through this key
    other = store.objects.put("content/blog/w.md", b"other", content_type=MD)
    with pytest.raises(ObjectNotFound):
        store.objects.get(key, version_id=other.version_id)


def test_delete_creates_a_delete_marker(store: Store) -> None:
    key = "content/blog/d.md"
    first = store.objects.put(key, b"one", content_type=MD)
    second = store.objects.put(key, b"two", content_type=MD)
    store.objects.delete(key)
    with pytest.raises(ObjectNotFound):
        store.objects.get(key)
    assert store.objects.head(key) is None
    versions = store.objects.list_versions(key)
    assert len(versions) == 3
    marker = versions[0]
    assert marker.is_delete_marker and marker.is_latest
    assert [v.version_id for v in versions[1:]] == [second.version_id, first.version_id]
    assert not any(v.is_latest for v in versions[1:])
    assert store.objects.get(key, version_id=first.version_id).data == b"one"
    assert store.objects.get(key, version_id=second.version_id).data == b"two"
    with pytest.raises(ObjectNotFound):  # the marker itself has no bytes
        store.objects.get(key, version_id=marker.version_id)
    # writing again after the delete works and becomes current
    store.objects.put(key, b"three", content_type=MD)
    assert store.objects.get(key).data == b"three"


def test_delete_if_match_stale_is_refused(store: Store) -> None:
    key = "content/blog/d.md"
    info = store.objects.put(key, b"one", content_type=MD)
    with pytest.raises(ObjectPreconditionFailed):
        store.objects.delete(key, if_match="0" * 32)
    assert store.objects.get(key).data == b"one"
    store.objects.delete(key, if_match=info.etag)
    assert store.objects.head(key) is None


def test_if_none_match_on_existing_key_fails(store: Store) -> None:
    key = "content/blog/n.md"
    store.objects.put(key, b"first", content_type=MD, if_none_match=True)
    events_before = len(store.messages())
    with pytest.raises(ObjectPreconditionFailed):
        store.objects.put(key, b"second", content_type=MD, if_none_match=True)
    assert store.objects.get(key).data == b"first"
    assert store.version_rows(key) == 1
    assert len(store.messages()) == events_before
    # after a delete the key has no current object: if_none_match succeeds again
    store.objects.delete(key)
    store.objects.put(key, b"again", content_type=MD, if_none_match=True)
    assert store.objects.get(key).data == b"again"


def test_if_match_stale_writes_nothing(store: Store) -> None:
    key = "content/blog/m.md"
    info = store.objects.put(key, b"first", content_type=MD)
    events_before = len(store.messages())
    with pytest.raises(ObjectPreconditionFailed):
        store.objects.put(key, b"stale write", content_type=MD, if_match="0" * 32)
    with pytest.raises(ObjectPreconditionFailed):  # if_match on a missing key fails too
        store.objects.put("content/blog/none.md", b"x", content_type=MD, if_match=info.etag)
    assert store.version_rows(key) == 1
    assert store.version_rows("content/blog/none.md") == 0
    assert store.objects.get(key).data == b"first"
    assert len(store.messages()) == events_before
    assert temp_files(store.blobs) == []
    updated = store.objects.put(key, b"second", content_type=MD, if_match=info.etag)
    assert store.objects.get(key).info.etag == updated.etag


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "/abs",
        "a/../b",
        "a//b",
        "a/./b",
        "./a",
        "..",
        "a/..",
        "a\x00b",
        "a\nb",
        "a\rb",
        "a\\b",
        "..\\x",
        "C:x",
        "c:/windows",
        "",
        "x" * 1025,
    ],
)
def test_keys_that_escape_are_rejected(store: Store, key: str) -> None:
    with pytest.raises(InvalidObjectKey):
        store.objects.put(key, b"x", content_type=MD)
    with pytest.raises(InvalidObjectKey):
        store.objects.get(key)
    with pytest.raises(InvalidObjectKey):
        store.objects.head(key)
    with pytest.raises(InvalidObjectKey):
        store.objects.delete(key)
    with pytest.raises(InvalidObjectKey):
        store.objects.list_versions(key)
    assert store.db.connection().execute("SELECT COUNT(*) FROM object_versions").fetchone()[0] == 0
    assert store.messages() == []
    # nothing was written outside the blob folder
    assert not (store.blobs.parent.parent / "x").exists()


def test_list_objects_by_prefix_in_key_order_skipping_deleted(store: Store) -> None:
    for key in ["content/b/2.md", "content/a/1.md", "content/b/1.md", "contentx/z.md", "media/m"]:
        store.objects.put(key, key.encode(), content_type=MD)
    store.objects.put("content/b/2.md", b"newer", content_type=MD)
    store.objects.delete("content/b/1.md")
    listed = list(store.objects.list_objects("content/"))
    assert [o.key for o in listed] == ["content/a/1.md", "content/b/2.md"]
    assert listed[1].etag == hashlib.md5(b"newer").hexdigest()
    assert all(o.is_latest and not o.is_delete_marker for o in listed)
    assert [o.key for o in store.objects.list_objects("content/b/")] == ["content/b/2.md"]
    assert [o.key for o in store.objects.list_objects("content")] == [
        "content/a/1.md",
        "content/b/2.md",
        "contentx/z.md",
    ]
    assert list(store.objects.list_objects("nothing/")) == []


def test_list_objects_pages_past_1000(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "fsync", lambda fd: None)  # speed only: 1005 tiny blobs
    keys = [f"media/{i:05d}" for i in range(1005)]
    for key in keys:
        store.objects.put(key, key.encode(), content_type="text/plain")
    store.objects.put("mediaz/after", b"x", content_type="text/plain")
    listed = [o.key for o in store.objects.list_objects("media/")]
    assert listed == keys
    assert len(set(listed)) == 1005


LARGE = b"x" * (object_store.INLINE_MAX_BYTES + 1)


def test_small_objects_live_in_the_version_row_and_large_ones_in_blob_files(
    store: Store,
) -> None:
    store.objects.put("content/blog/small.md", b"small", content_type=MD)
    store.objects.put("media/big/original", LARGE, content_type="image/png")
    assert temp_files(store.blobs) == []
    blob_files = [p for p in store.blobs.rglob("*") if p.is_file()]
    assert [p.name for p in blob_files] == [hashlib.sha256(LARGE).hexdigest()]
    assert store.objects.get("content/blog/small.md").data == b"small"
    assert store.objects.get("media/big/original").data == LARGE


def test_blob_write_is_atomic(store: Store) -> None:
    store.objects.put("content/blog/a.md", LARGE + b"atomic", content_type=MD)
    assert temp_files(store.blobs) == []
    name = hashlib.sha256(LARGE + b"atomic").hexdigest()
    assert (store.blobs / name[:2] / name).read_bytes() == LARGE + b"atomic"


def test_failed_rename_leaves_no_version_and_no_temp_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    data = LARGE + b"never lands"
    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.objects.put("content/blog/a.md", data, content_type=MD)
    assert store.version_rows("content/blog/a.md") == 0
    assert store.objects.head("content/blog/a.md") is None
    assert temp_files(store.blobs) == []
    name = hashlib.sha256(data).hexdigest()
    assert not (store.blobs / name[:2] / name).exists()
    assert store.messages() == []
    monkeypatch.undo()
    store.objects.put("content/blog/a.md", data, content_type=MD)
    assert store.objects.get("content/blog/a.md").data == data


def test_each_change_enqueues_one_s3_shaped_event(store: Store) -> None:
    key = "content/blog/hello world+1 \u00e9\u6f22.md"
    created = store.objects.put(key, b"body", content_type=MD)
    messages = store.messages()
    assert len(messages) == 1
    (record,) = messages[0]["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == "cms-local"
    obj = record["s3"]["object"]
    assert " " not in obj["key"] and "\u00e9" not in obj["key"]  # URL-encoded like S3
    assert obj["eTag"] == created.etag == hashlib.md5(b"body").hexdigest()
    assert obj["versionId"] == created.version_id
    assert obj["size"] == 4
    (event,) = list(iter_object_events(messages[0]))
    assert event.key == key
    assert event.etag == created.etag
    assert event.version_id == created.version_id
    assert not event.is_removal
    # the JSON body of an SQS message reads the same
    assert list(iter_object_events(json.dumps(messages[0]))) == [event]

    updated = store.objects.put(key, b"body 2", content_type=MD)
    store.objects.delete(key)
    messages = store.messages()
    assert len(messages) == 3
    events = [e for m in messages for e in iter_object_events(m)]
    assert [e.event_name for e in events] == [
        "ObjectCreated:Put",
        "ObjectCreated:Put",
        "ObjectRemoved:DeleteMarkerCreated",
    ]
    assert events[1].version_id == updated.version_id
    assert events[2].is_removal and events[2].key == key
    assert events[2].version_id == store.objects.list_versions(key)[0].version_id
    sequencers = [e.sequencer for e in events]
    assert all(len(s) == len(sequencers[0]) for s in sequencers)
    assert [int(s, 16) for s in sequencers] == sorted({int(s, 16) for s in sequencers})


def test_sequencers_increase_across_keys(store: Store) -> None:
    for i in range(5):
        store.objects.put(f"content/blog/{i}.md", b"x", content_type=MD)
    sequencers = [e.sequencer for m in store.messages() for e in iter_object_events(m)]
    assert len(sequencers) == 5
    values = [int(s, 16) for s in sequencers]
    assert values == sorted(values) and len(set(values)) == 5


def test_keys_outside_notify_prefixes_enqueue_nothing(store: Store) -> None:
    store.objects.put("rendered/blog/a/abc.html", b"<p>x</p>", content_type="text/html")
    store.objects.put("other/x", b"x", content_type="text/plain")
    store.objects.delete("rendered/blog/a/abc.html")
    store.objects.put("media/a1/640.webp", b"x", content_type="image/webp")
    store.objects.put("media/a1/manifest.json", b"{}", content_type="application/json")
    assert store.messages() == []
    for key in (
        "content/x.md",
        "published/x.md",
        "media/a1/original",
        "media/a1/meta.json",
        "collections/x.json",
    ):
        store.objects.put(key, b"x", content_type="text/plain")
    assert len(store.messages()) == 5


def test_failed_conditional_delete_and_missing_delete_enqueue_nothing(store: Store) -> None:
    store.objects.delete("content/blog/never.md")
    assert store.messages() == []
    store.objects.put("content/blog/a.md", b"x", content_type=MD)
    with pytest.raises(ObjectPreconditionFailed):
        store.objects.delete("content/blog/a.md", if_match="f" * 32)
    assert len(store.messages()) == 1


# --- EventQueue -------------------------------------------------------------------------------


def enqueue(store: Store, body: dict[str, Any]) -> None:
    with store.db.transaction() as conn:
        store.queue.enqueue(conn, body)


def test_drain_delivers_in_order(store: Store) -> None:
    for i in range(5):
        enqueue(store, {"n": i})
    assert store.queue.pending() == 5
    seen: list[int] = []
    assert store.queue.drain(lambda m: seen.append(m["n"])) == 5
    assert seen == [0, 1, 2, 3, 4]
    assert store.queue.pending() == 0
    assert store.queue.drain(lambda m: seen.append(-1)) == 0
    assert seen == [0, 1, 2, 3, 4]


def test_drain_max_messages(store: Store) -> None:
    for i in range(3):
        enqueue(store, {"n": i})
    seen: list[int] = []
    assert store.queue.drain(lambda m: seen.append(m["n"]), max_messages=2) == 2
    assert seen == [0, 1]
    assert store.queue.pending() == 1


def test_failing_handler_is_retried_then_dead_lettered(store: Store) -> None:
    enqueue(store, {"n": "bad"})
    enqueue(store, {"n": "good"})
    calls: list[str] = []
    hooked: list[tuple[dict[str, Any], str]] = []

    def handler(message: dict[str, Any]) -> None:
        calls.append(message["n"])
        if message["n"] == "bad":
            raise RuntimeError("render exploded")

    store.queue.drain(handler, on_dead_letter=lambda m, e: hooked.append((m, e)))
    assert calls == ["bad", "bad", "bad", "good"]
    assert store.queue.pending() == 0
    assert hooked == [({"n": "bad"}, "RuntimeError: render exploded")]
    letters = LocalDeadLetters(store.db).list()
    assert len(letters) == 1
    assert letters[0].body == {"n": "bad"}
    assert letters[0].attempts == 3
    assert "RuntimeError" in letters[0].error and "render exploded" in letters[0].error
    assert letters[0].failed_at


def test_a_handler_that_recovers_before_max_receives_is_not_dead_lettered(store: Store) -> None:
    enqueue(store, {"n": 1})
    attempts: list[int] = []

    def flaky(message: dict[str, Any]) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("transient")

    hooked: list[Any] = []
    store.queue.drain(flaky, on_dead_letter=lambda m, e: hooked.append(m))
    assert len(attempts) == 3
    assert hooked == []
    assert LocalDeadLetters(store.db).list() == []
    assert store.queue.pending() == 0


def test_redrive_all_and_by_ids(store: Store) -> None:
    for i in range(4):
        enqueue(store, {"n": i})

    def fail(message: dict[str, Any]) -> None:
        raise ValueError(f"no {message['n']}")

    store.queue.drain(fail)
    letters = LocalDeadLetters(store.db)
    listed = letters.list()
    assert [d.body["n"] for d in listed] == [0, 1, 2, 3]
    assert letters.list(limit=2) == listed[:2]

    ids = [listed[1].id, listed[3].id, "999999", "garbage", "", "-1", "1; DROP TABLE x"]
    assert letters.redrive(ids) == 2
    assert [d.body["n"] for d in letters.list()] == [0, 2]
    assert store.queue.pending() == 2
    seen: list[int] = []
    assert store.queue.drain(lambda m: seen.append(m["n"])) == 2
    assert seen == [1, 3]

    assert letters.redrive([]) == 0
    assert letters.redrive() == 2
    assert letters.list() == []
    assert store.queue.drain(lambda m: seen.append(m["n"])) == 2
    assert seen == [1, 3, 0, 2]
    assert letters.redrive() == 0


def test_reentrant_drain_returns_zero_and_outer_loop_handles_new_message(store: Store) -> None:
    enqueue(store, {"n": "first"})
    seen: list[str] = []
    inner_results: list[int] = []

    def handler(message: dict[str, Any]) -> None:
        seen.append(message["n"])
        if message["n"] == "first":
            enqueue(store, {"n": "second"})
            inner_results.append(store.queue.drain(handler))

    assert store.queue.drain(handler) == 2
    assert seen == ["first", "second"]
    assert inner_results == [0]
    assert store.queue.pending() == 0


def test_drain_in_another_thread_is_not_blocked_by_reentrancy_guard(store: Store) -> None:
    enqueue(store, {"n": 1})
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(store.queue.drain(lambda m: None)))
    thread.start()
    thread.join(10)
    assert results == [1]


def test_pending_messages_survive_a_crash(tmp_path: Path) -> None:
    first = make_store(tmp_path)
    first.queue.lease_seconds = 0.2
    first.objects.put("content/blog/a.md", b"a", content_type=MD)
    enqueue(first, {"n": "raw"})

    class Crash(BaseException):
        pass

    def crash(message: dict[str, Any]) -> None:
        raise Crash

    # the process dies while handling the first message: it is leased, not lost
    with pytest.raises(Crash):
        first.queue.drain(crash)

    second_db = Database(tmp_path / "objects.sqlite3", object_store.SCHEMA + event_queue.SCHEMA)
    second = EventQueue(second_db)
    assert second.pending() == 2
    seen: list[dict[str, Any]] = []
    assert second.drain(seen.append) == 1  # the never-claimed message is delivered at once
    assert seen == [{"n": "raw"}]
    time.sleep(0.3)  # the dead worker's lease runs out: the message comes back
    assert second.drain(seen.append) == 1
    (event,) = list(iter_object_events(seen[1]))
    assert event.key == "content/blog/a.md"
    assert second.pending() == 0
    assert LocalDeadLetters(second_db).list() == []
    second_db.close()
    first.db.close()


def test_leased_message_is_invisible_until_lease_ends(store: Store) -> None:
    enqueue(store, {"n": 1})

    class Crash(BaseException):
        pass

    def crash(message: dict[str, Any]) -> None:
        raise Crash

    with pytest.raises(Crash):
        store.queue.drain(crash)
    assert store.queue.pending() == 1
    assert store.queue.drain(lambda m: None) == 0  # still leased (60 s)


# --- SqliteIndex ------------------------------------------------------------------------------


@pytest.fixture
def index_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "index.sqlite3", sqlite_index.SCHEMA)
    yield db
    db.close()


@pytest.fixture
def index(index_db: Database) -> SqliteIndex:
    return SqliteIndex(index_db)


def record(slug: str = "a", **overrides: Any) -> EntryRecord:
    base = EntryRecord(
        collection="blog",
        slug=slug,
        stage="draft",
        title=f"Title {slug}",
        front_matter={"title": f"Title {slug}"},
        source_etag=f"etag-{slug}",
        version_id=f"v-{slug}",
    )
    return replace(base, **overrides)


def rendered(slug: str, sequencer: str, **overrides: Any) -> EntryRecord:
    values: dict[str, Any] = {
        "render_status": "rendered",
        "rendered_sha256": f"sha-{slug}-{sequencer}",
        "html_key": f"rendered/blog/{slug}/sha-{sequencer}.html",
        "sequencer": sequencer,
        "excerpt": "x",
        "word_count": 3,
        "reading_time_minutes": 1,
        "toc": [{"level": 2, "id": "h", "title": "H"}],
    }
    values.update(overrides)
    return record(slug, **values)


def test_stage_entry_compare_and_set(index: SqliteIndex) -> None:
    assert index.stage_entry(record("a"), expected_etag=None)
    stored = index.get_entry("blog", "draft", "a")
    assert stored is not None
    assert stored.source_etag == "etag-a" and stored.render_status == "pending"

    assert not index.stage_entry(record("a", source_etag="other"), expected_etag=None)
    assert not index.stage_entry(record("a", source_etag="other"), expected_etag="wrong")
    assert index.get_entry("blog", "draft", "a") == stored

    assert index.stage_entry(
        record("a", source_etag="etag-2", version_id="v2"), expected_etag="etag-a"
    )
    after = index.get_entry("blog", "draft", "a")
    assert after is not None
    assert (after.source_etag, after.version_id, after.render_status) == (
        "etag-2",
        "v2",
        "pending",
    )


def test_stage_entry_keeps_rendered_fields_of_an_existing_row(index: SqliteIndex) -> None:
    assert index.apply_render(rendered("a", "0A"))
    assert index.stage_entry(
        record("a", source_etag="etag-new", title="Changed"), expected_etag="etag-a"
    )
    row = index.get_entry("blog", "draft", "a")
    assert row is not None
    assert row.render_status == "pending" and row.render_error is None
    assert row.source_etag == "etag-new"
    assert row.html_key == "rendered/blog/a/sha-0A.html"  # last good rendering stays
    assert row.title == "Title a"
    assert row.sequencer is not None and int(row.sequencer, 16) == 0x0A


def test_stage_entry_over_a_tombstone_keeps_its_sequencer(index: SqliteIndex) -> None:
    assert index.apply_render(rendered("a", "05"))
    assert index.apply_render(record("a", deleted=True, sequencer="06"))
    assert index.stage_entry(record("a", source_etag="new"), expected_etag=None)
    row = index.get_entry("blog", "draft", "a")
    assert row is not None and not row.deleted
    assert row.sequencer is not None and int(row.sequencer, 16) == 6
    assert not index.apply_render(rendered("a", "06"))  # the old events stay stale
    assert index.apply_render(rendered("a", "07"))


def test_apply_render_only_when_newer(index: SqliteIndex) -> None:
    assert index.apply_render(rendered("a", "0A"))
    older = rendered("a", "09", rendered_sha256="older")
    assert not index.apply_render(older)
    assert not index.apply_render(rendered("a", "0A", rendered_sha256="equal"))
    assert not index.apply_render(rendered("a", "0a", rendered_sha256="equal-lower"))
    row = index.get_entry("blog", "draft", "a")
    assert row is not None and row.rendered_sha256 == "sha-a-0A"
    assert index.apply_render(rendered("a", "0B"))
    row = index.get_entry("blog", "draft", "a")
    assert row is not None and row.rendered_sha256 == "sha-a-0B"


def test_apply_render_needs_a_sequencer(index: SqliteIndex) -> None:
    with pytest.raises(ValueError):
        index.apply_render(record("a"))


@pytest.mark.parametrize(
    ("first", "second", "newer"),
    [
        ("FF", "0100", True),  # shorter vs longer: compared as numbers
        ("0100", "FF", False),
        ("9", "000000000000000A", True),
        ("000000000000000A", "9", False),
        ("00000000000000000B", "C", True),
        ("0000005F1B2C3D4E5F", "5F1B2C3D4E5F", False),  # equal once padded
        ("5F1B2C3D4E5F", "5F1B2C3D4E60", True),
    ],
)
def test_sequencers_of_different_lengths(
    index: SqliteIndex, first: str, second: str, newer: bool
) -> None:
    assert index.apply_render(rendered("a", first))
    assert index.apply_render(rendered("a", second)) is newer
    assert (
        index.apply_failure(
            "blog",
            "draft",
            "a",
            error="e",
            source_etag="x",
            version_id="y",
            sequencer=second,
        )
        is False
    )


def test_apply_failure_keeps_last_good_rendering(index: SqliteIndex) -> None:
    good = rendered("a", "10", front_matter={"title": "Good", "tags": ["t"]}, title="Good")
    good.tags = ["t"]
    good.stage = "published"
    good.published_at = "2025-01-01T00:00:00Z"
    assert index.apply_render(good)
    assert index.apply_failure(
        "blog",
        "published",
        "a",
        error="The front matter is invalid.",
        source_etag="bad-etag",
        version_id="bad-version",
        sequencer="11",
    )
    row = index.get_entry("blog", "published", "a")
    assert row is not None
    assert row.render_status == "failed"
    assert row.render_error == "The front matter is invalid."
    assert (row.source_etag, row.version_id) == ("bad-etag", "bad-version")
    assert row.html_key == good.html_key
    assert row.rendered_sha256 == good.rendered_sha256
    assert row.front_matter == good.front_matter
    assert row.title == "Good" and row.tags == ["t"]
    # still served: the last good version stays visible
    page = index.list_published(PageQuery("blog", now="2030-01-01T00:00:00Z"))
    assert [r.slug for r in page] == ["a"]
    page = index.list_published(PageQuery("blog", now="2030-01-01T00:00:00Z", tag="t"))
    assert [r.slug for r in page] == ["a"]
    # an older failure does not apply
    assert not index.apply_failure(
        "blog", "published", "a", error="old", source_etag="o", version_id="o", sequencer="0F"
    )
    # failures show up by status
    failed = index.list_entries(ManageQuery("blog", stage="published", status="failed"))
    assert [r.slug for r in failed] == ["a"]
    # a newer good render clears the failure
    assert index.apply_render(replace(good, sequencer="12", rendered_sha256="new"))
    row = index.get_entry("blog", "published", "a")
    assert row is not None and row.render_status == "rendered" and row.render_error is None


def test_apply_failure_on_a_new_entry_creates_an_invisible_failed_row(index: SqliteIndex) -> None:
    assert index.apply_failure(
        "blog", "draft", "new", error="bad", source_etag="e", version_id="v", sequencer="01"
    )
    row = index.get_entry("blog", "draft", "new")
    assert row is not None
    assert (row.render_status, row.render_error, row.html_key) == ("failed", "bad", None)
    assert [r.slug for r in index.list_entries(ManageQuery("blog", status="failed"))] == ["new"]
    assert index.list_entries(ManageQuery("blog", status="rendered")) == []


def test_tombstones_hide_entries(index: SqliteIndex) -> None:
    for slug in ("a", "b"):
        published = rendered(slug, "01", stage="published", published_at="2025-01-01T00:00:00Z")
        published.tags = ["t"]
        assert index.apply_render(published)
        assert index.apply_render(rendered(slug, "01"))
    assert index.apply_render(
        record("a", stage="published", deleted=True, sequencer="02", title="a")
    )
    assert index.stage_removal("blog", "draft", "a", expected_etag="etag-a")
    assert not index.stage_removal("blog", "draft", "a", expected_etag="etag-a")  # already gone
    assert not index.stage_removal("blog", "draft", "b", expected_etag="wrong")

    now = "2030-01-01T00:00:00Z"
    assert [r.slug for r in index.list_published(PageQuery("blog", now=now))] == ["b"]
    assert [r.slug for r in index.list_published(PageQuery("blog", now=now, tag="t"))] == ["b"]
    assert [r.slug for r in index.list_entries(ManageQuery("blog"))] == ["b"]
    assert index.count_entries("blog") == 1
    tomb = index.get_entry("blog", "published", "a")
    assert tomb is not None and tomb.deleted and tomb.html_key is None and tomb.tags == []
    # a late render event older than the tombstone does not resurrect it
    assert not index.apply_render(rendered("a", "01", stage="published", published_at=now))
    assert [r.slug for r in index.list_published(PageQuery("blog", now=now))] == ["b"]


# keyset paging ------------------------------------------------------------------------------

NOW = "2025-06-01T12:00:00Z"
PUBLISHED = [
    # slug, title, published_at, tags
    ("alpha", "Zebra", "2025-01-03T00:00:00Z", ["x"]),
    ("bravo", "apple", "2025-01-01T00:00:00Z", ["x", "y"]),
    ("charlie", "Mango", "2025-01-02T00:00:00Z", []),
    ("delta", "banana", "2025-01-02T00:00:00Z", ["x"]),  # same date as charlie
    ("echo", "Apple", "2025-01-05T00:00:00Z", ["y"]),  # same sort title as bravo
    ("foxtrot", "kiwi", "2025-05-31T23:59:59Z", ["x"]),
    ("golf", "Cherry", NOW, ["x"]),  # due exactly now
    ("hotel", "Future", "2025-06-01T12:00:01Z", ["x"]),  # scheduled: excluded
    ("india", "Later", "2026-01-01T00:00:00Z", []),
]


@pytest.fixture
def published_index(index: SqliteIndex) -> SqliteIndex:
    for i, (slug, title, published_at, tags) in enumerate(PUBLISHED):
        entry = rendered(
            slug,
            f"{i + 1:02X}",
            stage="published",
            title=title,
            published_at=published_at,
            front_matter={"title": title},
        )
        entry.tags = tags
        assert index.apply_render(entry)
    # not listed: a draft, a pending (never rendered) published row, another collection
    index.apply_render(rendered("draft-only", "30", published_at="2025-01-01T00:00:00Z"))
    index.stage_entry(
        record("pending", stage="published", published_at="2025-01-01T00:00:00Z"),
        expected_etag=None,
    )
    other = rendered("other", "31", stage="published", published_at="2025-01-01T00:00:00Z")
    other.collection = "news"
    other.tags = ["x"]
    index.apply_render(other)
    return index


def expected_order(sort: str, tag: str | None) -> list[str]:
    rows = [p for p in PUBLISHED if p[2] <= NOW and (tag is None or tag in p[3])]
    if sort == "title":
        rows.sort(key=lambda p: (p[1].casefold(), p[0]))
    elif sort == "published_at":
        rows.sort(key=lambda p: (p[2], p[0]))
    else:
        rows.sort(key=lambda p: (p[2], p[0]), reverse=True)
    return [p[0] for p in rows]


def page_through(index: SqliteIndex, sort: Any, tag: str | None, size: int) -> list[str]:
    slugs: list[str] = []
    after = None
    for _ in range(20):
        page = index.list_published(
            PageQuery("blog", now=NOW, sort=sort, tag=tag, limit=size, after=after)
        )
        slugs.extend(r.slug for r in page)
        if len(page) < size:
            return slugs
        last = page[-1]
        value = last.title.casefold() if sort == "title" else last.published_at
        assert value is not None
        after = (value, last.slug)
    raise AssertionError("paging did not end")


@pytest.mark.parametrize("sort", SORT_ORDERS)
@pytest.mark.parametrize("tag", [None, "x", "y", "none"])
@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_list_published_keyset_paging(
    published_index: SqliteIndex, sort: str, tag: str | None, size: int
) -> None:
    assert page_through(published_index, sort, tag, size) == expected_order(sort, tag)


def test_list_published_excludes_future_and_returns_full_records(
    published_index: SqliteIndex,
) -> None:
    page = published_index.list_published(PageQuery("blog", now=NOW, limit=100))
    slugs = [r.slug for r in page]
    assert "hotel" not in slugs and "india" not in slugs
    assert "golf" in slugs
    assert all(r.stage == "published" and r.collection == "blog" for r in page)
    tagged = published_index.list_published(PageQuery("blog", now=NOW, tag="y", limit=100))
    assert {r.slug: r.tags for r in tagged} == {"echo": ["y"], "bravo": ["x", "y"]}
    assert all(r.html_key for r in tagged)
    later = published_index.list_published(PageQuery("blog", now="2027-01-01T00:00:00Z"))
    assert {"hotel", "india"} <= {r.slug for r in later}


def test_list_entries_paging_and_status(index: SqliteIndex) -> None:
    for slug in ("c", "a", "b", "d"):
        index.apply_render(rendered(slug, "01"))
    index.stage_entry(record("e"), expected_etag=None)
    index.apply_failure(
        "blog", "draft", "b", error="x", source_etag="e", version_id="v", sequencer="02"
    )
    first = index.list_entries(ManageQuery("blog", limit=2))
    assert [r.slug for r in first] == ["a", "b"]
    rest = index.list_entries(ManageQuery("blog", limit=10, after="b"))
    assert [r.slug for r in rest] == ["c", "d", "e"]
    assert [r.slug for r in index.list_entries(ManageQuery("blog", status="failed"))] == ["b"]
    assert [r.slug for r in index.list_entries(ManageQuery("blog", status="pending"))] == ["e"]
    assert index.list_entries(ManageQuery("blog", stage="published")) == []


# no full table scans -------------------------------------------------------------------------


class SqlRecorder:
    def __init__(self, db: Database) -> None:
        self.conn = db.connection()
        self.statements: list[str] = []

    def __enter__(self) -> SqlRecorder:
        self.conn.set_trace_callback(self.statements.append)
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.set_trace_callback(None)

    def selects(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT")]


def plan(conn: Any, sql: str) -> list[str]:
    return [row["detail"] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]


def assert_indexed(conn: Any, sql: str, *, sorted_by_index: bool = False) -> None:
    """Every table access of the plan is an index SEARCH (a range), never a SCAN; with
    ``sorted_by_index`` the page also comes out of the index in order (no sort of the
    whole range before LIMIT)."""
    details = plan(conn, sql)
    assert details, sql
    for detail in details:
        assert "SCAN" not in detail, f"{detail!r} in plan of {sql}"
        if "TEMP B-TREE" in detail:
            assert not sorted_by_index, f"{detail!r} in plan of {sql}"
            continue
        assert "SEARCH" in detail, f"{detail!r} in plan of {sql}"


def request_path_calls(index: SqliteIndex) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []
    for sort in SORT_ORDERS:
        after = ("zebra", "alpha") if sort == "title" else ("2025-01-02T00:00:00Z", "delta")
        for tag in (None, "x"):
            for cursor in (None, after):
                query = PageQuery("blog", now=NOW, sort=sort, tag=tag, limit=3, after=cursor)
                calls.append((f"list_published {query}", lambda q=query: index.list_published(q)))
    calls.append(("get_entry", lambda: index.get_entry("blog", "published", "alpha")))
    calls.append(("get_entry draft", lambda: index.get_entry("blog", "draft", "alpha")))
    for status in (None, "failed"):
        for after in (None, "b"):
            query = ManageQuery("blog", status=status, after=after)
            calls.append((f"list_entries {query}", lambda q=query: index.list_entries(q)))
    calls.append(("count_entries", lambda: index.count_entries("blog")))
    calls.append(("get_collection", lambda: index.get_collection("blog")))
    return calls


def recorded_selects(db: Database, call: Any) -> list[str]:
    with SqlRecorder(db) as recorder:
        call()
    return recorder.selects()


def test_request_path_queries_use_indexes(published_index: SqliteIndex, index_db: Database) -> None:
    conn = index_db.connection()
    for name, call in request_path_calls(published_index):
        selects = recorded_selects(index_db, call)
        assert selects, name
        for sql in selects:
            assert_indexed(conn, sql)


@pytest.mark.parametrize("sort", ["-published_at", "published_at"])
@pytest.mark.parametrize("tag", [None, "x"])
@pytest.mark.parametrize("cursor", [False, True])
def test_date_pages_come_out_of_the_index_in_order(
    published_index: SqliteIndex, index_db: Database, sort: Any, tag: str | None, cursor: bool
) -> None:
    after = ("2025-01-02T00:00:00Z", "delta") if cursor else None
    query = PageQuery("blog", now=NOW, sort=sort, tag=tag, limit=3, after=after)
    (sql,) = recorded_selects(index_db, lambda: published_index.list_published(query))
    assert_indexed(index_db.connection(), sql, sorted_by_index=True)


@pytest.mark.parametrize("tag", [None, "x"])
def test_title_pages_after_a_cursor_come_out_of_the_index_in_order(
    published_index: SqliteIndex, index_db: Database, tag: str | None
) -> None:
    query = PageQuery("blog", now=NOW, sort="title", tag=tag, limit=3, after=("kiwi", "foxtrot"))
    (sql,) = recorded_selects(index_db, lambda: published_index.list_published(query))
    assert_indexed(index_db.connection(), sql, sorted_by_index=True)


@pytest.mark.parametrize("tag", [None, "x"])
def test_first_title_page_comes_out_of_the_index_in_order(
    published_index: SqliteIndex, index_db: Database, tag: str | None
) -> None:
    query = PageQuery("blog", now=NOW, sort="title", tag=tag, limit=3)
    (sql,) = recorded_selects(index_db, lambda: published_index.list_published(query))
    assert_indexed(index_db.connection(), sql, sorted_by_index=True)


def test_status_filter_reads_only_that_status(index: SqliteIndex, index_db: Database) -> None:
    query = ManageQuery("blog", status="failed")
    (sql,) = recorded_selects(index_db, lambda: index.list_entries(query))
    details = plan(index_db.connection(), sql)
    assert any("render_status=?" in d for d in details), details


def test_plan_checker_catches_a_scan(index_db: Database) -> None:
    """The assertion above is not vacuous: an unindexed query fails it."""
    with pytest.raises(AssertionError):
        assert_indexed(index_db.connection(), "SELECT * FROM entries WHERE title = 'x'")
    with pytest.raises(AssertionError):
        assert_indexed(
            index_db.connection(),
            "SELECT * FROM entries WHERE collection = 'b' AND stage = 'draft' ORDER BY title",
            sorted_by_index=True,
        )


# --- JsonConfigStore --------------------------------------------------------------------------


def test_config_put_get_delete_list(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.json"
    config = JsonConfigStore(path)
    assert config.get("keys/a") is None
    assert config.list("keys/") == {}
    config.put("keys/b", "2")
    config.put("keys/a", "1")
    config.put("settings/site", '{"title": "x"}')
    config.put("secrets/cursor", "abc", secret=True)
    assert config.get("keys/a") == "1"
    assert config.get("secrets/cursor") == "abc"
    assert config.list("keys/") == {"keys/a": "1", "keys/b": "2"}
    assert list(config.list("keys/")) == ["keys/a", "keys/b"]
    assert config.list("") == {
        "keys/a": "1",
        "keys/b": "2",
        "secrets/cursor": "abc",
        "settings/site": '{"title": "x"}',
    }
    config.put("keys/a", "one")
    assert config.get("keys/a") == "one"
    config.delete("keys/a")
    config.delete("keys/never")  # deleting a missing name is fine
    assert config.get("keys/a") is None
    assert config.list("keys/") == {"keys/b": "2"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".config-")] == []

    again = JsonConfigStore(path)
    assert again.list("") == {
        "keys/b": "2",
        "secrets/cursor": "abc",
        "settings/site": '{"title": "x"}',
    }


def test_config_file_mode_is_0600_even_with_a_lax_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        config = JsonConfigStore(tmp_path / "config.json")
        config.put("secrets/x", "s", secret=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "config.json").stat().st_mode) == 0o600


def test_config_concurrent_puts_all_land(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(n: int) -> None:
        try:
            config = JsonConfigStore(path)  # separate instances: the file lock must hold
            barrier.wait()
            for i in range(15):
                config.put(f"keys/{n}-{i}", f"value {n} {i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    stored = JsonConfigStore(path).list("keys/")
    assert len(stored) == 8 * 15
    assert stored["keys/7-14"] == "value 7 14"
    assert json.loads(path.read_text())["keys/0-0"] == {"value": "value 0 0", "secret": False}
