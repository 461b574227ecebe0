"""When the local backend delivers its queued S3-shaped events, and in which thread.

On AWS a write request returns once S3 has the object; the render and thumbnail functions
work apart from the API. The local backend has one process, so it chooses:

- after an ordinary write request, the events that request added to the queue (and those
  their handling adds) are handled before its response goes out, so the client reads its
  own write rendered. Nobody else's: a single edit never waits behind an import;
- a bulk write (``defer``: the batch route) returns as soon as its objects are stored, as on
  AWS; background threads handle its events. Rendering in this process, they wait at most
  ``max_delay`` seconds for a moment without requests, so that the next batch gets the CPU
  rather than waiting behind renders, then work between requests anyway. With render worker
  processes (``bulk_beside_requests``) they start at once: the Markdown runs on other
  cores. Other work (what an ordinary write left) always waits for a quiet moment, so a
  stream of single writes does not wake every thread to look at the queue after each;
- the same threads handle what else is queued: messages delayed on purpose (webhook retries),
  and messages a stopped process held when it died, once their lease runs out.

There are ``threads`` background threads (two per render worker, so a worker has its next
job while a thread does the bookkeeping of the last). They never take a message that a write
request in flight may still deliver itself: only ids up to the oldest in-flight write
request's starting mark.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator

from .event_queue import EventQueue

log = logging.getLogger(__name__)

Drain = Callable[..., int]  # EventQueue.drain with the handler and dead-letter hook bound


class LocalEventDelivery:
    def __init__(
        self,
        queue: EventQueue,
        drain: Drain,
        *,
        quiet_seconds: float = 0.05,
        max_delay_seconds: float = 10.0,
        join_seconds: float = 60.0,
        threads: int = 1,
        bulk_beside_requests: bool = False,
    ) -> None:
        self._queue = queue
        self._drain = drain
        self.quiet_seconds = quiet_seconds
        self.max_delay_seconds = max_delay_seconds
        self.join_seconds = join_seconds
        self.bulk_beside_requests = bulk_beside_requests
        self._state = threading.Condition()
        self._in_flight = 0
        self._marks: dict[int, int] = {}  # write requests in flight: thread id -> mark
        self._last_finished = 0.0
        self._kicks = 0
        self._bulk_writes = 0  # bulk write requests ended so far
        self._bulk_handled = 0  # of those, how many a drain has run dry after
        self._working = 0
        self._request = threading.local()
        self._stopping = threading.Event()
        self._thread_count = max(1, threads)
        self._threads: list[threading.Thread] = []
        self._idle = threading.Event()
        self._idle.set()

    # --- the request path -----------------------------------------------------------------

    @contextlib.contextmanager
    def request(self, *, writes: bool) -> Iterator[None]:
        """Wrap one HTTP request; for a write, deliver its events (or defer them) at the end."""
        thread = threading.get_ident()
        with self._state:
            self._in_flight += 1
            if writes:  # taken under the lock, so the thread's horizon sees it (_horizon)
                self._marks[thread] = self._queue.last_id()
        self._request.deferred = False
        self._request.active = True
        if writes:
            self._queue.start_recording()
        try:
            yield
        finally:
            try:
                if writes and not self._request.deferred:
                    while own := self._queue.take_recorded():
                        self._drain(only_ids=own)
            except Exception:  # the write is durable; its events stay queued for the thread
                log.exception("delivering local events failed")
            finally:
                self._request.active = False
                if writes:
                    self._queue.stop_recording()
                    self._queue.set_lane("")
                with self._state:
                    self._in_flight -= 1
                    if writes and self._request.deferred:
                        self._bulk_writes += 1
                    self._marks.pop(thread, None)
                    self._last_finished = time.monotonic()
                    self._state.notify_all()
                if writes:
                    self.kick()

    def defer(self, lane: str = "") -> None:
        """This request's events go to the background threads (a bulk write), in ``lane``."""
        self._request.deferred = True
        self._queue.set_lane(lane)

    def serving_request(self) -> bool:
        """Whether this thread is handling an HTTP request (its renders come first)."""
        return bool(getattr(self._request, "active", False))

    def pending(self) -> int:
        return self._queue.pending()

    def deliver_all(self) -> int:
        """Handle every visible message now, in this thread (tests, tools)."""
        return int(self._drain())

    # --- the background thread ------------------------------------------------------------

    def kick(self) -> None:
        """There may be work: wake the background thread (started on first use)."""
        if self._stopping.is_set():
            return
        with self._state:
            self._kicks += 1
            self._idle.clear()
            self._state.notify_all()
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self._thread_count:
                thread = threading.Thread(target=self._run, name="cms-local-events", daemon=True)
                self._threads.append(thread)
                thread.start()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until the background thread has nothing visible left to do (tests, tools)."""
        return self._idle.wait(timeout)

    def stop(self) -> None:
        """End the thread after the message in hand (it checks between messages)."""
        self._stopping.set()
        with self._state:
            self._state.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + self.join_seconds
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.error("a local event thread did not stop within %s s", self.join_seconds)

    def _run(self) -> None:
        seen = -1
        while not self._stopping.is_set():
            sleep = self._sleep_seconds()
            with self._state:
                if self._kicks == seen and not self._stopping.is_set():
                    self._state.wait(timeout=sleep)
                seen = self._kicks
            if self._stopping.is_set():
                return
            try:
                self._work()
            except Exception:
                log.exception("a local event thread failed; it retries on the next write")
                self._stopping.wait(1.0)

    def _work(self) -> None:
        with self._state:
            kicks = self._kicks
            self._working += 1
        started = time.monotonic()
        try:
            while not self._stopping.is_set():
                bulk_writes = self._wait_for_quiet(started)
                if self._stopping.is_set():
                    return
                if self._drain(max_messages=1, up_to_id=self._horizon()) == 0:
                    with self._state:
                        self._bulk_handled = max(self._bulk_handled, bulk_writes)
                    break
        finally:
            visible = self._queue.next_visible_at()
            with self._state:
                self._working -= 1
                nothing_to_do = visible is None or visible > time.time()
                if nothing_to_do and self._kicks == kicks and self._working == 0:
                    self._idle.set()  # no kick came in meanwhile, no other thread at work

    def _sleep_seconds(self) -> float | None:
        visible = self._queue.next_visible_at()
        if visible is None:
            return None
        return min(max(visible - time.time(), 0.01), 60.0)

    def _wait_for_quiet(self, started: float) -> int:
        """Until no request is in flight (or ``max_delay`` has passed, or, with renders
        elsewhere, a bulk write is waiting); the bulk writes ended so far."""
        with self._state:
            while not self._stopping.is_set():
                if self.bulk_beside_requests and self._bulk_writes > self._bulk_handled:
                    break
                now = time.monotonic()
                left = self.max_delay_seconds - (now - started)
                if left <= 0:
                    break
                quiet_for = now - self._last_finished
                if self._in_flight == 0 and quiet_for >= self.quiet_seconds:
                    break
                wait = self.quiet_seconds if self._in_flight else self.quiet_seconds - quiet_for
                self._state.wait(timeout=min(max(wait, 0.005), left))
            return self._bulk_writes

    def _horizon(self) -> int:
        """The newest id no write request in flight can have added: a request takes its mark
        under the lock, so one that starts after this reads a mark at least ``last``."""
        last = self._queue.last_id()
        with self._state:
            return min([last, *self._marks.values()])
