"""A durable, SQS-like event queue in SQLite, with a dead-letter table.

Messages become invisible while a worker holds them (a lease), are retried up to
``max_receives`` times, then move to the dead-letter table where editors can see them and
an admin can redrive them. At-least-once, like SQS: handlers must be idempotent.

Leases are short (``lease_seconds``) and renewed by a heartbeat thread while a message is
in hand, so the messages of a process that died are visible again a few seconds later.

Each message belongs to a lane: ``""`` for a write request's own events, retries and
webhook deliveries; the importing key's id for a bulk write (``set_lane``). The background
drain takes the ``""`` lane first, then the other lanes in turn, so one import never
starves another.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from sqlite3 import Connection
from typing import Any

from ...domain.limits import is_ascii_int
from ...domain.timeutil import to_iso
from ...ports import DeadLetter
from .sqlite import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    receives INTEGER NOT NULL DEFAULT 0,
    visible_at REAL NOT NULL DEFAULT 0,
    last_error TEXT,
    lane TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS event_queue_visible ON event_queue (visible_at, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    error TEXT NOT NULL,
    receives INTEGER NOT NULL,
    failed_at TEXT NOT NULL
);
"""

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], None]
Claimed = tuple[int, dict[str, Any], int, str]  # id, body, receives, lane
DeadLetterHook = Callable[[dict[str, Any], str], None]


class EventQueue:
    def __init__(
        self,
        db: Database,
        *,
        max_receives: int = 3,
        lease_seconds: float = 6.0,
        retry_delay_seconds: float = 0.0,
    ) -> None:
        self._db = db
        self.max_receives = max_receives
        self.lease_seconds = lease_seconds
        self.retry_delay_seconds = retry_delay_seconds
        self._draining = threading.local()
        self._recording = threading.local()
        self._lanes = threading.local()
        self._turns: dict[str, int] = {}  # lane -> when it was last served
        self._turn = 0
        self._held: set[int] = set()  # ids this process is handling (their leases renewed)
        self._held_lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._closed = threading.Event()
        self._upgrade()

    def _upgrade(self) -> None:
        """A queue written before lanes existed gains the column (its messages: lane "")."""
        conn = self._db.connection()
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(event_queue)")}
        if "lane" not in columns:
            conn.execute("ALTER TABLE event_queue ADD COLUMN lane TEXT NOT NULL DEFAULT ''")
        conn.execute("CREATE INDEX IF NOT EXISTS event_queue_lane ON event_queue (lane, id)")

    def close(self) -> None:
        self._closed.set()

    # --- lanes ------------------------------------------------------------------------------

    def set_lane(self, lane: str) -> None:
        """The messages this thread adds from now on go to ``lane`` (``""``: interactive)."""
        self._lanes.adding = lane

    def claimed_lane(self) -> str:
        """The lane of the message this thread is handling (``""`` when none)."""
        return str(getattr(self._lanes, "claimed", ""))

    def _adding_lane(self) -> str:
        return str(getattr(self._lanes, "adding", ""))

    def enqueue(self, conn: Connection, body: dict[str, Any]) -> None:
        """Add a message inside the caller's transaction (so it commits with the change)."""
        cursor = conn.execute(
            "INSERT INTO event_queue (body, lane) VALUES (?, ?)",
            (json.dumps(body), self._adding_lane()),
        )
        self._record(cursor.lastrowid)

    def send(self, body: dict[str, Any], *, delay_seconds: float = 0) -> None:
        """Add a message in a transaction of its own, visible after ``delay_seconds``."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO event_queue (body, visible_at, lane) VALUES (?, ?, ?)",
                (json.dumps(body), time.time() + delay_seconds, self._adding_lane()),
            )
        self._record(cursor.lastrowid)

    # --- which messages this thread added (a request's own events) ---------------------------

    def start_recording(self) -> None:
        """From now on, remember the ids of the messages this thread adds."""
        self._recording.ids = []

    def take_recorded(self) -> list[int]:
        """The ids recorded since the last call (recording goes on)."""
        ids: list[int] = getattr(self._recording, "ids", None) or []
        self._recording.ids = []
        return ids

    def stop_recording(self) -> None:
        self._recording.ids = None

    def _record(self, message_id: int | None) -> None:
        ids = getattr(self._recording, "ids", None)
        if ids is not None and message_id is not None:
            ids.append(message_id)

    def pending(self) -> int:
        row = self._db.connection().execute("SELECT COUNT(*) FROM event_queue").fetchone()
        return int(row[0])

    def last_id(self) -> int:
        """The newest message's id (0 when empty): later messages have larger ids."""
        row = self._db.connection().execute("SELECT MAX(id) FROM event_queue").fetchone()
        return int(row[0] or 0)

    def next_visible_at(self) -> float | None:
        """When the next message becomes visible (epoch seconds); None when the queue is empty."""
        row = self._db.connection().execute("SELECT MIN(visible_at) FROM event_queue").fetchone()
        return None if row[0] is None else float(row[0])

    def drain(
        self,
        handler: Handler,
        *,
        on_dead_letter: DeadLetterHook | None = None,
        max_messages: int | None = None,
        up_to_id: int | None = None,
        only_ids: list[int] | None = None,
    ) -> int:
        """Deliver every visible message to ``handler``; returns how many were handled.

        ``up_to_id`` limits it to the messages with an id up to that one; ``only_ids`` to
        those messages (each one if it is visible now).

        Re-entrant calls from inside a handler (a handler that writes objects) return at
        once: the outer loop picks their messages up.
        """
        if getattr(self._draining, "active", False):
            return 0
        self._draining.active = True
        handled = 0
        try:
            while max_messages is None or handled < max_messages:
                if only_ids is not None:
                    if not only_ids:
                        return handled
                    claimed = self._claim_id(only_ids.pop(0))
                    if claimed is None:
                        continue
                else:
                    claimed = self._claim(up_to_id)
                if claimed is None:
                    return handled
                message_id, body, receives, lane = claimed
                self._lanes.claimed = lane
                try:
                    handler(body)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    self._failed(message_id, body, receives, error, traceback.format_exc())
                    if only_ids is not None and receives < self.max_receives:
                        only_ids.append(message_id)  # retried here, as the full drain would
                    if receives >= self.max_receives and on_dead_letter is not None:
                        try:
                            on_dead_letter(body, error)
                        except Exception:
                            log.exception("recording a dead letter failed")
                else:
                    self._db.connection().execute(
                        "DELETE FROM event_queue WHERE id = ?", (message_id,)
                    )
                finally:
                    self._lanes.claimed = ""
                    with self._held_lock:
                        self._held.discard(message_id)
                handled += 1
            return handled
        finally:
            self._draining.active = False

    def _claim(self, up_to_id: int | None) -> Claimed | None:
        """The oldest visible message of the lane whose turn it is: ``""`` first, then the
        lane served longest ago."""
        last = up_to_id if up_to_id is not None else 2**63 - 1
        now = time.time()
        with self._db.transaction() as conn:
            heads = []
            lanes = self._waiting_lanes(conn)
            for lane in lanes:
                row = conn.execute(
                    "SELECT id FROM event_queue WHERE lane = ? AND id <= ? AND visible_at <= ?"
                    " ORDER BY id LIMIT 1",
                    (lane, last, now),
                ).fetchone()
                if row is not None:
                    if lane == "":
                        return self._take(conn, row["id"], now)
                    heads.append((self._turns.get(lane, -1), row["id"], lane))
            if not heads:
                return None
            _, message_id, lane = min(heads)
            self._turn += 1  # lanes with messages keep their turn, leased or not; gone ones go
            self._turns = {**{n: self._turns.get(n, -1) for n in lanes}, lane: self._turn}
            return self._take(conn, message_id, now)

    @staticmethod
    def _waiting_lanes(conn: Connection) -> list[str]:
        """The distinct lanes, in order, by index seeks (one per lane, not a scan)."""
        rows = conn.execute(
            "WITH RECURSIVE lanes(lane) AS ("
            " SELECT MIN(lane) FROM event_queue"
            " UNION ALL"
            " SELECT (SELECT MIN(lane) FROM event_queue WHERE lane > lanes.lane)"
            " FROM lanes WHERE lane IS NOT NULL)"
            " SELECT lane FROM lanes WHERE lane IS NOT NULL"
        ).fetchall()
        return [row["lane"] for row in rows]

    def _claim_id(self, message_id: int) -> Claimed | None:
        now = time.time()
        with self._db.transaction() as conn:
            return self._take(conn, message_id, now)

    def _take(self, conn: Connection, message_id: int, now: float) -> Claimed | None:
        row = conn.execute(
            "SELECT id, body, receives, lane FROM event_queue WHERE id = ? AND visible_at <= ?",
            (message_id, now),
        ).fetchone()
        if row is None:
            return None
        conn.execute(
            "UPDATE event_queue SET receives = receives + 1, visible_at = ? WHERE id = ?",
            (now + self.lease_seconds, message_id),
        )
        with self._held_lock:
            self._held.add(message_id)
        self._beat()
        return message_id, json.loads(row["body"]), row["receives"] + 1, row["lane"]

    # --- the heartbeat ----------------------------------------------------------------------

    def _beat(self) -> None:
        """Start the thread that renews the leases of held messages (once per process)."""
        if self._heartbeat is None or not self._heartbeat.is_alive():
            self._heartbeat = threading.Thread(
                target=self._renew_leases, name="cms-queue-heartbeat", daemon=True
            )
            self._heartbeat.start()

    def _renew_leases(self) -> None:
        while not self._closed.wait(self.lease_seconds / 3):
            with self._held_lock:
                held = sorted(self._held)
            if not held:
                continue
            try:
                self.renew(held)
            except Exception:
                log.exception("renewing the leases of held messages failed")

    def renew(self, ids: list[int]) -> None:
        """Extend the leases of messages this process is still handling."""
        visible_at = time.time() + self.lease_seconds
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE event_queue SET visible_at = ? WHERE id = ? AND visible_at > ?",
                [(visible_at, message_id, time.time()) for message_id in ids],
            )

    def _failed(
        self, message_id: int, body: dict[str, Any], receives: int, error: str, trace: str
    ) -> None:
        with self._db.transaction() as conn:
            if receives >= self.max_receives:
                conn.execute("DELETE FROM event_queue WHERE id = ?", (message_id,))
                conn.execute(
                    "INSERT INTO dead_letters (body, error, receives, failed_at)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        json.dumps(body),
                        error,
                        receives,
                        to_iso(dt.datetime.now(dt.UTC)),
                    ),
                )
            else:
                conn.execute(
                    "UPDATE event_queue SET visible_at = ?, last_error = ? WHERE id = ?",
                    (time.time() + self.retry_delay_seconds, trace[-4000:], message_id),
                )


class LocalOutbox:
    """The Outbox port on the local event queue: the same in-process path as object events."""

    def __init__(self, queue: EventQueue) -> None:
        self._queue = queue

    def send(self, message: dict[str, Any], *, delay_seconds: int = 0) -> None:
        self._queue.send(message, delay_seconds=delay_seconds)


class LocalDeadLetters:
    """The DeadLetters port over the dead-letter table of an EventQueue's database."""

    def __init__(self, db: Database, queue: EventQueue | None = None) -> None:
        self._db = db
        self._queue = queue  # a redrive through it counts as the redriving request's events

    def list(self, limit: int = 100) -> list[DeadLetter]:
        rows = (
            self._db.connection()
            .execute("SELECT * FROM dead_letters ORDER BY id LIMIT ?", (limit,))
            .fetchall()
        )
        return [
            DeadLetter(
                str(r["id"]), json.loads(r["body"]), r["error"], r["receives"], r["failed_at"]
            )
            for r in rows
        ]

    def redrive(self, ids: list[str] | None = None) -> int:
        with self._db.transaction() as conn:
            if ids is None:
                rows = conn.execute("SELECT id, body FROM dead_letters ORDER BY id").fetchall()
            else:
                rows = []
                for message_id in (int(i) for i in ids if is_ascii_int(i)):
                    row = conn.execute(
                        "SELECT id, body FROM dead_letters WHERE id = ?", (message_id,)
                    ).fetchone()
                    if row is not None:
                        rows.append(row)
            for row in rows:
                if self._queue is not None:
                    self._queue.enqueue(conn, json.loads(row["body"]))
                else:
                    conn.execute("INSERT INTO event_queue (body) VALUES (?)", (row["body"],))
                conn.execute("DELETE FROM dead_letters WHERE id = ?", (row["id"],))
        return len(rows)
