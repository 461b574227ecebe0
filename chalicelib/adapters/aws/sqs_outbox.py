"""The Outbox port on an SQS queue (the webhooks function's), whose redrive policy moves a
message that keeps failing to the dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from .errors import storage


class SqsOutbox:
    def __init__(self, client: Any, queue_name: str) -> None:
        self._sqs = client
        self._name = queue_name
        self._url: str | None = None

    def _queue_url(self) -> str:
        if self._url is None:
            with storage("SQS GetQueueUrl"):
                self._url = str(self._sqs.get_queue_url(QueueName=self._name)["QueueUrl"])
        return self._url

    def send(self, message: dict[str, Any], *, delay_seconds: int = 0) -> None:
        with storage("SQS SendMessage"):
            self._sqs.send_message(
                QueueUrl=self._queue_url(),
                MessageBody=json.dumps(message),
                DelaySeconds=max(0, min(900, int(delay_seconds))),
            )
