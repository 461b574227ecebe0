"""The DeadLetters port on an SQS dead-letter queue, redriven to the event queue."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ...domain.timeutil import to_iso
from ...ports import DeadLetter
from .errors import storage


class SqsDeadLetters:
    def __init__(self, client: Any, dlq_name: str, source_queue_name: str) -> None:
        self._sqs = client
        self._names = (dlq_name, source_queue_name)
        self._urls: tuple[str, str] | None = None

    @property
    def _dlq(self) -> str:
        return self._resolve()[0]

    @property
    def _source(self) -> str:
        return self._resolve()[1]

    def _resolve(self) -> tuple[str, str]:
        if self._urls is None:
            with storage("SQS GetQueueUrl"):
                dlq, source = (
                    self._sqs.get_queue_url(QueueName=n)["QueueUrl"] for n in self._names
                )
            self._urls = (dlq, source)
        return self._urls

    def _receive_all(self, limit: int) -> list[dict[str, Any]]:
        seen: dict[str, dict[str, Any]] = {}
        with storage("SQS ReceiveMessage"):
            while len(seen) < limit:
                response = self._sqs.receive_message(
                    QueueUrl=self._dlq,
                    MaxNumberOfMessages=min(10, limit - len(seen)),
                    VisibilityTimeout=30,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                )
                messages = response.get("Messages", [])
                fresh = [m for m in messages if m["MessageId"] not in seen]
                if not fresh:
                    break
                for message in fresh:
                    seen[message["MessageId"]] = message
        return list(seen.values())

    def _release(self, messages: list[dict[str, Any]]) -> None:
        with storage("SQS ChangeMessageVisibility"):
            for message in messages:
                self._sqs.change_message_visibility(
                    QueueUrl=self._dlq,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )

    def list(self, limit: int = 100) -> list[DeadLetter]:
        messages = self._receive_all(limit)
        self._release(messages)
        letters = []
        for message in messages:
            attributes = message.get("Attributes", {})
            sent = int(attributes.get("SentTimestamp", "0")) / 1000
            try:
                body = json.loads(message["Body"])
            except ValueError:
                body = {"raw": message["Body"]}
            letters.append(
                DeadLetter(
                    id=message["MessageId"],
                    body=body,
                    error="The message failed on every receive; see the function's logs.",
                    attempts=int(attributes.get("ApproximateReceiveCount", "0")),
                    failed_at=to_iso(dt.datetime.fromtimestamp(sent, dt.UTC)),
                )
            )
        return letters

    def redrive(self, ids: list[str] | None = None) -> int:
        messages = self._receive_all(1000)
        chosen = [m for m in messages if ids is None or m["MessageId"] in ids]
        with storage("SQS redrive"):
            for message in chosen:
                self._sqs.send_message(QueueUrl=self._source, MessageBody=message["Body"])
                self._sqs.delete_message(QueueUrl=self._dlq, ReceiptHandle=message["ReceiptHandle"])
        self._release([m for m in messages if m not in chosen])
        return len(chosen)
