"""The MediaIndex port on the index table (see docs/dynamodb.md, "Media").

An asset is the item ``MEDIA#{id}`` / ``ASSET`` with a copy per tag (``TAG#{tag}``) and, for
a page resource, a copy ``COLLECTION`` keyed ``MEDIARES#{collection}`` / its path; lists are
one Query on GSI3 (``MEDIA`` or ``MEDIATAG#{tag}``, sorted by id, newest first; or
``MEDIARES#{collection}``, sorted by path).
Writes are read, merge (``domain.media``), then a transaction conditional on the revision
read, retried when another writer came first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ...domain.media import MediaRecord
from ...ports import MediaQuery
from ..media_writes import MergedMediaWrites
from .dynamodb_index import DynamoIndex, _dump, _load
from .errors import storage

MAIN = "ASSET"
RESOURCE = "COLLECTION"
MAX_ATTEMPTS = 8


def _pk(media_id: str) -> str:
    return f"MEDIA#{media_id}"


def _record(item: dict[str, Any]) -> MediaRecord:
    return MediaRecord.from_dict(json.loads(item["body"]))


class DynamoMediaIndex(MergedMediaWrites):
    def __init__(self, index: DynamoIndex) -> None:
        self._index = index
        self._ddb = index.client
        self.table = index.table

    def get_media(self, media_id: str) -> MediaRecord | None:
        item = self._main(media_id, consistent=False)
        return _record(item) if item is not None else None

    def _main(self, media_id: str, *, consistent: bool) -> dict[str, Any] | None:
        with storage("DynamoDB GetItem"):
            response = self._ddb.get_item(
                TableName=self.table,
                Key=_dump({"PK": _pk(media_id), "SK": MAIN}),
                ConsistentRead=consistent,
            )
        item = response.get("Item")
        return _load(item) if item else None

    def get_media_many(self, media_ids: list[str]) -> dict[str, MediaRecord]:
        found: dict[str, MediaRecord] = {}
        wanted = sorted(set(media_ids))
        with storage("DynamoDB BatchGetItem"):
            for start in range(0, len(wanted), 100):
                keys = [_dump({"PK": _pk(i), "SK": MAIN}) for i in wanted[start : start + 100]]
                request: dict[str, Any] = {self.table: {"Keys": keys}}
                for attempt in range(10):  # botocore does not retry unprocessed keys
                    response = self._ddb.batch_get_item(RequestItems=request)
                    for item in response.get("Responses", {}).get(self.table, []):
                        record = _record(_load(item))
                        found[record.id] = record
                    request = response.get("UnprocessedKeys") or {}
                    if not request:
                        break
                    time.sleep(min(0.05 * 2**attempt, 1.0))
        return found

    def list_media(self, query: MediaQuery) -> list[MediaRecord]:
        by_path = query.collection is not None
        if by_path:
            pk = f"MEDIARES#{query.collection}"
        else:
            pk = f"MEDIATAG#{query.tag}" if query.tag is not None else "MEDIA"
        condition = "GSI3PK = :pk"
        values: dict[str, Any] = {":pk": pk}
        if query.after is not None:
            condition += " AND GSI3SK > :after" if by_path else " AND GSI3SK < :after"
            values[":after"] = query.after
        items = self._index.query(
            {
                "IndexName": "GSI3",
                "KeyConditionExpression": condition,
                "ExpressionAttributeValues": _dump(values),
                "ScanIndexForward": by_path,
            },
            query.limit,
        )
        return [_record(i) for i in items]

    def delete_media(self, media_id: str) -> None:
        items = list(self._index.partition(_pk(media_id), consistent=True))
        self._index.batch_delete([_dump({"PK": i["PK"], "SK": i["SK"]}) for i in items])

    def clear(self) -> None:
        """Media items go with everything else in ``DynamoIndex.clear``."""

    def _update(
        self, media_id: str, merge: Callable[[MediaRecord | None], MediaRecord | None]
    ) -> bool:
        for _ in range(MAX_ATTEMPTS):
            current = self._main(media_id, consistent=True)
            merged = merge(_record(current) if current is not None else None)
            if merged is None:
                return False
            if self._write(merged, current):
                return True
        raise RuntimeError(f"media {media_id}: too many concurrent writers")

    def _write(self, record: MediaRecord, current: dict[str, Any] | None) -> bool:
        body = json.dumps(record.to_dict())
        revision = int(current["rev"]) if current is not None else 0
        main = {
            "PK": _pk(record.id),
            "SK": MAIN,
            "body": body,
            "rev": revision + 1,
            "GSI3PK": "MEDIA",
            "GSI3SK": record.id,
        }
        put: dict[str, Any] = {"TableName": self.table, "Item": _dump(main)}
        if current is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "rev = :rev"
            put["ExpressionAttributeValues"] = _dump({":rev": revision})
        actions: list[dict[str, Any]] = [{"Put": put}]
        tags = record.meta.tags
        for tag in tags:
            copy = {**main, "SK": f"TAG#{tag}", "GSI3PK": f"MEDIATAG#{tag}"}
            actions.append({"Put": {"TableName": self.table, "Item": _dump(copy)}})
        previous = _record(current).meta if current is not None else None
        old_tags = previous.tags if previous is not None else []
        for tag in sorted(set(old_tags) - set(tags)):
            key = _dump({"PK": _pk(record.id), "SK": f"TAG#{tag}"})
            actions.append({"Delete": {"TableName": self.table, "Key": key}})
        meta = record.meta
        if meta.collection is not None and meta.path is not None:
            copy = {
                **main,
                "SK": RESOURCE,
                "GSI3PK": f"MEDIARES#{meta.collection}",
                "GSI3SK": meta.path,
            }
            actions.append({"Put": {"TableName": self.table, "Item": _dump(copy)}})
        elif previous is not None and previous.collection is not None:
            key = _dump({"PK": _pk(record.id), "SK": RESOURCE})
            actions.append({"Delete": {"TableName": self.table, "Key": key}})
        return self._index.write_all_or_none(actions)
