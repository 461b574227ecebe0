"""The MediaIndex port on SQLite: one row per asset, a tag table, lists by id (newest first);
page resources also have a row in ``media_resources``, listed by collection and path."""

from __future__ import annotations

import json
from collections.abc import Callable
from sqlite3 import Connection

from ...domain.media import MediaRecord
from ...ports import MediaQuery
from ..media_writes import MergedMediaWrites
from .sqlite import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS media (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media_tags (
    tag TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tag, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media_resources (
    id TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    path TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS media_resources_by_path ON media_resources (collection, path);
"""


def _load(body: str) -> MediaRecord:
    return MediaRecord.from_dict(json.loads(body))


class SqliteMediaIndex(MergedMediaWrites):
    def __init__(self, db: Database) -> None:
        self._db = db

    def get_media(self, media_id: str) -> MediaRecord | None:
        row = (
            self._db.connection()
            .execute("SELECT body FROM media WHERE id = ?", (media_id,))
            .fetchone()
        )
        return _load(row["body"]) if row is not None else None

    def get_media_many(self, media_ids: list[str]) -> dict[str, MediaRecord]:
        wanted = sorted(set(media_ids))
        found: dict[str, MediaRecord] = {}
        # In chunks: SQLite builds may cap a statement at 999 or 32766 variables, and one
        # Markdown body can name more media than that.
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = (
                self._db.connection()
                .execute(f"SELECT id, body FROM media WHERE id IN ({marks})", chunk)
                .fetchall()
            )
            found.update((r["id"], _load(r["body"])) for r in rows)
        return found

    def list_media(self, query: MediaQuery) -> list[MediaRecord]:
        if query.collection is not None:
            sql = (
                "SELECT m.body FROM media_resources r JOIN media m ON m.id = r.id"
                " WHERE r.collection = ? AND r.path > ? ORDER BY r.path LIMIT ?"
            )
            rows = (
                self._db.connection()
                .execute(sql, (query.collection, query.after or "", query.limit))
                .fetchall()
            )
            return [_load(r["body"]) for r in rows]
        after = query.after if query.after is not None else "\U0010ffff"
        if query.tag is None:
            sql = "SELECT body FROM media WHERE id < ? ORDER BY id DESC LIMIT ?"
            params: tuple[object, ...] = (after, query.limit)
        else:
            sql = (
                "SELECT m.body FROM media_tags t JOIN media m ON m.id = t.id"
                " WHERE t.tag = ? AND t.id < ? ORDER BY t.id DESC LIMIT ?"
            )
            params = (query.tag, after, query.limit)
        rows = self._db.connection().execute(sql, params).fetchall()
        return [_load(r["body"]) for r in rows]

    def delete_media(self, media_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM media WHERE id = ?", (media_id,))
            conn.execute("DELETE FROM media_tags WHERE id = ?", (media_id,))
            conn.execute("DELETE FROM media_resources WHERE id = ?", (media_id,))

    def clear(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM media_resources")
            conn.execute("DELETE FROM media_tags")
            conn.execute("DELETE FROM media")

    def _update(
        self, media_id: str, merge: Callable[[MediaRecord | None], MediaRecord | None]
    ) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT body FROM media WHERE id = ?", (media_id,)).fetchone()
            merged = merge(_load(row["body"]) if row is not None else None)
            if merged is None:
                return False
            self._write(conn, merged)
        return True

    @staticmethod
    def _write(conn: Connection, record: MediaRecord) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO media (id, body) VALUES (?, ?)",
            (record.id, json.dumps(record.to_dict())),
        )
        conn.execute("DELETE FROM media_tags WHERE id = ?", (record.id,))
        conn.executemany(
            "INSERT INTO media_tags (tag, id) VALUES (?, ?)",
            [(tag, record.id) for tag in record.meta.tags],
        )
        meta = record.meta
        if meta.collection is not None and meta.path is not None:
            conn.execute(
                "INSERT OR REPLACE INTO media_resources (id, collection, path) VALUES (?, ?, ?)",
                (record.id, meta.collection, meta.path),
            )
        else:
            conn.execute("DELETE FROM media_resources WHERE id = ?", (record.id,))
