"""Developer commands for the AWS backend against any endpoint boto3 is pointed at (moto).

python -m chalicelib.devtools provision --stage dev   # bucket, table, queues, parameters
python -m chalicelib.devtools pump --stage dev        # feed queued S3 events to the handler
python -m chalicelib.devtools pump --stage dev --once # drain the queue and exit
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
from .adapters.aws.settings import AwsSettings

Handler = Callable[[dict[str, Any], Any], Any]


def _default_handler() -> Handler:
    """The render handler as Lambda runs it: registered on the app, so with its middleware
    (metrics). Importing ``app`` first matters: a handler called before its blueprint is
    registered builds itself without the app's middleware, and keeps that."""
    importlib.import_module("app")
    from .api.event_handlers import render

    return render  # type: ignore[return-value]


def pump(
    settings: AwsSettings,
    *,
    handler: Handler | None = None,
    once: bool = True,
    wait_seconds: int = 0,
) -> int:
    """Receive messages from the events queue and invoke the handler the way Lambda does:
    one SQS event per message; delete on success; on failure make it visible again (after
    maxReceiveCount receives SQS moves it to the dead-letter queue). Returns how many
    messages were handled successfully."""
    handler = handler or _default_handler()
    sqs = clients.client("sqs")
    url = sqs.get_queue_url(QueueName=settings.events_queue)["QueueUrl"]
    arn = provisioning.queue_arn(sqs, url)
    handled = 0
    while True:
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            if once:
                return handled
            continue
        for message in messages:
            event = {
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
                        "awsRegion": sqs.meta.region_name,
                    }
                ]
            }
            try:
                handler(event, None)
            except Exception:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1


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
    print(f"pumping {settings.events_queue}; Ctrl-C stops", file=sys.stderr)
    try:
        while True:
            pump(settings, once=True, wait_seconds=5)
            time.sleep(0.2)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
