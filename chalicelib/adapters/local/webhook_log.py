"""The WebhookLog port on SQLite, beside the event queue (not in the index: a rebuild of the
index must not forget deliveries)."""

from __future__ import annotations

import json

from ...domain.webhooks import Delivery
from .sqlite import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL
) WITHOUT ROWID;
"""


class LocalWebhookLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    def put_delivery(self, delivery: Delivery) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO webhook_deliveries (id, body) VALUES (?, ?)",
                (delivery.id, json.dumps(delivery.to_dict())),
            )

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        row = (
            self._db.connection()
            .execute("SELECT body FROM webhook_deliveries WHERE id = ?", (delivery_id,))
            .fetchone()
        )
        return Delivery.from_dict(json.loads(row["body"])) if row is not None else None

    def list_deliveries(self, limit: int = 100) -> list[Delivery]:
        rows = (
            self._db.connection()
            .execute("SELECT body FROM webhook_deliveries ORDER BY id DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [Delivery.from_dict(json.loads(r["body"])) for r in rows]
