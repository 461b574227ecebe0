"""The Renderer port on local worker processes: every core renders, no render blocks a request.

``CMS_RENDER_WORKERS`` processes (one per core by default) run ``render_worker.py``. A thread
that needs a rendering takes an idle worker, sends the job and waits for the reply:

- **Budget.** The worker renders under the CPU-time timer of ``domain.render_budget`` and
  answers ``refused`` when it runs out. Should a worker not answer (code that never returns
  to the interpreter), it is killed once it has spent the budget plus ``grace_seconds`` of
  CPU on the job (read from /proc: a busy machine slows a render without making it
  guilty), or once ``HUNG_FACTOR`` times that in wall time has passed (a worker that
  stopped); the job is refused as too complex and a fresh worker starts in the background.
- **Lost workers.** A worker that dies on a job (killed from outside, out of memory) is
  replaced and the job tried once more on a fresh one: only a second death blames the
  document. Workers run in a session of their own, so a Ctrl-C for the server does not
  reach them; they exit when the server closes their input.
- **Scheduling.** When a worker frees up it goes to the most urgent waiting thread: a write
  request's own renders first (an editor is waiting), then background work, taking turns
  between lanes (one lane per importing key, see ``event_queue.py``) so no batch starves
  another.
- **Memo.** A rendering this process already has (an entry's draft and its published
  snapshot share one body) is not sent to a worker at all, and one that a worker is busy
  with is waited for rather than sent again: the two events of an imported entry, handled
  by two threads at once, cost one render (and a refused document one budget).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...domain.render_budget import RENDER_ERROR, RenderBudget, RenderRefused, over_budget
from ...domain.rendering import Rendered, own_copy, remember, remembered_at, render_key
from .render_worker import READY, read_frame, write_frame

log = logging.getLogger(__name__)

Priority = Callable[[], tuple[bool, str]]  # (interactive, lane) of the calling thread
PROJECT_ROOT = Path(__file__).resolve().parents[3]
BOOT_SECONDS = 60.0
HUNG_FACTOR = 4.0


def default_worker_count() -> int:
    return max(1, os.cpu_count() or 1)


class _Lost(Exception):
    """The worker did not answer: it died, or it was killed for outliving the budget."""


class _Gone(_Lost):
    """The worker had died before the job reached it (the job is not to blame)."""


WORKER_COMMAND = ("-m", "chalicelib.adapters.local.render_worker")


class _Worker:
    def __init__(self, command: tuple[str, ...] = WORKER_COMMAND) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(_python_path())}
        self.process = subprocess.Popen(
            [sys.executable, *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=PROJECT_ROOT,
            env=env,
            start_new_session=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests = self.process.stdin
        self._replies = self.process.stdout
        self._cpu_seen: float | None = None  # the CPU seconds of its last reply

    def wait_ready(self) -> bool:
        if not self._readable(BOOT_SECONDS):
            return False
        return bool(self._reply() == READY)

    def _reply(self) -> Any:
        frame = read_frame(self._replies)
        if frame is None:
            return None
        message, self._cpu_seen = frame
        return message

    def call(self, job: dict[str, Any], cpu_limit: float) -> Any:
        """The worker's reply; ``_Lost("timeout")`` once it spent ``cpu_limit`` seconds of CPU
        on the job without answering, or ``HUNG_FACTOR`` times that in wall time. The job's
        CPU counts from the worker's last reply: an idle worker spends none waiting for it."""
        started_cpu = self._cpu_seen
        try:
            write_frame(self._requests, job)
        except (BrokenPipeError, OSError) as exc:
            raise _Gone(f"the render worker is gone ({exc})") from None
        deadline = time.monotonic() + HUNG_FACTOR * cpu_limit
        while not self._readable(min(cpu_limit, max(deadline - time.monotonic(), 0.0))):
            now_cpu = self.cpu_seconds()
            spent = None if now_cpu is None or started_cpu is None else now_cpu - started_cpu
            if spent is None or spent >= cpu_limit or time.monotonic() >= deadline:
                self.kill()
                raise _Lost("timeout")
        reply = self._reply()
        if reply is None:
            code = self.process.wait()
            raise _Lost(f"the render worker stopped (exit code {code})")
        return reply

    def _readable(self, timeout: float) -> bool:
        return bool(select.select([self._replies], [], [], timeout)[0])

    def cpu_seconds(self) -> float | None:
        return process_cpu_seconds(self.process.pid)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def close(self) -> None:
        try:
            self._requests.close()  # the worker exits at the end of its input
            self.process.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()


def process_cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a live process has used, from Linux's /proc; None where
    that cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _python_path() -> list[str]:
    inherited = os.environ.get("PYTHONPATH", "")
    return [str(PROJECT_ROOT), *([inherited] if inherited else [])]


@dataclass(eq=False)
class _Flight:
    """A render a worker is busy with, for the threads that want the same one."""

    interactive: bool
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Rendered | RenderRefused | None = None  # None: it failed otherwise (try again)


@dataclass(eq=False)
class _Waiter:
    interactive: bool
    lane: str
    seq: int
    worker: _Worker | None = field(default=None)


class RenderWorkers:
    def __init__(
        self,
        count: int,
        *,
        priority: Priority = lambda: (True, ""),
        grace_seconds: float = 1.0,
    ) -> None:
        self.count = count
        self.grace_seconds = grace_seconds
        self._priority = priority
        self._state = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._booting = 0
        self._boot_failures = 0
        self._waiting: list[_Waiter] = []
        self._flights: dict[bytes, _Flight] = {}
        self._turns: dict[str, int] = {}
        self._seq = itertools.count()
        self._dispatches = itertools.count()
        self._started = False
        self._closed = False
        self.killed = 0  # workers killed for outliving the budget (tests, benchmarks)
        self.jobs = 0  # renders sent to a worker (tests, benchmarks)

    # --- the Renderer port ----------------------------------------------------------------

    def render(
        self,
        body: str,
        *,
        summary: str | None,
        front_matter: dict[str, Any] | None,
        budget: RenderBudget,
    ) -> Rendered:
        key = render_key(body, summary=summary, front_matter=front_matter)
        interactive, lane = self._priority()
        while True:
            found = remembered_at(key)
            if found is not None:
                return found
            with self._state:
                flight = self._flights.get(key)
                if flight is None:
                    flight = self._flights[key] = _Flight(interactive)
                    break
            if interactive and not flight.interactive:  # never behind an import's turn
                return own_copy(
                    self._render(body, summary, front_matter, budget, interactive, lane)
                )
            flight.done.wait()
            if isinstance(flight.outcome, RenderRefused):
                raise RenderRefused(flight.outcome.code, flight.outcome.detail)
            if flight.outcome is not None:
                return own_copy(flight.outcome)
        try:
            rendered = self._render(body, summary, front_matter, budget, interactive, lane)
        except RenderRefused as refused:
            flight.outcome = refused
            raise
        else:
            flight.outcome = rendered
            return own_copy(rendered)
        finally:
            with self._state:
                del self._flights[key]
            flight.done.set()

    def _render(
        self,
        body: str,
        summary: str | None,
        front_matter: dict[str, Any] | None,
        budget: RenderBudget,
        interactive: bool,
        lane: str,
    ) -> Rendered:
        job = {
            "body": body,
            "summary": summary,
            "front_matter": front_matter,
            "budget": {"cpu_seconds": budget.cpu_seconds, "max_depth": budget.max_depth},
        }
        deaths = 0
        for _ in range(self.count + 2):
            worker = self._acquire(interactive, lane)
            self.jobs += 1
            try:
                kind, value = worker.call(job, cpu_limit=budget.cpu_seconds + self.grace_seconds)
            except _Gone:
                self._replace(worker)
                continue
            except _Lost as lost:
                self._replace(worker)
                if str(lost) == "timeout":
                    self.killed += 1
                    raise over_budget(budget) from None
                deaths += 1
                if deaths < 2:  # killed from outside, out of memory: not the document's fault
                    continue
                raise RenderRefused(RENDER_ERROR, f"{lost}, twice on this document") from None
            except BaseException:
                self._replace(worker)  # in an unknown state: never handed out again
                raise
            break
        else:
            raise RuntimeError("the render workers keep dying before taking a job (see the log)")
        self._release(worker)
        if kind == "refused":
            raise RenderRefused(*value)
        remember(body, value, summary=summary, front_matter=front_matter)
        return value  # type: ignore[no-any-return]

    # --- the pool ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers (in the background: a worker is ready once it loaded Markdown)."""
        with self._state:
            if self._started or self._closed:
                return
            self._started = True
        for _ in range(self.count):
            self._spawn()

    def close(self) -> None:
        """Stop the idle workers now; a busy one finishes its job first (``_release``)."""
        with self._state:
            self._closed = True
            workers = list(self._idle)
            self._idle.clear()
            self._state.notify_all()
        for worker in workers:
            worker.close()

    def wait_ready(self, timeout: float = BOOT_SECONDS) -> bool:
        """Block until every worker has started (tests, benchmarks)."""
        self.start()
        deadline = time.monotonic() + timeout
        with self._state:
            while len(self._idle) + len(self._busy) < self.count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._state.wait(left)
            return True

    def _spawn(self) -> None:
        with self._state:
            if self._closed:
                return
            self._booting += 1
        threading.Thread(target=self._boot, name="cms-render-boot", daemon=True).start()

    def _boot(self) -> None:
        worker: _Worker | None = None
        try:
            worker = _Worker()
            ready = worker.wait_ready()
        except Exception:
            log.exception("a render worker could not start")
            ready = False
        with self._state:
            self._booting -= 1
            if ready and worker is not None and not self._closed:
                self._boot_failures = 0
                self._idle.append(worker)
                self._dispatch()
                return
            self._boot_failures += 1
            failures = self._boot_failures
            self._state.notify_all()
        if worker is not None:
            with contextlib.suppress(OSError):
                worker.kill()
        if not self._closed:
            log.error("a render worker failed to start (%d in a row); retrying", failures)
            time.sleep(min(30.0, 0.5 * 2**failures))
            self._spawn()

    def _replace(self, worker: _Worker) -> None:
        with self._state:
            self._busy.discard(worker)
        worker.kill()
        self._spawn()

    def _acquire(self, interactive: bool, lane: str) -> _Worker:
        self.start()
        with self._state:
            waiter = _Waiter(interactive, lane, next(self._seq))
            self._waiting.append(waiter)
            self._dispatch()
            while waiter.worker is None:
                if self._closed or (self._boot_failures >= 3 and not self._idle and not self._busy):
                    self._waiting.remove(waiter)
                    raise RuntimeError("no render worker is running (see the log)")
                self._state.wait(timeout=1.0)
            return waiter.worker

    def _release(self, worker: _Worker) -> None:
        with self._state:
            self._busy.discard(worker)
            if self._closed:
                worker.close()
                return
            self._idle.append(worker)
            self._dispatch()

    def _dispatch(self) -> None:
        """Hand idle workers to the most urgent waiters (the lock is held)."""
        while self._idle and self._waiting:
            waiter = min(
                self._waiting,
                key=lambda w: (not w.interactive, self._turns.get(w.lane, -1), w.seq),
            )
            self._waiting.remove(waiter)
            waiter.worker = self._idle.pop()
            self._busy.add(waiter.worker)
            self._turns[waiter.lane] = next(self._dispatches)
        self._state.notify_all()
