"""The WebhookLog port on the index table: ``DELIVERY#{id}`` items, listed newest first on
GSI3 (``DELIVERIES``); ``DynamoIndex.clear`` keeps them."""

from __future__ import annotations

import json
from typing import Any

from ...domain.webhooks import Delivery
from .dynamodb_index import DynamoIndex, _dump, _load
from .errors import storage

PREFIX = "DELIVERY#"


class DynamoWebhookLog:
    def __init__(self, index: DynamoIndex) -> None:
        self._index = index
        self._ddb = index.client
        self.table = index.table

    def put_delivery(self, delivery: Delivery) -> None:
        item = {
            "PK": PREFIX + delivery.id,
            "SK": "DELIVERY",
            "GSI3PK": "DELIVERIES",
            "GSI3SK": delivery.id,
            "body": json.dumps(delivery.to_dict()),
        }
        with storage("DynamoDB PutItem"):
            self._ddb.put_item(TableName=self.table, Item=_dump(item))

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with storage("DynamoDB GetItem"):
            found = self._ddb.get_item(
                TableName=self.table,
                Key=_dump({"PK": PREFIX + delivery_id, "SK": "DELIVERY"}),
                ConsistentRead=True,
            )
        item = found.get("Item")
        return Delivery.from_dict(json.loads(_load(item)["body"])) if item else None

    def list_deliveries(self, limit: int = 100) -> list[Delivery]:
        request: dict[str, Any] = {
            "IndexName": "GSI3",
            "KeyConditionExpression": "GSI3PK = :pk",
            "ExpressionAttributeValues": _dump({":pk": "DELIVERIES"}),
            "ScanIndexForward": False,
        }
        return [
            Delivery.from_dict(json.loads(i["body"])) for i in self._index.query(request, limit)
        ]
