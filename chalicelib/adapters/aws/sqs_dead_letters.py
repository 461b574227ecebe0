"""The DeadLetters port on the SQS dead-letter queue that all the stage's queues share.

Redrive sends each message back to the queue it came from, known from the message itself:
a webhook delivery (``{"cms": "webhook-delivery", ...}``, which only the outbox sends) goes
to the webhooks queue; an S3 notification goes to the queue of its target, which its key
says (``domain.notifications.target_of``), exactly as the bucket notification chose the
queue the first time. A message without a key that any rule names (an ``s3:TestEvent``,
something unreadable) goes to the default queue, the events queue.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from ...domain.notifications import target_of
from ...domain.s3_events import iter_object_events
from ...domain.timeutil import to_iso
from ...domain.webhooks import JOB_KIND
from ...ports import DeadLetter
from .errors import storage
from .settings import QueueKind

DEFAULT_QUEUE: QueueKind = "events"


def is_webhook_job(body: str) -> bool:
    """A webhook delivery job (the outbox's message), as ``events.handle_message`` tells it."""
    try:
        message = json.loads(body)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("cms") == JOB_KIND


def queue_of_message(body: str) -> QueueKind:
    """The queue a message (an SQS message body) belongs on."""
    if is_webhook_job(body):
        return "webhooks"
    try:
        keys = [event.key for event in iter_object_events(body)]
    except ValueError:  # not JSON, or a malformed S3 record
        return DEFAULT_QUEUE
    targets = [t for t in (target_of(key) for key in keys) if t is not None]
    return targets[0] if targets else DEFAULT_QUEUE


class SqsDeadLetters:
    def __init__(self, client: Any, dlq_name: str, queues: Mapping[QueueKind, str]) -> None:
        """``queues``: the name of each queue (``AwsSettings.queues``); the messages of every
        one of them dead-letter into ``dlq_name``."""
        if DEFAULT_QUEUE not in queues:
            raise ValueError(f"the {DEFAULT_QUEUE!r} queue is required")
        self._sqs = client
        self._dlq_name = dlq_name
        self._queues: dict[QueueKind, str] = dict(queues)
        self._urls: dict[str, str] = {}

    def _url(self, name: str) -> str:
        if name not in self._urls:
            with storage("SQS GetQueueUrl"):
                self._urls[name] = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    @property
    def _dlq(self) -> str:
        return self._url(self._dlq_name)

    def _source(self, body: str) -> str:
        return self._url(self._queues.get(queue_of_message(body), self._queues[DEFAULT_QUEUE]))

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
                source = self._source(message["Body"])
                self._sqs.send_message(QueueUrl=source, MessageBody=message["Body"])
                self._sqs.delete_message(QueueUrl=self._dlq, ReceiptHandle=message["ReceiptHandle"])
        self._release([m for m in messages if m not in chosen])
        return len(chosen)
