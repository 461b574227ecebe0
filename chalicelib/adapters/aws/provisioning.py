"""The AWS resources of a stage, defined once: created by `devtools provision` (moto, any
compatible endpoint) and by tests; the SAM template in `deploy/` mirrors these definitions."""

from __future__ import annotations

import json
import secrets
from typing import Any

from botocore.exceptions import ClientError

from .errors import code
from .settings import AwsSettings

NOTIFY_PREFIXES = ("content/", "published/", "media/", "collections/")
MAX_RECEIVES = 3
VISIBILITY_TIMEOUT_SECONDS = 120  # at least 6x the render function's timeout is advised

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


def _create_queues(sqs: Any, settings: AwsSettings) -> tuple[str, str]:
    dlq_url = sqs.create_queue(
        QueueName=settings.dead_letter_queue,
        Attributes={"MessageRetentionPeriod": str(14 * 24 * 3600)},
    )["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(sqs, dlq_url), "maxReceiveCount": MAX_RECEIVES}
    url = sqs.create_queue(
        QueueName=settings.events_queue,
        Attributes={
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        },
    )["QueueUrl"]
    arn = queue_arn(sqs, url)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{settings.bucket}"}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    return url, dlq_url


def _create_bucket(s3: Any, settings: AwsSettings, queue: str) -> None:
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
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "Id": f"cms-{prefix.rstrip('/')}",
                    "QueueArn": queue,
                    "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
                }
                for prefix in NOTIFY_PREFIXES
            ]
        },
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
    queue_url, dlq_url = _create_queues(clients["sqs"], settings)
    _create_bucket(clients["s3"], settings, queue_arn(clients["sqs"], queue_url))
    _create_table(clients["dynamodb"], settings)
    _create_parameters(clients["ssm"], settings)
    return {
        "bucket": settings.bucket,
        "table": settings.table,
        "queue_url": queue_url,
        "dead_letter_queue_url": dlq_url,
        "ssm_prefix": settings.ssm_prefix,
    }
