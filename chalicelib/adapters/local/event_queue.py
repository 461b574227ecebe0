"""A durable, SQS-like event queue in SQLite, with a dead-letter table.

Messages become invisible while a worker holds them (a lease), are retried up to
``max_receives`` times, then move to the dead-letter table where editors can see them and
an admin can redrive them. At-least-once, like SQS: handlers must be idempotent.
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
    last_error TEXT
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
DeadLetterHook = Callable[[dict[str, Any], str], None]


class EventQueue:
    def __init__(
        self,
        db: Database,
        *,
        max_receives: int = 3,
        lease_seconds: float = 60.0,
        retry_delay_seconds: float = 0.0,
    ) -> None:
        self._db = db
        self.max_receives = max_receives
        self.lease_seconds = lease_seconds
        self.retry_delay_seconds = retry_delay_seconds
        self._draining = threading.local()
        self._recording = threading.local()

    def enqueue(self, conn: Connection, body: dict[str, Any]) -> None:
        """Add a message inside the caller's transaction (so it commits with the change)."""
        cursor = conn.execute("INSERT INTO event_queue (body) VALUES (?)", (json.dumps(body),))
        self._record(cursor.lastrowid)

    def send(self, body: dict[str, Any], *, delay_seconds: float = 0) -> None:
        """Add a message in a transaction of its own, visible after ``delay_seconds``."""
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO event_queue (body, visible_at) VALUES (?, ?)",
                (json.dumps(body), time.time() + delay_seconds),
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
                message_id, body, receives = claimed
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
                handled += 1
            return handled
        finally:
            self._draining.active = False

    def _claim(self, up_to_id: int | None) -> tuple[int, dict[str, Any], int] | None:
        last = up_to_id if up_to_id is not None else 2**63 - 1
        return self._claim_where("id <= ?", last)

    def _claim_id(self, message_id: int) -> tuple[int, dict[str, Any], int] | None:
        return self._claim_where("id = ?", message_id)

    def _claim_where(self, condition: str, value: int) -> tuple[int, dict[str, Any], int] | None:
        now = time.time()
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT id, body, receives FROM event_queue"
                f" WHERE {condition} AND visible_at <= ? ORDER BY id LIMIT 1",
                (value, now),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE event_queue SET receives = receives + 1, visible_at = ? WHERE id = ?",
                (now + self.lease_seconds, row["id"]),
            )
        return row["id"], json.loads(row["body"]), row["receives"] + 1

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
