"""The Index port on SQLite: every request-path query is an indexed range read."""

from __future__ import annotations

import datetime as dt
import functools
import json
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from sqlite3 import Connection, Row
from typing import Any

from ...domain.changes import Change, rows_after
from ...domain.collections import Collection
from ...domain.entries import (
    EntryRecord,
    RenderStatus,
    Stage,
    failed,
    render_counts,
    sort_title,
    tombstone,
)
from ...domain.paths import section_bounds
from ...domain.sequencer import is_newer, may_apply, padded
from ...domain.timeutil import to_iso
from ...ports import ManageQuery, ObjectError, OtherFile, PageQuery
from .sqlite import Database

# Bump when a table of the index changes: an index database of another version is dropped at
# start-up and rebuilt from the objects (the index is derived; see open_index_database).
INDEX_SCHEMA_VERSION = 4

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    collection TEXT NOT NULL,
    stage TEXT NOT NULL,
    slug TEXT NOT NULL,
    title TEXT NOT NULL,
    sort_title TEXT NOT NULL,
    front_matter TEXT NOT NULL,
    tags TEXT NOT NULL,
    published_at TEXT,
    updated_at TEXT,
    source_etag TEXT,
    version_id TEXT,
    render_status TEXT NOT NULL,
    render_error TEXT,
    rendered_sha256 TEXT,
    html_key TEXT,
    toc TEXT NOT NULL,
    excerpt TEXT,
    word_count INTEGER NOT NULL,
    reading_time_minutes INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    sequencer TEXT,
    visible INTEGER NOT NULL,
    file TEXT NOT NULL,
    expires_at TEXT,
    PRIMARY KEY (collection, stage, slug)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_date
    ON entries (collection, stage, visible, published_at, slug);
CREATE INDEX IF NOT EXISTS entries_by_title
    ON entries (collection, stage, visible, sort_title, slug);
CREATE INDEX IF NOT EXISTS entries_by_status
    ON entries (collection, stage, render_status, slug);
CREATE TABLE IF NOT EXISTS entry_tags (
    collection TEXT NOT NULL,
    stage TEXT NOT NULL,
    tag TEXT NOT NULL,
    slug TEXT NOT NULL,
    visible INTEGER NOT NULL,
    published_at TEXT,
    sort_title TEXT NOT NULL,
    PRIMARY KEY (collection, stage, tag, slug)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entry_tags_by_date
    ON entry_tags (collection, stage, tag, visible, published_at, slug);
CREATE INDEX IF NOT EXISTS entry_tags_by_title
    ON entry_tags (collection, stage, tag, visible, sort_title, slug);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    collection TEXT NOT NULL,
    slug TEXT NOT NULL,
    position TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (collection, slug, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS changes_by_position ON changes (position);
CREATE TABLE IF NOT EXISTS index_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS object_errors (
    key TEXT PRIMARY KEY,
    error TEXT NOT NULL,
    sequencer TEXT,
    recorded_at TEXT NOT NULL
) WITHOUT ROWID;
"""


def open_index_database(path: Path, schema: str) -> tuple[Database, bool]:
    """The index database at ``path``; True when it had to be made anew (it was of another
    schema version, or a rebuild of it never finished): the caller rebuilds it from the
    objects, then calls ``mark_rebuilt``."""
    stale = False
    if path.exists():
        with closing(sqlite3.connect(path)) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if version != INDEX_SCHEMA_VERSION and tables:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            stale = True
    database = Database(path, schema)
    if not stale:
        mark_rebuilt(database)
    return database, stale


def mark_rebuilt(database: Database) -> None:
    """The index is complete for this schema version (until then a start rebuilds it)."""
    database.connection().execute(f"PRAGMA user_version = {INDEX_SCHEMA_VERSION}")


_COLUMNS = (
    "collection",
    "stage",
    "slug",
    "title",
    "sort_title",
    "front_matter",
    "tags",
    "published_at",
    "updated_at",
    "source_etag",
    "version_id",
    "render_status",
    "render_error",
    "rendered_sha256",
    "html_key",
    "toc",
    "excerpt",
    "word_count",
    "reading_time_minutes",
    "deleted",
    "sequencer",
    "visible",
    "file",
    "expires_at",
)
_INSERT = (
    f"INSERT OR REPLACE INTO entries ({', '.join(_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_KEY = "collection = ? AND stage = ? AND slug = ?"


@functools.lru_cache(maxsize=256)
def _collection(body: str) -> Collection:
    """Parsed once per distinct stored text: delivery checks the collection on every read."""
    return Collection.model_validate_json(body)


def _row_values(r: EntryRecord) -> tuple[Any, ...]:
    visible = int(not r.deleted and r.html_key is not None)
    return (
        r.collection,
        r.stage,
        r.slug,
        r.title,
        sort_title(r.title),
        json.dumps(r.front_matter),
        json.dumps(r.tags),
        r.published_at,
        r.updated_at,
        r.source_etag,
        r.version_id,
        r.render_status,
        r.render_error,
        r.rendered_sha256,
        r.html_key,
        json.dumps(r.toc),
        r.excerpt,
        r.word_count,
        r.reading_time_minutes,
        int(r.deleted),
        padded(r.sequencer) if r.sequencer else None,
        visible,
        r.source_file,
        r.expires_at,
    )


def _record(row: Row) -> EntryRecord:
    return EntryRecord(
        collection=row["collection"],
        slug=row["slug"],
        stage=row["stage"],
        title=row["title"],
        front_matter=json.loads(row["front_matter"]),
        tags=json.loads(row["tags"]),
        published_at=row["published_at"],
        updated_at=row["updated_at"],
        source_etag=row["source_etag"],
        version_id=row["version_id"],
        render_status=row["render_status"],
        render_error=row["render_error"],
        rendered_sha256=row["rendered_sha256"],
        html_key=row["html_key"],
        toc=json.loads(row["toc"]),
        excerpt=row["excerpt"],
        word_count=row["word_count"],
        reading_time_minutes=row["reading_time_minutes"],
        deleted=bool(row["deleted"]),
        sequencer=row["sequencer"],
        file=row["file"],
        expires_at=row["expires_at"],
    )


class SqliteIndex:
    def __init__(self, db: Database, *, now: Callable[[], dt.datetime] | None = None) -> None:
        self._db = db
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    # --- entries: reads -------------------------------------------------------------------

    def get_entry(
        self, collection: str, stage: Stage, slug: str, *, consistent: bool = False
    ) -> EntryRecord | None:
        row = (
            self._db.connection()
            .execute(f"SELECT * FROM entries WHERE {_KEY}", (collection, stage, slug))
            .fetchone()
        )
        return _record(row) if row is not None else None

    def list_published(self, query: PageQuery) -> list[EntryRecord]:
        where = ["t.collection = ?", "t.stage = 'published'", "t.visible = 1"]
        params: list[Any] = [query.collection]
        if query.tag:
            where.append("t.tag = ?")
            params.append(query.tag)
        # '+' keeps SQLite from picking the date index when the order is by title
        where.append("+t.published_at <= ?" if query.sort == "title" else "t.published_at <= ?")
        entry = "e" if query.tag else "t"
        where.append(f"({entry}.expires_at IS NULL OR {entry}.expires_at > ?)")
        params.extend((query.now, query.now))
        if query.section:
            where.append("t.slug > ? AND t.slug < ?")
            params.extend(section_bounds(query.section))
        if query.sort == "title":
            column, direction, op = "sort_title", "ASC", ">"
        elif query.sort == "published_at":
            column, direction, op = "published_at", "ASC", ">"
        else:
            column, direction, op = "published_at", "DESC", "<"
        if query.after is not None:
            where.append(f"(t.{column}, t.slug) {op} (?, ?)")
            params.extend(query.after)
        sql = (
            "SELECT e.* FROM entry_tags t JOIN entries e ON e.collection = t.collection"
            " AND e.stage = t.stage AND e.slug = t.slug"
            if query.tag
            else "SELECT t.* FROM entries t"
        )
        sql += (
            f" WHERE {' AND '.join(where)}"
            f" ORDER BY t.{column} {direction}, t.slug {direction} LIMIT ?"
        )
        params.append(query.limit)
        rows = self._db.connection().execute(sql, params).fetchall()
        return [_record(r) for r in rows]

    def list_entries(self, query: ManageQuery) -> list[EntryRecord]:
        where = ["collection = ?", "stage = ?", "deleted = 0"]
        params: list[Any] = [query.collection, query.stage]
        if query.status:
            where.append("render_status = ?")
            params.append(query.status)
        if query.after:
            where.append("slug > ?")
            params.append(query.after)
        if query.section:
            where.append("slug > ? AND slug < ?")
            params.extend(section_bounds(query.section))
        params.append(query.limit)
        rows = (
            self._db.connection()
            .execute(
                f"SELECT * FROM entries {'INDEXED BY entries_by_status' if query.status else ''}"
                f" WHERE {' AND '.join(where)} ORDER BY slug LIMIT ?",
                params,
            )
            .fetchall()
        )
        return [_record(r) for r in rows]

    def count_entries(self, collection: str) -> int:
        row = (
            self._db.connection()
            .execute(
                "SELECT COUNT(DISTINCT slug) FROM entries WHERE collection = ? AND deleted = 0",
                (collection,),
            )
            .fetchone()
        )
        return int(row[0])

    def count_renders(self, collection: str) -> dict[Stage, dict[RenderStatus, int]]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT stage, render_status, COUNT(*) FROM entries INDEXED BY entries_by_status"
                " WHERE collection = ? AND deleted = 0 GROUP BY stage, render_status",
                (collection,),
            )
            .fetchall()
        )
        counts = render_counts(())
        for stage, status, count in rows:
            counts[stage][status] = count
        return counts

    # --- entries: writes ------------------------------------------------------------------

    def stage_entry(self, record: EntryRecord, *, expected_etag: str | None) -> bool:
        with self._db.transaction() as conn:
            row = self._row(conn, record.collection, record.stage, record.slug)
            live = row is not None and not row["deleted"]
            current = row["source_etag"] if live and row is not None else None
            if current != expected_etag:
                return False
            if row is None or not live:
                fresh = EntryRecord(**{**record.to_dict(), "sequencer": None})
                if row is not None and row["file"] == record.source_file:  # one key's order
                    fresh.sequencer = row["sequencer"]
                self._write(conn, fresh, row)
            else:
                conn.execute(
                    "UPDATE entries SET source_etag = ?, version_id = ?,"
                    f" render_status = 'pending', render_error = NULL WHERE {_KEY}",
                    (
                        record.source_etag,
                        record.version_id,
                        record.collection,
                        record.stage,
                        record.slug,
                    ),
                )
            return True

    def stage_removal(
        self, collection: str, stage: Stage, slug: str, *, expected_etag: str | None
    ) -> bool:
        with self._db.transaction() as conn:
            row = self._row(conn, collection, stage, slug)
            if row is None or row["deleted"]:
                return False
            if expected_etag is not None and row["source_etag"] != expected_etag:
                return False
            current = _record(row)
            record = tombstone(current, current.sequencer)
            self._write(conn, record, row)
            self._record_change(conn, record)
            return True

    def apply_render(self, record: EntryRecord, *, replace_file: bool = False) -> bool:
        if record.sequencer is None:
            raise ValueError("an event write needs the event's sequencer")
        with self._db.transaction() as conn:
            row = self._row(conn, record.collection, record.stage, record.slug)
            same_source = row is None or row["file"] == record.source_file
            if not same_source and not row["deleted"] and not replace_file:  # type: ignore[index]
                raise OtherFile(row["file"])  # type: ignore[index]
            if (
                row is not None
                and same_source
                and not may_apply(record.sequencer, row["sequencer"], row["render_status"])
            ):
                return False
            if record.deleted:
                base = _record(row) if row is not None else record
                record = tombstone(base, record.sequencer)
            self._write(conn, record, row)
            self._record_change(conn, record)
            conn.execute("DELETE FROM object_errors WHERE key = ?", (record.key,))
            return True

    def apply_failure(
        self,
        collection: str,
        stage: Stage,
        slug: str,
        *,
        error: str,
        source_etag: str | None,
        version_id: str | None,
        sequencer: str,
        file: str | None = None,
        replace_file: bool = False,
    ) -> bool:
        with self._db.transaction() as conn:
            row = self._row(conn, collection, stage, slug)
            same_source = row is None or file is None or row["file"] == file
            if not same_source and not row["deleted"] and not replace_file:  # type: ignore[index]
                raise OtherFile(row["file"])  # type: ignore[index]
            if row is not None and same_source and not is_newer(sequencer, row["sequencer"]):
                return False
            record = failed(
                _record(row) if row is not None else None,
                collection,
                stage,
                slug,
                error=error,
                source_etag=source_etag,
                version_id=version_id,
                sequencer=sequencer,
                file=file,
            )
            self._write(conn, record, row)
            return True

    # --- collections ----------------------------------------------------------------------

    def get_collection(self, name: str) -> Collection | None:
        row = (
            self._db.connection()
            .execute("SELECT body FROM collections WHERE name = ?", (name,))
            .fetchone()
        )
        return _collection(row["body"]) if row is not None else None

    def put_collection(self, collection: Collection) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO collections (name, body) VALUES (?, ?)",
                (collection.name, collection.model_dump_json()),
            )

    def delete_collection(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM collections WHERE name = ?", (name,))

    def list_collections(self) -> list[Collection]:
        rows = (
            self._db.connection().execute("SELECT body FROM collections ORDER BY name").fetchall()
        )
        return [_collection(r["body"]) for r in rows]

    # --- object errors --------------------------------------------------------------------

    def record_object_error(self, key: str, error: str, sequencer: str | None) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO object_errors (key, error, sequencer, recorded_at)"
                " VALUES (?, ?, ?, ?)",
                (key, error, sequencer, to_iso(dt.datetime.now(dt.UTC))),
            )

    def clear_object_error(self, key: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM object_errors WHERE key = ?", (key,))

    def list_object_errors(self, limit: int = 100) -> list[ObjectError]:
        rows = (
            self._db.connection()
            .execute("SELECT * FROM object_errors ORDER BY recorded_at DESC, key LIMIT ?", (limit,))
            .fetchall()
        )
        return [ObjectError(r["key"], r["error"], r["sequencer"], r["recorded_at"]) for r in rows]

    def clear(self) -> None:
        with self._db.transaction() as conn:
            tables = ("entry_tags", "entries", "collections", "object_errors", "changes")
            for table in (*tables, "index_meta"):
                conn.execute(f"DELETE FROM {table}")

    # --- the change log -------------------------------------------------------------------

    def list_changes(self, after: str, until: str, limit: int) -> list[Change]:
        rows = (
            self._db.connection()
            .execute(
                "SELECT body FROM changes WHERE position > ? AND position <= ?"
                " ORDER BY position LIMIT ?",
                (after, until, limit),
            )
            .fetchall()
        )
        return [Change.from_dict(json.loads(r["body"])) for r in rows]

    def change_epoch(self, *, fresh: bool = False) -> str:
        with self._db.transaction() as conn:  # always read: ``fresh`` changes nothing here
            row = conn.execute("SELECT value FROM index_meta WHERE name = 'epoch'").fetchone()
            if row is not None:
                return str(row["value"])
            epoch = secrets.token_hex(8)
            conn.execute("INSERT INTO index_meta (name, value) VALUES ('epoch', ?)", (epoch,))
            return epoch

    def _record_change(self, conn: Connection, record: EntryRecord) -> None:
        """In the write's transaction, whose lock orders positions as commits are ordered."""
        if record.stage != "published":  # drafts never reach the log: spare the read
            return
        where = "collection = ? AND slug = ?"
        names = (record.collection, record.slug)
        existing = conn.execute(f"SELECT body FROM changes WHERE {where}", names).fetchall()
        rows = rows_after(
            [Change.from_dict(json.loads(r["body"])) for r in existing], record, self._now()
        )
        if rows is None:
            return
        conn.execute(f"DELETE FROM changes WHERE {where}", names)
        conn.executemany(
            "INSERT INTO changes (collection, slug, position, body) VALUES (?, ?, ?, ?)",
            [(*names, c.position, json.dumps(c.to_dict())) for c in rows],
        )

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _row(conn: Connection, collection: str, stage: str, slug: str) -> Row | None:
        row: Row | None = conn.execute(
            f"SELECT * FROM entries WHERE {_KEY}", (collection, stage, slug)
        ).fetchone()
        return row

    def _write(self, conn: Connection, record: EntryRecord, previous: Row | None) -> None:
        """The entry's row and its tag rows. The tag rows that go are named by the previous
        row's tags: a delete by slug alone would scan every tag row of the collection, the
        table's key being (collection, stage, tag, slug)."""
        values = _row_values(record)
        conn.execute(_INSERT, values)
        key = (record.collection, record.stage)
        gone = set(json.loads(previous["tags"])) - set(record.tags) if previous else set()
        conn.executemany(
            "DELETE FROM entry_tags WHERE collection = ? AND stage = ? AND tag = ? AND slug = ?",
            [(*key, tag, record.slug) for tag in sorted(gone)],
        )
        visible = values[_COLUMNS.index("visible")]
        title = sort_title(record.title)
        conn.executemany(
            "INSERT OR REPLACE INTO entry_tags (collection, stage, tag, slug, visible,"
            " published_at, sort_title) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (*key, tag, record.slug, visible, record.published_at, title)
                for tag in dict.fromkeys(record.tags)
            ],
        )
