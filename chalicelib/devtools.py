"""Developer commands for the AWS backend against any endpoint boto3 is pointed at (moto).

python -m chalicelib.devtools provision --stage dev   # bucket, table, queues, parameters
python -m chalicelib.devtools pump --stage dev        # feed queued messages to the handlers
python -m chalicelib.devtools pump --stage dev --once # drain the queues and exit
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from .adapters.aws import clients, provisioning
from .adapters.aws.settings import AwsSettings, QueueKind

Handler = Callable[[dict[str, Any], Any], Any]


def _default_handler(kind: QueueKind) -> Handler:
    """The function Lambda runs for a queue (render for events, thumbnails for media,
    webhooks for webhooks), registered on the app, so with its middleware (metrics).
    Importing ``app`` first matters: a handler called before its blueprint is registered
    builds itself without the app's middleware, and keeps that."""
    importlib.import_module("app")
    from .api import event_handlers

    functions = {
        "events": event_handlers.render,
        "media": event_handlers.thumbnails,
        "webhooks": event_handlers.webhooks,
    }
    return functions[kind]  # type: ignore[return-value]


def _sqs_event(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    """One SQS message as the event an SQS event source mapping with batch size 1 sends."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": region,
            }
        ]
    }


def pump(
    settings: AwsSettings,
    *,
    handler: Handler | None = None,
    once: bool = True,
    wait_seconds: int = 0,
) -> int:
    """Receive messages from the events, media and webhooks queues and invoke the handler
    the way Lambda does: one SQS event per message; delete on success; on failure make it
    visible again (after maxReceiveCount receives SQS moves it to the dead-letter queue).
    Each queue goes to its own function unless ``handler`` is given, which then takes all
    of them (the functions run the same code: ``events.handle_message`` dispatches by
    message).

    The queues are read in turn until a round over all finds nothing (with ``once``), so an
    event that causes another on another queue (a publish, its webhook delivery, an
    immediate retry) is delivered too. A message sent with a delay (a webhook retry with
    backoff) is not visible yet, so ``once`` leaves it for a later round. Returns how many
    messages were handled successfully."""
    sqs = clients.client("sqs")
    region = sqs.meta.region_name
    sources = []
    for kind, name in settings.queues.items():
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        function = handler or _default_handler(kind)
        sources.append((url, provisioning.queue_arn(sqs, url), function))
    handled = 0
    while True:
        received = 0
        for url, arn, function in sources:
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=wait_seconds,
                AttributeNames=["All"],
            )
            messages = response.get("Messages", [])
            received += len(messages)
            for message in messages:
                try:
                    function(_sqs_event(message, arn, region), None)
                except Exception:
                    sqs.change_message_visibility(
                        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                    continue
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                handled += 1
        if not received and once:
            return handled


def _settings_for(stage: str) -> AwsSettings:
    os.environ.setdefault("CMS_STAGE", stage)
    return AwsSettings.from_env()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.devtools")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("provision", "pump", "reindex"):
        command = commands.add_parser(name)
        command.add_argument("--stage", default="dev")
        if name == "pump":
            command.add_argument("--once", action="store_true", help="drain, then exit")
    args = parser.parse_args(argv)
    settings = _settings_for(args.stage)
    if args.command == "provision":
        names = ("s3", "sqs", "dynamodb", "ssm")
        result = provisioning.provision({n: clients.client(n) for n in names}, settings)
        print(json.dumps(result, indent=2))
        return 0
    os.environ.setdefault("CMS_BACKEND", "aws")
    if args.command == "reindex":
        from . import wiring
        from .services.reindex import reindex

        container = wiring.container()
        report = reindex(container.backend, container.limits)
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    if args.once:
        print(f"handled {pump(settings, once=True)} message(s)")
        return 0
    queues = ", ".join(settings.queues.values())
    print(f"pumping {queues}; Ctrl-C stops", file=sys.stderr)
    try:
        while True:
            pump(settings, once=True, wait_seconds=1)
            time.sleep(0.2)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
