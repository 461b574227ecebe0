"""An S3-shaped, versioned object store on the file system.

Versions and their metadata live in SQLite. Bytes up to INLINE_MAX_BYTES are stored in the
version row itself (one transaction, no file to create: an order of magnitude faster for
Markdown and HTML); larger ones in content-addressed blob files, written to a temp file and
renamed into place before the version that names them commits. Each committed change
enqueues an S3-shaped event in the same transaction, so a change is never without its event
(the way S3 notifications work).

Durability matches SQLite's WAL mode with synchronous=NORMAL: a killed process loses nothing
that was committed; a power cut may lose the last moments of writes. ``fsync=True``
(CMS_LOCAL_FSYNC=1) also flushes every source blob to disk before its version commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from sqlite3 import Connection, Row

from ...domain import notifications
from ...domain.object_keys import check_key
from ...domain.s3_events import make_record
from ...ports import ObjectInfo, ObjectNotFound, ObjectPreconditionFailed, StoredObject
from .event_queue import EventQueue
from .sqlite import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS object_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL UNIQUE,
    etag TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    content_type TEXT,
    metadata TEXT,
    blob TEXT,
    inline BLOB,
    deleted INTEGER NOT NULL DEFAULT 0,
    last_modified TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS object_versions_by_key ON object_versions (key, seq);
CREATE TABLE IF NOT EXISTS current_objects (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
) WITHOUT ROWID;
"""

INLINE_MAX_BYTES = 256 * 1024
# Rebuilt from the sources by the event handlers and reindex: not worth an fsync each.
DERIVED_PREFIXES = ("rendered/",)


def _prefix_end(prefix: str) -> str:
    return prefix + "\U0010ffff"


class LocalObjectStore:
    def __init__(
        self,
        db: Database,
        blob_dir: Path,
        *,
        bucket: str = "cms-local",
        events: EventQueue | None = None,
        fsync: bool = False,
    ) -> None:
        self._db = db
        self._blobs = blob_dir
        self._blobs.mkdir(parents=True, exist_ok=True)
        self.bucket = bucket
        self._events = events
        self._fsync = fsync
        self._folders: set[str] = set()

    # --- writes ---------------------------------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        check_key(key)
        etag = hashlib.md5(data, usedforsecurity=False).hexdigest()
        inline = data if len(data) <= INLINE_MAX_BYTES else None
        blob = None
        if inline is None:
            blob = self._write_blob(
                data, durable=self._fsync and not key.startswith(DERIVED_PREFIXES)
            )
        now = dt.datetime.now(dt.UTC)
        version_id = uuid.uuid4().hex
        with self._db.transaction() as conn:
            current = self._current_row(conn, key)
            if if_none_match and current is not None:
                raise ObjectPreconditionFailed(f"{key} exists")
            if if_match is not None and (current is None or current["etag"] != if_match):
                raise ObjectPreconditionFailed(f"{key} does not match ETag {if_match}")
            cur = conn.execute(
                "INSERT INTO object_versions (key, version_id, etag, size, content_type,"
                " metadata, blob, inline, deleted, last_modified)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (
                    key,
                    version_id,
                    etag,
                    len(data),
                    content_type,
                    json.dumps(dict(metadata or {})),
                    blob,
                    inline,
                    now.isoformat(),
                ),
            )
            seq = int(cur.lastrowid or 0)
            conn.execute(
                "INSERT INTO current_objects (key, seq) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET seq = excluded.seq",
                (key, seq),
            )
            self._notify(conn, key, "ObjectCreated:Put", seq, version_id, etag, len(data))
        return ObjectInfo(key, version_id, etag, len(data), now, content_type, dict(metadata or {}))

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        check_key(key)
        now = dt.datetime.now(dt.UTC)
        with self._db.transaction() as conn:
            current = self._current_row(conn, key)
            if if_match is not None and (current is None or current["etag"] != if_match):
                raise ObjectPreconditionFailed(f"{key} does not match ETag {if_match}")
            if current is None:
                return
            version_id = uuid.uuid4().hex
            cur = conn.execute(
                "INSERT INTO object_versions (key, version_id, deleted, last_modified)"
                " VALUES (?, ?, 1, ?)",
                (key, version_id, now.isoformat()),
            )
            conn.execute("DELETE FROM current_objects WHERE key = ?", (key,))
            seq = int(cur.lastrowid or 0)
            self._notify(conn, key, "ObjectRemoved:DeleteMarkerCreated", seq, version_id)

    # --- reads ----------------------------------------------------------------------------

    def head(self, key: str) -> ObjectInfo | None:
        check_key(key)
        row = self._current_row(self._db.connection(), key)
        return self._info(row) if row is not None else None

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject:
        check_key(key)
        conn = self._db.connection()
        if version_id is None:
            row = self._current_row(conn, key)
        else:
            row = conn.execute(
                "SELECT *, 0 AS newer FROM object_versions WHERE key = ? AND version_id = ?",
                (key, version_id),
            ).fetchone()
        if row is None or row["deleted"]:
            raise ObjectNotFound(key if version_id is None else f"{key}@{version_id}")
        if row["inline"] is not None:
            data = bytes(row["inline"])
        else:
            data = (self._blobs / row["blob"][:2] / row["blob"]).read_bytes()
        return StoredObject(self._info(row), data)

    def list_versions(self, key: str) -> list[ObjectInfo]:
        check_key(key)
        rows = (
            self._db.connection()
            .execute(
                "SELECT v.*, (v.seq <> (SELECT MAX(seq) FROM object_versions WHERE key = v.key))"
                " AS newer FROM object_versions v WHERE v.key = ? ORDER BY v.seq DESC",
                (key,),
            )
            .fetchall()
        )
        return [self._info(r) for r in rows]

    def list_objects(self, prefix: str, *, shallow: bool = False) -> Iterator[ObjectInfo]:
        after = ""
        conn = self._db.connection()
        folder = " AND instr(substr(c.key, ?), '/') = 0" if shallow else ""
        while True:
            rows = conn.execute(
                "SELECT v.*, 0 AS newer FROM current_objects c"
                " JOIN object_versions v ON v.seq = c.seq"
                f" WHERE c.key >= ? AND c.key < ? AND c.key > ?{folder} ORDER BY c.key LIMIT 1000",
                (prefix, _prefix_end(prefix), after, *([len(prefix) + 1] if shallow else [])),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield self._info(row)
            after = rows[-1]["key"]

    def list_folders(self, prefix: str) -> list[str]:
        start = len(prefix) + 1
        rows = (
            self._db.connection()
            .execute(
                "SELECT DISTINCT substr(key, 1, ? + instr(substr(key, ?), '/')) AS folder"
                " FROM current_objects WHERE key >= ? AND key < ?"
                " AND instr(substr(key, ?), '/') > 0 ORDER BY folder",
                (len(prefix), start, prefix, _prefix_end(prefix), start),
            )
            .fetchall()
        )
        return [row["folder"] for row in rows]

    # --- helpers --------------------------------------------------------------------------

    def _current_row(self, conn: Connection, key: str) -> Row | None:
        row: Row | None = conn.execute(
            "SELECT v.*, 0 AS newer FROM current_objects c JOIN object_versions v"
            " ON v.seq = c.seq WHERE c.key = ?",
            (key,),
        ).fetchone()
        return row

    @staticmethod
    def _info(row: Row) -> ObjectInfo:
        return ObjectInfo(
            key=row["key"],
            version_id=row["version_id"],
            etag=row["etag"] or "",
            size=row["size"],
            last_modified=dt.datetime.fromisoformat(row["last_modified"]),
            content_type=row["content_type"] or "application/octet-stream",
            metadata=json.loads(row["metadata"] or "{}"),
            is_latest=not row["newer"],
            is_delete_marker=bool(row["deleted"]),
        )

    def _write_blob(self, data: bytes, *, durable: bool) -> str:
        name = hashlib.sha256(data).hexdigest()
        folder = self._blobs / name[:2]
        target = folder / name
        if target.exists():
            return name
        if name[:2] not in self._folders:
            folder.mkdir(exist_ok=True)
            self._folders.add(name[:2])
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if durable:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return name

    def _notify(
        self,
        conn: Connection,
        key: str,
        event_name: str,
        seq: int,
        version_id: str,
        etag: str | None = None,
        size: int | None = None,
    ) -> None:
        if self._events is None or notifications.target_of(key) is None:
            return
        record = make_record(
            bucket=self.bucket,
            key=key,
            event_name=event_name,
            sequencer=f"{seq:016X}",
            version_id=version_id,
            etag=etag,
            size=size,
        )
        self._events.enqueue(conn, {"Records": [record]})
