"""The AWS resources of a stage, defined once: created by `devtools provision` (moto, any
compatible endpoint) and by tests; the SAM template in `deploy/` mirrors these definitions."""

from __future__ import annotations

import json
import secrets
from typing import Any

from botocore.exceptions import ClientError

from ...domain.notifications import RULES, NotifyRule, Target
from .errors import code
from .settings import NOTIFIED, AwsSettings, QueueKind

MAX_RECEIVES = 3
# A queue's visibility timeout is at least 6x the timeout of the function that reads it (AWS's
# advice for an SQS event source); deploy/build_template.py checks it against the config.
VISIBILITY_TIMEOUT_SECONDS = 60  # the events queue: render, 10 s
MEDIA_VISIBILITY_TIMEOUT_SECONDS = 360  # the media queue: thumbnails, 60 s
WEBHOOKS_VISIBILITY_TIMEOUT_SECONDS = 180  # the webhooks queue: webhooks, 30 s
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
OBJECT_EVENTS = ("s3:ObjectCreated:*", "s3:ObjectRemoved:*")  # every rule, both event types


def visibility_timeouts() -> dict[QueueKind, int]:
    """The visibility timeout of each queue (read when called: tests patch them)."""
    return {
        "events": VISIBILITY_TIMEOUT_SECONDS,
        "media": MEDIA_VISIBILITY_TIMEOUT_SECONDS,
        "webhooks": WEBHOOKS_VISIBILITY_TIMEOUT_SECONDS,
    }


def filter_rules(rule: NotifyRule) -> list[dict[str, str]]:
    """The S3 key filter of a rule: its prefix, and its suffix when it has one."""
    rules = [{"Name": "prefix", "Value": rule.prefix}]
    if rule.suffix:
        rules.append({"Name": "suffix", "Value": rule.suffix})
    return rules


def notification_configuration(queue_arns: dict[Target, str]) -> dict[str, Any]:
    """The bucket's notifications: one per rule of ``domain.notifications.RULES``, to the
    queue of its target. S3 refuses two configurations for the same event type whose filters
    can match one key; the rules do not overlap (distinct prefixes; under media/ two suffixes
    neither of which ends the other)."""
    return {
        "QueueConfigurations": [
            {
                "Id": rule.name,
                "QueueArn": queue_arns[rule.target],
                "Events": list(OBJECT_EVENTS),
                "Filter": {"Key": {"FilterRules": filter_rules(rule)}},
            }
            for rule in RULES
        ]
    }


TABLE_ATTRIBUTES = ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK"]
GLOBAL_SECONDARY_INDEXES = [
    {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": f"{name}PK", "KeyType": "HASH"},
            {"AttributeName": f"{name}SK", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
    for name in ("GSI1", "GSI2", "GSI3")
]


def table_definition(name: str) -> dict[str, Any]:
    return {
        "TableName": name,
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": "S"} for a in TABLE_ATTRIBUTES
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": GLOBAL_SECONDARY_INDEXES,
        "BillingMode": "PAY_PER_REQUEST",
    }


def queue_arn(sqs: Any, url: str) -> str:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def _queue_policy(arn: str, bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"}},
                }
            ],
        }
    )


def _create_queues(sqs: Any, settings: AwsSettings) -> tuple[dict[QueueKind, str], str]:
    """One queue per function (events -> render, media -> thumbnails, webhooks -> webhooks),
    each redriving to the one dead-letter queue after MAX_RECEIVES receives; S3 may send to
    the queues of notification targets only. Returns ({kind: url}, dlq url)."""
    dlq_url = sqs.create_queue(
        QueueName=settings.dead_letter_queue,
        Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)},
    )["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": MAX_RECEIVES}
    urls: dict[QueueKind, str] = {}
    timeouts = visibility_timeouts()
    for kind, name in settings.queues.items():
        url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "RedrivePolicy": json.dumps(redrive),
                "VisibilityTimeout": str(timeouts[kind]),
            },
        )["QueueUrl"]
        if kind in NOTIFIED:
            policy = _queue_policy(queue_arn(sqs, url), settings.bucket)
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
        urls[kind] = url
    return urls, dlq_url


def _create_bucket(s3: Any, settings: AwsSettings, queue_arns: dict[Target, str]) -> None:
    try:
        region = s3.meta.region_name
        options: dict[str, Any] = {"Bucket": settings.bucket}
        if region and region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**options)
    except ClientError as error:
        if code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    s3.put_bucket_versioning(Bucket=settings.bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=settings.bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.put_public_access_block(
        Bucket=settings.bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_notification_configuration(
        Bucket=settings.bucket,
        NotificationConfiguration=notification_configuration(queue_arns),
    )


def _create_table(ddb: Any, settings: AwsSettings) -> None:
    try:
        ddb.create_table(**table_definition(settings.table))
    except ClientError as error:
        if code(error) != "ResourceInUseException":
            raise
    ddb.get_waiter("table_exists").wait(TableName=settings.table)
    ddb.update_continuous_backups(
        TableName=settings.table,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def _create_parameters(ssm: Any, settings: AwsSettings) -> None:
    name = f"{settings.ssm_prefix.rstrip('/')}/secrets/cursor-signing-key"
    try:
        ssm.put_parameter(Name=name, Value=secrets.token_hex(32), Type="SecureString")
    except ClientError as error:
        if code(error) != "ParameterAlreadyExists":
            raise


def provision(clients: dict[str, Any], settings: AwsSettings) -> dict[str, str]:
    """Create (or bring up to date) every resource of a stage; safe to run again."""
    sqs = clients["sqs"]
    queue_urls, dlq_url = _create_queues(sqs, settings)
    arns = {target: queue_arn(sqs, queue_urls[target]) for target in NOTIFIED}
    _create_bucket(clients["s3"], settings, arns)
    _create_table(clients["dynamodb"], settings)
    _create_parameters(clients["ssm"], settings)
    return {
        "bucket": settings.bucket,
        "table": settings.table,
        "queue_url": queue_urls["events"],
        "media_queue_url": queue_urls["media"],
        "webhooks_queue_url": queue_urls["webhooks"],
        "dead_letter_queue_url": dlq_url,
        "ssm_prefix": settings.ssm_prefix,
    }
