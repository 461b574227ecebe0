"""The `--merge-template` for `chalice package`, generated from the app's own definitions.

    python deploy/build_template.py --stage prod --output build/prod/merge-template.json
    python deploy/build_template.py --stage prod --verify build/prod/sam.json

The table, queues, bucket notifications and names come from
``chalicelib/adapters/aws/provisioning.py``, ``settings.py`` and
``chalicelib/domain/notifications.py`` (what ``devtools provision`` creates on moto and what
the local backend notifies), so the stack and the app cannot drift apart. ``--verify`` checks
the merged template chalice wrote: the render, thumbnails and webhooks functions' SQS event
sources name the queues this template creates, each queue's visibility timeout is at least 6x
its function's timeout, every function gets the stack's resource names, and no IAM statement
allows a wildcard action. See docs/deploy.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib.adapters.aws import provisioning  # noqa: E402
from chalicelib.adapters.aws.settings import NOTIFIED, AwsSettings, QueueKind  # noqa: E402
from chalicelib.domain.notifications import RULES  # noqa: E402
from chalicelib.local_server import NO_ROUTE_DETAIL  # noqa: E402

STAGES = ("dev", "prod")
CHALICE_CONFIG = ROOT / ".chalice" / "config.json"

# Logical ids of the resources chalice 1.34 generates (see `chalice package` output).
API_FUNCTION = "APIHandler"
RENDER_FUNCTION = "Render"
RENDER_EVENT = "RenderSqsEventSource"
THUMBNAILS_FUNCTION = "Thumbnails"
THUMBNAILS_EVENT = "ThumbnailsSqsEventSource"
WEBHOOKS_FUNCTION = "Webhooks"
WEBHOOKS_EVENT = "WebhooksSqsEventSource"
FUNCTIONS = {
    API_FUNCTION: "api_handler",
    RENDER_FUNCTION: "render",
    THUMBNAILS_FUNCTION: "thumbnails",
    WEBHOOKS_FUNCTION: "webhooks",
}

# Logical ids of the resources this template adds (the policy files in .chalice/ use them).
BUCKET = "ContentBucket"
BUCKET_POLICY = "ContentBucketPolicy"
TABLE = "IndexTable"
QUEUE = "EventsQueue"
QUEUE_POLICY = "EventsQueuePolicy"
MEDIA_QUEUE = "MediaQueue"
MEDIA_QUEUE_POLICY = "MediaQueuePolicy"
WEBHOOKS_QUEUE = "WebhooksQueue"  # no queue policy: only the app sends to it, with IAM
DLQ = "EventsDeadLetterQueue"  # shared by all queues; the id (and name) predate the others
DLQ_ALARM = "DeadLetterAlarm"
SITE_SETTINGS = "SiteSettingsParameter"
LOG_GROUPS = {
    API_FUNCTION: "ApiHandlerLogGroup",
    RENDER_FUNCTION: "RenderLogGroup",
    THUMBNAILS_FUNCTION: "ThumbnailsLogGroup",
    WEBHOOKS_FUNCTION: "WebhooksLogGroup",
}


class Reader(NamedTuple):
    """A queue, the function chalice makes to read it, that function's SQS event source, the
    variable the queue is named by at import, and the queue's policy (only the queues of
    notification targets have one: S3 sends to them)."""

    queue: str
    function: str
    event: str
    variable: str
    policy: str | None = None

    @property
    def name(self) -> str:
        return FUNCTIONS[self.function]


READERS: dict[QueueKind, Reader] = {
    "events": Reader(QUEUE, RENDER_FUNCTION, RENDER_EVENT, "CMS_EVENTS_QUEUE", QUEUE_POLICY),
    "media": Reader(
        MEDIA_QUEUE, THUMBNAILS_FUNCTION, THUMBNAILS_EVENT, "CMS_MEDIA_QUEUE", MEDIA_QUEUE_POLICY
    ),
    "webhooks": Reader(WEBHOOKS_QUEUE, WEBHOOKS_FUNCTION, WEBHOOKS_EVENT, "CMS_WEBHOOKS_QUEUE"),
}
QUEUE_POLICIES = [policy for kind in NOTIFIED if (policy := READERS[kind].policy)]

OBJECT_EVENTS = provisioning.OBJECT_EVENTS
DLQ_RETENTION_SECONDS = provisioning.DLQ_RETENTION_SECONDS
EVENTS_RETENTION_SECONDS = 4 * 24 * 3600  # the SQS default provisioning.py relies on; < the DLQ's
DISPOSABLE = {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"}  # rebuilt, not kept
LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653]


@contextlib.contextmanager
def _stage_environment(stage: str) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith("CMS_")}
    for name in saved:
        del os.environ[name]
    os.environ["CMS_STAGE"] = stage
    try:
        yield
    finally:
        del os.environ["CMS_STAGE"]
        os.environ.update(saved)


def stage_settings(stage: str) -> AwsSettings:
    """The names the app derives for ``stage`` when no override is set."""
    with _stage_environment(stage):
        return AwsSettings.from_env()


def bucket_name(settings: AwsSettings) -> str:
    """Bucket names are global: the account and region make the stage's name unique."""
    return f"{settings.bucket}-${{AWS::AccountId}}-${{AWS::Region}}"


def function_settings(stage: str, name: str) -> dict[str, Any]:
    config = json.loads(CHALICE_CONFIG.read_text())
    stage_config = config["stages"][stage]
    function = stage_config.get("lambda_functions", {}).get(name, {})
    return {
        "memory": function.get("lambda_memory_size", stage_config.get("lambda_memory_size")),
        "timeout": function.get("lambda_timeout", stage_config.get("lambda_timeout")),
        "environment": {
            **config.get("environment_variables", {}),
            **stage_config.get("environment_variables", {}),
            **function.get("environment_variables", {}),
        },
    }


def _check_config(stage: str) -> None:
    for name in FUNCTIONS.values():
        found = function_settings(stage, name)
        if found["memory"] is None or found["timeout"] is None:
            raise SystemExit(f"{stage}: set lambda_memory_size and lambda_timeout for {name}")
        environment = found["environment"]
        if environment.get("CMS_BACKEND") != "aws" or environment.get("CMS_STAGE") != stage:
            raise SystemExit(f"{stage}: {name} needs CMS_BACKEND=aws and CMS_STAGE={stage}")
    visibility = provisioning.visibility_timeouts()
    for kind, reader in READERS.items():
        timeout = function_settings(stage, reader.name)["timeout"]
        if 6 * timeout > visibility[kind]:
            raise SystemExit(
                f"the {kind} queue's visibility timeout ({visibility[kind]} s) must be at"
                f" least 6x the {reader.name} function's timeout ({timeout} s)"
            )


def _tags(settings: AwsSettings) -> list[dict[str, str]]:
    return [{"Key": "app", "Value": settings.app}, {"Key": "stage", "Value": settings.stage}]


def _arn(kind: str, name: str) -> dict[str, str]:
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:{kind}:${{AWS::Region}}:${{AWS::AccountId}}:{name}"
    }


def _stateful(stage: str) -> dict[str, str]:
    """prod keeps its data when the stack (or a replacement) deletes it; dev does not."""
    policy = "Retain" if stage == "prod" else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def parameters() -> dict[str, Any]:
    return {
        "AdminKey": {
            "Type": "String",
            "NoEcho": True,
            "AllowedPattern": "^([A-Za-z0-9_~.+/=-]{32,256})?$",
            "ConstraintDescription": "32 to 256 characters [A-Za-z0-9_~.+/=-], or empty",
            "Description": "Bootstrap admin API key (the API's CMS_ADMIN_KEY), e.g. `openssl"
            " rand -hex 32`. Use it to create named keys, then update the stack with an empty"
            " value to switch it off.",
        },
        "SiteSettings": {
            "Type": "String",
            "Default": "{}",
            "Description": "JSON site settings, stored as the String parameter"
            " <ssm prefix>/settings/site",
        },
        "RevisionRetentionDays": {
            "Type": "Number",
            "Default": 365,
            "MinValue": 0,
            "Description": "Days a superseded revision (noncurrent object version) is kept; 0"
            " keeps every revision forever",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 90,
            "AllowedValues": LOG_RETENTION_DAYS,
            "Description": "Days CloudWatch keeps the functions' logs",
        },
        "AlarmTopicArn": {
            "Type": "String",
            "Default": "",
            "Description": "SNS topic notified when messages reach the dead-letter queue"
            " (empty: the alarm only shows in CloudWatch)",
        },
    }


def conditions() -> dict[str, Any]:
    return {
        "ExpireRevisions": {"Fn::Not": [{"Fn::Equals": [{"Ref": "RevisionRetentionDays"}, "0"]}]},
        "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]},
    }


def bucket(settings: AwsSettings, stage: str) -> dict[str, Any]:
    # One per rule of domain.notifications.RULES and event type, to its target's queue (the
    # same filters provisioning.notification_configuration gives S3 on moto).
    notifications = [
        {
            "Event": event,
            "Queue": {"Fn::GetAtt": [READERS[rule.target].queue, "Arn"]},
            "Filter": {"S3Key": {"Rules": provisioning.filter_rules(rule)}},
        }
        for rule in RULES
        for event in OBJECT_EVENTS
    ]
    expire_revisions = {
        "Id": "expire-superseded-revisions",
        "Status": "Enabled",
        "NoncurrentVersionExpiration": {"NoncurrentDays": {"Ref": "RevisionRetentionDays"}},
    }
    return {
        "Type": "AWS::S3::Bucket",
        **_stateful(stage),
        # S3 checks that it may send to a queue when the notification is configured
        "DependsOn": QUEUE_POLICIES,
        "Properties": {
            "BucketName": {"Fn::Sub": bucket_name(settings)},
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Fn::If": [
                            "ExpireRevisions",
                            expire_revisions,
                            {"Ref": "AWS::NoValue"},
                        ]
                    },
                    {
                        "Id": "abort-incomplete-uploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                    },
                ]
            },
            "NotificationConfiguration": {"QueueConfigurations": notifications},
            "Tags": _tags(settings),
        },
    }


def bucket_policy() -> dict[str, Any]:
    arn = {"Fn::GetAtt": [BUCKET, "Arn"]}
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": BUCKET},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [arn, {"Fn::Sub": "${ContentBucket.Arn}/*"}],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def queue_policy(settings: AwsSettings, queue: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::QueuePolicy",
        "Properties": {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "ObjectEventsFromTheContentBucket",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                        "Condition": {
                            # a name, not a reference: the bucket depends on this policy
                            "ArnLike": {
                                "aws:SourceArn": {
                                    "Fn::Sub": "arn:${AWS::Partition}:s3:::" + bucket_name(settings)
                                }
                            },
                            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                        },
                    }
                ],
            },
        },
    }


def queues(settings: AwsSettings) -> dict[str, Any]:
    """A queue per function that reads one (render, thumbnails, webhooks), each with its
    reader's visibility timeout, and the one dead-letter queue all of them redrive to (see
    docs/deploy.md, "Choices"). S3 may send to the queues of notification targets only."""
    names = settings.queues
    visibility = provisioning.visibility_timeouts()
    resources: dict[str, Any] = {
        DLQ: {
            "Type": "AWS::SQS::Queue",
            **DISPOSABLE,
            "Properties": {
                "QueueName": settings.dead_letter_queue,
                "MessageRetentionPeriod": DLQ_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
                "RedriveAllowPolicy": {
                    "redrivePermission": "byQueue",
                    "sourceQueueArns": [_arn("sqs", names[t]) for t in READERS],
                },
                "Tags": _tags(settings),
            },
        },
    }
    for kind, reader in READERS.items():
        resources[reader.queue] = {
            "Type": "AWS::SQS::Queue",
            **DISPOSABLE,
            "Properties": {
                # chalice's event source names this queue by the variable (see --verify)
                "QueueName": names[kind],
                "MessageRetentionPeriod": EVENTS_RETENTION_SECONDS,
                "VisibilityTimeout": visibility[kind],
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [DLQ, "Arn"]},
                    "maxReceiveCount": provisioning.MAX_RECEIVES,
                },
                "SqsManagedSseEnabled": True,
                "Tags": _tags(settings),
            },
        }
        if reader.policy:
            resources[reader.policy] = queue_policy(settings, reader.queue)
    return {
        **resources,
        DLQ_ALARM: {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"{settings.app} {settings.stage}: object events (render or"
                " thumbnails) or webhook deliveries failed"
                f" {provisioning.MAX_RECEIVES} times and wait in the dead-letter queue; redrive"
                " them with POST /v1/manage/events/dead-letters/redrive",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [DLQ, "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": {
                    "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
                },
            },
        },
    }


def table(settings: AwsSettings, stage: str) -> dict[str, Any]:
    properties: dict[str, Any] = dict(provisioning.table_definition(settings.table))
    properties.update(
        {
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
            "DeletionProtectionEnabled": stage == "prod",
            "Tags": _tags(settings),
        }
    )
    # No TimeToLiveSpecification: no item of the index expires (tombstones are kept on
    # purpose, see docs/architecture.md).
    return {"Type": "AWS::DynamoDB::Table", **_stateful(stage), "Properties": properties}


def site_settings(settings: AwsSettings) -> dict[str, Any]:
    return {
        "Type": "AWS::SSM::Parameter",
        "Properties": {
            "Name": f"{settings.ssm_prefix.rstrip('/')}/settings/site",
            "Type": "String",
            "Value": {"Ref": "SiteSettings"},
            "Description": f"{settings.app} {settings.stage}: site settings (JSON)",
        },
    }


def log_groups(settings: AwsSettings) -> dict[str, Any]:
    return {
        LOG_GROUPS[function]: {
            "Type": "AWS::Logs::LogGroup",
            **DISPOSABLE,
            "Properties": {
                "LogGroupName": f"/aws/lambda/{settings.app}-{settings.stage}-{name}",
                "RetentionInDays": {"Ref": "LogRetentionDays"},
            },
        }
        for function, name in FUNCTIONS.items()
    }


def function_overrides(settings: AwsSettings) -> dict[str, Any]:
    """Merged into the function resources chalice generates: the stack's resource names
    (references, which also order the functions after their resources) and log groups."""
    variables = {
        "CMS_BUCKET": {"Ref": BUCKET},
        "CMS_TABLE": {"Ref": TABLE},
        **{r.variable: {"Fn::GetAtt": [r.queue, "QueueName"]} for r in READERS.values()},
        "CMS_DEAD_LETTER_QUEUE": {"Fn::GetAtt": [DLQ, "QueueName"]},
        "CMS_SSM_PREFIX": settings.ssm_prefix,
        "CMS_MAX_RECEIVES": str(provisioning.MAX_RECEIVES),
    }
    overrides = {}
    for function in FUNCTIONS:
        extra = {"CMS_ADMIN_KEY": {"Ref": "AdminKey"}} if function == API_FUNCTION else {}
        overrides[function] = {
            "Properties": {
                "Environment": {"Variables": {**variables, **extra}},
                "LoggingConfig": {"LogGroup": {"Ref": LOG_GROUPS[function]}},
            }
        }
    return overrides


def outputs(settings: AwsSettings) -> dict[str, Any]:
    return {
        "ContentBucketName": {"Value": {"Ref": BUCKET}},
        "IndexTableName": {"Value": {"Ref": TABLE}},
        "EventsQueueUrl": {"Value": {"Ref": QUEUE}},
        "MediaQueueUrl": {"Value": {"Ref": MEDIA_QUEUE}},
        "WebhooksQueueUrl": {"Value": {"Ref": WEBHOOKS_QUEUE}},
        "DeadLetterQueueUrl": {"Value": {"Ref": DLQ}},
        "SsmPrefix": {"Value": settings.ssm_prefix},
    }


REST_API = "RestAPI"  # the API chalice package generates
PROBLEM = "application/problem+json"


def _problem_template(title: str, status: str | None, detail: str) -> str:
    """A problem+json body for a gateway response (a mapping template: ``$context`` values
    are filled in by API Gateway; none of them here comes from the request)."""
    fields = [f'"type": "{"/problems/not-found" if status == "404" else "about:blank"}"']
    fields.append(f'"title": {title}')
    if status is not None:
        fields.append(f'"status": {status}')
    fields.append(f'"detail": {detail}')
    return "{" + ", ".join(fields) + "}"


def gateway_responses() -> dict[str, Any]:
    """What API Gateway answers by itself, without calling the API function, as problem+json:
    a path no route matches is a 404 (not 403 "Missing Authentication Token"); any other 4xx
    or 5xx of the gateway (throttling, a too-large request, a timeout) keeps its status and
    says what happened in API Gateway's own words."""
    message = "$context.error.messageString"  # a JSON string, quotes included
    responses = {
        "NoRouteResponse": (
            "MISSING_AUTHENTICATION_TOKEN",
            "404",
            _problem_template('"Not found"', "404", f'"{NO_ROUTE_DETAIL}"'),
        ),
        "Gateway4xxResponse": ("DEFAULT_4XX", None, _problem_template(message, None, message)),
        "Gateway5xxResponse": ("DEFAULT_5XX", None, _problem_template(message, None, message)),
    }
    resources = {}
    for name, (kind, status, body) in responses.items():
        properties: dict[str, Any] = {
            "RestApiId": {"Ref": REST_API},
            "ResponseType": kind,
            "ResponseParameters": {"gatewayresponse.header.Content-Type": f"'{PROBLEM}'"},
            "ResponseTemplates": {"application/json": body},
        }
        if status is not None:
            properties["StatusCode"] = status
        resources[name] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": properties}
    return resources


def merge_template(stage: str) -> dict[str, Any]:
    if stage not in STAGES:
        raise SystemExit(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    _check_config(stage)
    settings = stage_settings(stage)
    resources: dict[str, Any] = {
        BUCKET: bucket(settings, stage),
        BUCKET_POLICY: bucket_policy(),
        **queues(settings),
        TABLE: table(settings, stage),
        SITE_SETTINGS: site_settings(settings),
        **log_groups(settings),
        **function_overrides(settings),
        **gateway_responses(),
    }
    return {
        "Description": f"{settings.app} ({stage}): Chalice API, render, thumbnails and"
        " webhooks functions, content bucket, index table, event and webhook queues, settings."
        " Built by `make package`.",
        "Parameters": parameters(),
        "Conditions": conditions(),
        "Mappings": {"Cms": {"Stage": {"SsmPath": settings.ssm_prefix.strip("/")}}},
        "Resources": resources,
        "Outputs": outputs(settings),
    }


# --- checks on the merged template ------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource id, policy document) for every IAM and resource policy in the template."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        for policy in (
            properties.get("Policies", []) if resource["Type"] == "AWS::IAM::Role" else []
        ):
            yield name, policy["PolicyDocument"]
        if "PolicyDocument" in properties:
            yield name, properties["PolicyDocument"]


def wildcard_allows(template: dict[str, Any]) -> list[str]:
    """Allow statements granting ``*``, ``service:*`` or ``NotAction``, and role statements
    on resource ``*`` (Deny statements may use wildcards: they only take away)."""
    found = []
    for name, document in policy_documents(template):
        for statement in _as_list(document["Statement"]):
            if statement["Effect"] != "Allow":
                continue
            if "NotAction" in statement:
                found.append(f"{name}: NotAction")
            for action in _as_list(statement.get("Action", [])):
                if action == "*" or action.endswith(":*"):
                    found.append(f"{name}: {action}")
            role = template["Resources"][name]["Type"] == "AWS::IAM::Role"
            if role and "*" in _as_list(statement.get("Resource", [])):
                found.append(f"{name}: resource *")
    return found


def verify(template: dict[str, Any], stage: str) -> list[str]:
    """Problems with a merged template (empty when it is sound)."""
    problems = []
    settings = stage_settings(stage)
    resources = template.get("Resources", {})
    for kind, reader in READERS.items():
        queue = resources.get(reader.queue, {}).get("Properties", {})
        function = resources.get(reader.function, {}).get("Properties", {})
        source = function.get("Events", {}).get(reader.event, {}).get("Properties", {})
        queue_ref = source.get("Queue", {})
        arn = queue_ref.get("Fn::Sub", "") if isinstance(queue_ref, dict) else str(queue_ref)
        queue_name, expected = queue.get("QueueName"), settings.queues[kind]
        if queue_name != expected or not arn.endswith(f":{queue_name}"):
            problems.append(
                f"the {reader.name} function reads {arn!r} but the stack creates queue"
                f" {queue_name!r}; package with {reader.variable}={expected}"
            )
        if source.get("BatchSize") != 1:
            problems.append(f"the {reader.name} function must take one message per call")
        visibility, timeout = queue.get("VisibilityTimeout"), function.get("Timeout")
        if not isinstance(visibility, int) or not isinstance(timeout, int):
            problems.append(f"the {kind} queue or the {reader.name} function has no timeout")
        elif visibility < 6 * timeout:
            problems.append(
                f"the {kind} queue's visibility timeout ({visibility} s) is less than 6x the"
                f" {reader.name} function's timeout ({timeout} s)"
            )
    for function in FUNCTIONS:
        variables = (
            resources.get(function, {})
            .get("Properties", {})
            .get("Environment", {})
            .get("Variables", {})
        )
        if variables.get("CMS_BUCKET") != {"Ref": BUCKET}:
            problems.append(f"{function} does not get the stack's bucket as CMS_BUCKET")
        if variables.get("CMS_STAGE") != stage:
            problems.append(f"{function} is not packaged for stage {stage}")
    if resources.get(REST_API, {}).get("Type") != "AWS::Serverless::Api":
        problems.append(f"the gateway responses name {REST_API!r}, which the template lacks")
    problems += [f"wildcard allowed by {w}" for w in wildcard_allows(template)]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/build_template.py")
    parser.add_argument("--stage", required=True, choices=STAGES)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--output", type=Path, help="write the merge template here")
    action.add_argument("--verify", type=Path, help="check a merged template (sam.json)")
    args = parser.parse_args(argv)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(merge_template(args.stage), indent=2) + "\n")
        return 0
    problems = verify(json.loads(args.verify.read_text()), args.stage)
    for problem in problems:
        print(f"{args.verify}: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
