"""When the local backend handles its queued events: in the request, or in the background.

The class is tested on a real SQLite queue with a recording handler; the API tests at the
end check what a client sees: a single write is rendered when its response comes, a batch is
stored first and rendered by the background thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.adapters.local.event_delivery import LocalEventDelivery
from chalicelib.adapters.local.event_queue import EventQueue
from chalicelib.adapters.local.sqlite import Database

from .conftest import ADMIN_KEY


class Recorder:
    def __init__(self, queue: EventQueue) -> None:
        self.queue = queue
        self.seen: list[str] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()

    def drain(self, **scope: Any) -> int:
        return self.queue.drain(self.handle, **scope)

    def handle(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.seen.append(message["n"])
            self.threads.add(threading.current_thread().name)

    def send(self, name: str, *, delay: float = 0.0) -> None:
        self.queue.send({"n": name}, delay_seconds=delay)


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    from chalicelib.adapters.local.event_queue import SCHEMA

    db = Database(tmp_path / "queue.sqlite3", SCHEMA)
    yield Recorder(EventQueue(db))
    db.close()


@pytest.fixture
def delivery(recorder: Recorder) -> Iterator[Any]:
    """Makes a LocalEventDelivery over the recorder's queue; stops its thread afterwards."""
    made: list[LocalEventDelivery] = []

    def make(**options: Any) -> LocalEventDelivery:
        made.append(LocalEventDelivery(recorder.queue, recorder.drain, **options))
        return made[-1]

    yield make
    for events in made:
        events.stop()


def eventually(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_write_request_handles_its_own_events_and_leaves_older_ones(recorder, delivery):
    events = delivery(quiet_seconds=60, max_delay_seconds=60)
    recorder.send("backlog-1")
    recorder.send("backlog-2")
    with events.request(writes=True):
        recorder.send("mine")
    assert recorder.seen == ["mine"]
    assert recorder.threads == {threading.current_thread().name}
    assert recorder.queue.pending() == 2  # the thread waits for a quiet minute


def test_a_write_request_leaves_a_concurrent_batchs_events_to_the_thread(recorder, delivery):
    events = delivery(quiet_seconds=60, max_delay_seconds=60)
    put_started, batch_done = threading.Event(), threading.Event()
    took: list[float] = []

    def single_put() -> None:
        with events.request(writes=True):
            put_started.set()
            batch_done.wait(5)
            recorder.send("mine")
            started = time.monotonic()
        took.append(time.monotonic() - started)

    put = threading.Thread(target=single_put, name="put-request")
    put.start()
    put_started.wait(5)
    with events.request(writes=True):
        events.defer()
        for n in range(20):
            recorder.send(f"bulk-{n}")
    batch_done.set()
    put.join(5)
    assert recorder.seen == ["mine"] and recorder.threads == {"put-request"}
    assert recorder.queue.pending() == 20


def test_events_added_while_handling_a_requests_own_are_its_own_too(recorder, delivery):
    events = delivery(quiet_seconds=60, max_delay_seconds=60)
    handle = recorder.handle

    def follow_up(message: dict[str, Any]) -> None:
        handle(message)
        if message["n"] == "object-event":
            recorder.send("webhook")  # as a render handler sends a webhook delivery

    recorder.handle = follow_up  # type: ignore[method-assign]
    with events.request(writes=True):
        recorder.send("object-event")
    assert recorder.seen == ["object-event", "webhook"]


def test_a_failing_own_event_is_retried_in_the_request_then_dead_lettered(recorder, delivery):
    events = delivery(quiet_seconds=60, max_delay_seconds=60)
    attempts: list[str] = []

    def failing(message: dict[str, Any]) -> None:
        attempts.append(message["n"])
        raise RuntimeError("broken")

    recorder.handle = failing  # type: ignore[method-assign]
    with events.request(writes=True):
        recorder.send("bad")
    assert attempts == ["bad"] * recorder.queue.max_receives
    assert recorder.queue.pending() == 0  # in the dead-letter table now


def test_a_read_request_handles_nothing(recorder, delivery):
    events = delivery()
    recorder.send("queued")
    with events.request(writes=False):
        pass
    assert recorder.seen == []
    assert recorder.queue.pending() == 1


def test_a_deferred_request_returns_before_its_events_and_the_thread_handles_them(
    recorder, delivery
):
    events = delivery(quiet_seconds=0.01)
    with events.request(writes=True):
        events.defer()
        for n in range(5):
            recorder.send(f"bulk-{n}")
    assert events.wait_until_idle(5)
    assert recorder.seen == [f"bulk-{n}" for n in range(5)]
    assert recorder.threads == {"cms-local-events"}


def test_the_thread_waits_while_a_request_is_in_flight(recorder, delivery):
    events = delivery(quiet_seconds=0.01, max_delay_seconds=60)
    recorder.send("backlog")
    with events.request(writes=False):
        events.kick()
        time.sleep(0.3)
        assert recorder.seen == []
    assert events.wait_until_idle(5)
    assert recorder.seen == ["backlog"]


def test_with_renders_elsewhere_a_bulk_write_is_handled_beside_requests_other_work_waits(
    recorder, delivery
):
    """Render worker processes take the Markdown to other cores: a batch's events are
    handled while requests keep coming, but what an ordinary write left (here a backlog)
    still waits for a quiet moment, so a stream of single writes does not wake the threads."""
    events = delivery(quiet_seconds=60, max_delay_seconds=60, bulk_beside_requests=True)
    recorder.send("backlog")
    with events.request(writes=True):
        recorder.send("mine")
    events.kick()
    time.sleep(0.2)
    assert recorder.seen == ["mine"]  # the backlog waits: requests may still come
    with events.request(writes=False):  # a request in flight from here on
        with events.request(writes=True):
            events.defer()
            for n in range(3):
                recorder.send(f"bulk-{n}")
        eventually(lambda: len(recorder.seen) == 5)
        assert recorder.seen[1:] == ["backlog", "bulk-0", "bulk-1", "bulk-2"]
        time.sleep(0.1)  # the thread finds the queue empty: the bulk work is done
        recorder.send("after")  # an ordinary leftover, after it
        events.kick()
        time.sleep(0.2)
        assert recorder.seen[-1] == "bulk-2"
    assert recorder.queue.pending() == 1


def test_without_renders_elsewhere_a_bulk_write_waits_for_a_quiet_moment(recorder, delivery):
    events = delivery(quiet_seconds=60, max_delay_seconds=60)
    with events.request(writes=False):
        with events.request(writes=True):
            events.defer()
            recorder.send("bulk")
        time.sleep(0.3)
        assert recorder.seen == []


def test_past_the_delay_it_works_between_requests_but_never_takes_an_in_flight_write(
    recorder, delivery
):
    events = delivery(quiet_seconds=60, max_delay_seconds=0)
    recorder.send("backlog")
    with events.request(writes=True):
        recorder.send("mine")
        events.kick()
        eventually(lambda: recorder.seen == ["backlog"])
        time.sleep(0.2)
        assert recorder.seen == ["backlog"]  # "mine" is the request's own to deliver
    assert recorder.seen == ["backlog", "mine"]


def test_the_horizon_never_reaches_a_request_that_starts_while_it_is_computed(recorder, delivery):
    events = delivery()
    in_window, registered = threading.Event(), threading.Event()
    real_last_id = recorder.queue.last_id

    def last_id() -> int:  # the horizon's MAX(id) is read only once a request has started
        if threading.current_thread().name == "probe" and not in_window.is_set():
            in_window.set()
            registered.wait(5)
        return real_last_id()

    recorder.queue.last_id = last_id  # type: ignore[method-assign]
    recorder.send("backlog")
    horizon: list[int] = []
    probe = threading.Thread(target=lambda: horizon.append(events._horizon()), name="probe")
    probe.start()
    in_window.wait(5)
    with events.request(writes=True):
        recorder.send("mine")
        registered.set()
        probe.join(5)
        mine = recorder.queue.last_id()
        assert horizon and horizon[0] < mine


def test_a_delayed_message_is_handled_when_it_becomes_visible_without_another_write(
    recorder, delivery
):
    events = delivery(quiet_seconds=0.01)
    recorder.send("retry", delay=0.3)
    events.kick()
    time.sleep(0.1)
    assert recorder.seen == []
    eventually(lambda: recorder.seen == ["retry"])


def test_stop_ends_the_thread(recorder, delivery):
    events = delivery()
    events.kick()
    events.stop()
    assert events._threads and not any(t.is_alive() for t in events._threads)
    events.kick()  # after stop: nothing starts
    assert not any(t.is_alive() for t in events._threads)


# --- through the API ---------------------------------------------------------------------------

HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"}


def batch_body(start: int, count: int) -> str:
    items = [
        {
            "slug": f"bulk-{n}",
            "front_matter": {"title": f"Bulk {n}", "tags": ["bulk"]},
            "body": f"# Bulk {n}\n\nThe body of entry {n}.\n",
            "publish": True,
        }
        for n in range(start, start + count)
    ]
    return json.dumps({"items": items})


def test_a_batch_is_stored_at_once_and_rendered_in_the_background(client):
    client.http.put("/v1/manage/collections/blog", body=json.dumps({}), headers=HEADERS)
    events = wiring.container().events
    events.quiet_seconds = 60  # hold the thread back while the test looks
    response = client.http.post("/v1/manage/batch/blog", body=batch_body(0, 5), headers=HEADERS)
    assert response.status_code == 200
    assert json.loads(response.body)["summary"]["created"] == 5
    listed = client.http.get("/v1/manage/content/blog?status=pending", headers=HEADERS)
    assert len(json.loads(listed.body)["items"]) == 5
    published = client.http.get(
        "/v1/manage/content/blog?status=pending&stage=published", headers=HEADERS
    )
    assert len(json.loads(published.body)["items"]) == 5
    assert json.loads(client.http.get("/v1/content/blog").body)["items"] == []

    client.http.post(
        "/v1/manage/content/blog",
        body=json.dumps({"front_matter": {"title": "Single"}, "body": "*one*"}),
        headers=HEADERS,
    )
    single = client.http.get("/v1/manage/content/blog/single", headers=HEADERS)
    assert json.loads(single.body)["render"]["status"] == "rendered"  # its own, not the backlog
    pending = client.http.get("/v1/manage/content/blog?status=pending", headers=HEADERS)
    assert len(json.loads(pending.body)["items"]) == 5

    events.quiet_seconds = 0.01
    events.kick()
    assert events.wait_until_idle(10)
    listed = json.loads(client.http.get("/v1/content/blog?limit=10").body)["items"]
    assert sorted(item["slug"] for item in listed) == [f"bulk-{n}" for n in range(5)]
    entry = json.loads(client.http.get("/v1/content/blog/bulk-3").body)
    assert '<h1 id="bulk-3">Bulk 3</h1>' in entry["html"]


def test_the_stage_parameter_is_checked(client):
    client.http.put("/v1/manage/collections/blog", body=json.dumps({}), headers=HEADERS)
    response = client.http.get("/v1/manage/content/blog?stage=both", headers=HEADERS)
    assert response.status_code == 400
    assert json.loads(response.body)["parameter"] == "stage"
