"""Local rendering in worker processes: the budget holds in any thread, a runaway render
delays no other, a hung worker is killed and replaced, interactive renders go first, lanes
take turns, and the messages of a process that died come back within seconds."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.adapters.local.event_queue import EventQueue
from chalicelib.adapters.local.render_workers import HUNG_FACTOR, RenderWorkers, _Lost, _Worker
from chalicelib.adapters.local.sqlite import Database
from chalicelib.domain.render_budget import TOO_COMPLEX, RenderBudget, RenderRefused
from chalicelib.domain.rendering import clear_memo, render_markdown

BUDGET = RenderBudget(cpu_seconds=0.5, max_depth=32)
RUNAWAY = "[" * 200_000
ORDINARY = "# Title\n\nSome *text*, a [link](https://example.com) and `code`.\n"


@pytest.fixture
def pool() -> Iterator[RenderWorkers]:
    workers = RenderWorkers(2, grace_seconds=0.2)
    assert workers.wait_ready(60)
    yield workers
    workers.close()


def render(pool: RenderWorkers, body: str, budget: RenderBudget = BUDGET) -> object:
    return pool.render(body, summary=None, front_matter={}, budget=budget)


def refusal(pool: RenderWorkers, body: str) -> RenderRefused:
    with pytest.raises(RenderRefused) as refused:
        render(pool, body)
    return refused.value


def test_a_worker_renders_what_the_process_would(pool: RenderWorkers) -> None:
    clear_memo()
    from_worker = render(pool, ORDINARY)
    clear_memo()
    assert from_worker == render_markdown(ORDINARY)


def test_the_budget_holds_from_any_thread(pool: RenderWorkers) -> None:
    render(pool, ORDINARY)  # the workers are up
    outcome: list[object] = []

    def in_a_thread() -> None:
        started = time.monotonic()
        try:
            render(pool, RUNAWAY)
        except RenderRefused as refused:
            outcome.append((refused.code, time.monotonic() - started))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join(10)
    [(code, seconds)] = outcome
    assert code == TOO_COMPLEX
    assert seconds < 2 * BUDGET.cpu_seconds + pool.grace_seconds  # the pool's own bound


def test_a_runaway_render_does_not_delay_an_ordinary_one(pool: RenderWorkers) -> None:
    render(pool, ORDINARY)
    clear_memo()
    runaway = threading.Thread(target=lambda: refusal(pool, RUNAWAY))
    runaway.start()
    time.sleep(0.05)  # the runaway holds a worker now
    started = time.monotonic()
    render(pool, "An *ordinary* entry, sent after the runaway one.")
    assert runaway.is_alive()  # done while the runaway still holds its worker
    assert time.monotonic() - started < BUDGET.cpu_seconds
    runaway.join(10)


def test_a_hung_worker_is_killed_and_replaced(pool: RenderWorkers) -> None:
    render(pool, ORDINARY)
    for worker in list(pool._idle):
        os.kill(worker.process.pid, signal.SIGSTOP)  # deaf to everything, like native code
    clear_memo()
    started = time.monotonic()
    refused = refusal(pool, "hung")
    assert refused.code == TOO_COMPLEX
    limit = BUDGET.cpu_seconds + pool.grace_seconds
    assert time.monotonic() - started < HUNG_FACTOR * limit + 1.0  # no CPU spent: wall cap
    assert pool.killed == 1
    for worker in list(pool._idle):
        os.kill(worker.process.pid, signal.SIGCONT)
    assert render(pool, "after the kill").html == "<p>after the kill</p>"  # type: ignore[attr-defined]


def test_a_worker_killed_on_a_job_costs_the_job_nothing(pool: RenderWorkers) -> None:
    """Killed from outside mid-render (out of memory, an operator): the job goes to a fresh
    worker; only a document that kills workers twice is blamed."""
    render(pool, ORDINARY)
    clear_memo()

    def kill_the_busy_one() -> None:
        deadline = time.monotonic() + 5
        while not pool._busy and time.monotonic() < deadline:
            time.sleep(0.005)
        for worker in list(pool._busy):
            worker.process.kill()

    killer = threading.Thread(target=kill_the_busy_one)
    killer.start()
    body = "A *long* sentence. " * 20_000  # ~0.3 s of rendering: time to be killed
    assert "<em>long</em>" in render(pool, body, RenderBudget(cpu_seconds=5)).html  # type: ignore[attr-defined]
    killer.join()


def test_a_worker_that_died_while_idle_costs_no_entry_anything(pool: RenderWorkers) -> None:
    render(pool, ORDINARY)
    for worker in list(pool._idle):
        worker.process.kill()
        worker.process.wait()
    clear_memo()
    assert render(pool, "still *fine*").html == "<p>still <em>fine</em></p>"  # type: ignore[attr-defined]


def test_interactive_renders_go_before_background_ones() -> None:
    order: list[str] = []
    local = threading.local()
    pool = RenderWorkers(1, priority=lambda: local.priority)
    pool.start()
    try:
        local.priority = (True, "")
        render(pool, ORDINARY)

        def run(name: str, interactive: bool, lane: str, body: str) -> None:
            local.priority = (interactive, lane)
            with contextlib.suppress(RenderRefused):
                render(pool, body)
            order.append(name)

        clear_memo()
        blocker = threading.Thread(target=run, args=("blocker", False, "a", RUNAWAY))
        blocker.start()
        time.sleep(0.1)
        threads = [
            threading.Thread(target=run, args=(f"batch-{n}", False, "a", f"batch {n}"))
            for n in range(3)
        ]
        for thread in threads:
            thread.start()
            time.sleep(0.02)
        editor = threading.Thread(target=run, args=("editor", True, "", "an edit"))
        editor.start()
        for thread in [blocker, *threads, editor]:
            thread.join(10)
        assert order[:2] == ["blocker", "editor"]
        assert sorted(order[2:]) == ["batch-0", "batch-1", "batch-2"]
    finally:
        pool.close()


def test_threads_wanting_one_rendering_at_once_cost_one_job() -> None:
    """An imported entry's draft and published snapshot, handled by two event threads at
    once: one render; a refused document: one budget, the same reason for both."""
    local = threading.local()
    pool = RenderWorkers(2, priority=lambda: getattr(local, "priority", (False, "import")))
    assert pool.wait_ready(60)
    try:
        for body, threads in (("A body *both* stages share.\n" * 200, 4), (RUNAWAY, 2)):
            clear_memo()
            jobs, outcomes = pool.jobs, list[object]()
            start = threading.Barrier(threads)

            def run(
                body: str = body,
                start: threading.Barrier = start,
                outcomes: list[object] = outcomes,
            ) -> None:
                start.wait()
                try:
                    outcomes.append(render(pool, body))
                except RenderRefused as refused:
                    outcomes.append((refused.code, refused.detail))

            workers = [threading.Thread(target=run) for _ in range(threads)]
            for thread in workers:
                thread.start()
            for thread in workers:
                thread.join(10)
            assert pool.jobs - jobs == 1, body[:20]
            assert len(outcomes) == threads and all(o == outcomes[0] for o in outcomes)
        assert outcomes[0][0] == TOO_COMPLEX
        assert pool.killed <= 1

        clear_memo()  # an editor's save never waits behind an import's render of its body
        local.priority = (True, "")
        jobs = pool.jobs
        blocker = threading.Thread(target=lambda: refusal(pool, RUNAWAY))
        blocker.start()
        time.sleep(0.1)
        started = time.monotonic()
        refused = refusal(pool, RUNAWAY)
        assert refused.code == TOO_COMPLEX and pool.jobs - jobs == 2
        blocker.join(10)
        assert time.monotonic() - started < 2 * BUDGET.cpu_seconds + pool.grace_seconds + 1
    finally:
        pool.close()


# --- the queue: lanes and leases -----------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    from chalicelib.adapters.local.event_queue import SCHEMA

    database = Database(tmp_path / "queue.sqlite3", SCHEMA)
    yield database
    database.close()


def test_lanes_take_turns_and_interactive_messages_go_first(db: Database) -> None:
    queue = EventQueue(db)
    for lane, count in (("import-a", 4), ("import-b", 2), ("", 2)):
        queue.set_lane(lane)
        for n in range(count):
            queue.send({"lane": lane, "n": n})
    seen: list[str] = []
    queue.drain(lambda body: seen.append(f"{body['lane'] or 'own'}-{body['n']}"))
    assert seen == [
        "own-0",
        "own-1",
        "import-a-0",
        "import-b-0",
        "import-a-1",
        "import-b-1",
        "import-a-2",
        "import-a-3",
    ]


def test_the_lane_of_the_message_in_hand_is_known(db: Database) -> None:
    queue = EventQueue(db)
    queue.set_lane("key-1")
    queue.send({})
    lanes: list[str] = []
    queue.drain(lambda body: lanes.append(queue.claimed_lane()))
    assert lanes == ["key-1"] and queue.claimed_lane() == ""


def test_a_queue_from_before_lanes_gains_the_column(tmp_path: Path) -> None:
    old = Database(
        tmp_path / "old.sqlite3",
        "CREATE TABLE event_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL,"
        " receives INTEGER NOT NULL DEFAULT 0, visible_at REAL NOT NULL DEFAULT 0,"
        " last_error TEXT);"
        "INSERT INTO event_queue (body) VALUES ('{\"old\": true}');",
    )
    queue = EventQueue(old)
    seen: list[dict[str, object]] = []
    queue.drain(seen.append)
    assert seen == [{"old": True}]
    old.close()


def test_a_lease_is_renewed_while_the_message_is_in_hand(db: Database) -> None:
    queue = EventQueue(db, lease_seconds=0.6)
    queue.send({"slow": True})
    rival = EventQueue(db, lease_seconds=0.6)
    stolen: list[object] = []

    def slow(body: dict[str, object]) -> None:
        for _ in range(6):  # 1.5 s: more than twice the lease
            time.sleep(0.25)
            rival.drain(stolen.append)

    queue.drain(slow)
    assert stolen == []
    assert queue.pending() == 0
    queue.close()


def test_the_messages_of_a_process_that_died_come_back_within_a_lease(db: Database) -> None:
    dead = EventQueue(db, lease_seconds=1.0)
    dead.send({"n": 1})
    assert dead._claim(None) is not None  # taken, then the process "dies" (no heartbeat)
    dead.close()
    restarted = EventQueue(db, lease_seconds=1.0)
    seen: list[object] = []
    started = time.monotonic()
    while not seen and time.monotonic() - started < 5:
        restarted.drain(seen.append)
        time.sleep(0.05)
    assert seen == [{"n": 1}]
    assert time.monotonic() - started < 1.5
    restarted.close()


SPINNER = """
from chalicelib.adapters.local.render_worker import READY, read_frame, reply, write_frame
import sys
write_frame(sys.stdout.buffer, reply(READY))
sum(range(10**6))  # CPU spent before the job: not the job's
write_frame(sys.stdout.buffer, reply(("rendered", None)))
read_frame(sys.stdin.buffer)
while True:  # a job that never returns to a timer, as in native code
    pass
"""


def test_a_worker_spinning_past_the_limit_is_killed_by_its_cpu(tmp_path: Path) -> None:
    """The CPU a job spent counts from the worker's last reply, not from its start (the
    pool does not read /proc for every job); a worker burning CPU past the limit is killed
    after that much CPU, well before the wall-time cap for a stopped one."""
    script = tmp_path / "spinner.py"
    script.write_text(SPINNER)
    worker = _Worker((str(script),))
    try:
        assert worker.wait_ready()
        assert worker._readable(30)
        assert worker._reply() == ("rendered", None)
        seen = worker._cpu_seen
        assert seen is not None and 0 < seen <= (worker.cpu_seconds() or 0) + 0.02
        started = time.monotonic()
        with pytest.raises(_Lost, match="timeout"):
            worker.call({"job": 1}, cpu_limit=0.25)
        assert time.monotonic() - started < HUNG_FACTOR * 0.25  # before the wall-time cap
        assert worker.process.poll() is not None  # killed
    finally:
        worker.kill()
