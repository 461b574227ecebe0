"""`make package STAGE=prod` builds a deployable, linted, least-privilege SAM template.

The build (chalice package: pip downloads the Lambda wheels from PyPI, ~15 s) runs once per
test session, shared by the xdist workers through a file lock. For a quick local run only,
CMS_SKIP_PACKAGING=1 skips this module; it is refused when CI is set, so CI always runs it.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.adapters.aws import provisioning
from chalicelib.domain.media import VARIANT_TYPES
from chalicelib.domain.notifications import RULES
from chalicelib.services import webhooks

ROOT = Path(__file__).resolve().parent.parent
STAGE = "prod"
# Our budget, not Lambda's limit: the zip goes through S3 (CloudFormation), where the limit is
# 250 MB unzipped; 50 MB zipped applies to direct uploads only. Pillow (~8 MB zipped) took the
# zip past 30 MiB (see docs/deploy.md, "Package size").
MAX_ZIP_BYTES = 40 * 1024 * 1024
MAX_UNZIPPED_BYTES = 262_144_000  # Lambda: function code and layers, unzipped
QUEUES = {"events": "EventsQueue", "media": "MediaQueue"}  # logical id of each target's queue
ALL_QUEUES = {**QUEUES, "webhooks": "WebhooksQueue"}  # and of the outbox's (S3 never sends)
# the function reading each queue
READERS = {"EventsQueue": "Render", "MediaQueue": "Thumbnails", "WebhooksQueue": "Webhooks"}

if os.environ.get("CMS_SKIP_PACKAGING") == "1":
    if os.environ.get("CI"):
        raise RuntimeError("CMS_SKIP_PACKAGING is for quick local runs; CI must package")
    pytest.skip("CMS_SKIP_PACKAGING=1 (local quick run)", allow_module_level=True)


def _load_builder() -> Any:
    spec = importlib.util.spec_from_file_location(
        "deploy_build_template", ROOT / "deploy" / "build_template.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


# --- the build, once per session -------------------------------------------------------


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install -r requirements-dev.txt)"
    return found


def _build(build_dir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CMS_", "AWS_"))}
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    variables = [
        f"STAGE={STAGE}",
        f"BUILD_DIR={build_dir}",
        f"PYTHON={sys.executable}",
        f"CHALICE={_tool('chalice')}",
    ]
    make = shutil.which("make")
    out = build_dir / STAGE
    if make:
        commands = [[make, "--no-print-directory", "package", *variables]]
    else:  # the Makefile's recipe, step by step
        merge = str(out / "merge-template.json")
        script = str(ROOT / "deploy" / "build_template.py")
        commands = [
            [sys.executable, script, "--stage", STAGE, "--output", merge],
            [_tool("chalice"), "package", "--stage", STAGE, "--merge-template", merge, str(out)],
            [sys.executable, script, "--stage", STAGE, "--verify", str(out / "sam.json")],
        ]
        env["CMS_EVENTS_QUEUE"] = f"headless-cms-{STAGE}-events"
        env["CMS_MEDIA_QUEUE"] = f"headless-cms-{STAGE}-media"
        env["CMS_WEBHOOKS_QUEUE"] = f"headless-cms-{STAGE}-webhooks"
    started = time.perf_counter()
    log = []
    returncode = 0
    for command in commands:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
        )
        log.append(f"$ {' '.join(command)}\n{done.stdout}{done.stderr}")
        returncode = done.returncode
        if returncode:
            break
    return {
        "returncode": returncode,
        "log": "\n".join(log),
        "seconds": round(time.perf_counter() - started, 1),
        "out": str(out),
        "with_make": bool(make),
    }


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent  # this session's, common to workers
    else:
        shared = tmp_path_factory.mktemp("packaging")
    result_file = shared / "packaging-result.json"
    with open(shared / "packaging.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not result_file.exists():
                result_file.write_text(json.dumps(_build(shared / "build")))
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    result = json.loads(result_file.read_text())
    print(f"make package STAGE={STAGE}: {result['seconds']} s (make: {result['with_make']})")
    assert result["returncode"] == 0, result["log"]
    return result


@pytest.fixture(scope="module")
def out(build: dict[str, Any]) -> Path:
    return Path(build["out"])


@pytest.fixture(scope="module")
def template(out: Path) -> dict[str, Any]:
    return json.loads((out / "sam.json").read_text())


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


def props(resources: dict[str, Any], name: str) -> dict[str, Any]:
    return resources[name]["Properties"]


def stage_config() -> dict[str, Any]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    return config["stages"][STAGE]


# --- what the build writes ---------------------------------------------------------------


def test_package_writes_the_merged_template_and_a_small_zip(out: Path, template: dict) -> None:
    zip_path = out / "deployment.zip"
    size = zip_path.stat().st_size
    archive = zipfile.ZipFile(zip_path)
    unzipped = sum(i.file_size for i in archive.infolist())
    print(
        f"deployment.zip: {size} bytes ({size / 2**20:.1f} MiB), {unzipped / 1e6:.1f} MB unzipped"
    )
    assert size < MAX_ZIP_BYTES
    assert unzipped < MAX_UNZIPPED_BYTES
    names = archive.namelist()
    assert "app.py" in names
    assert "chalicelib/api/event_handlers.py" in names
    assert "chalicelib/adapters/aws/s3_store.py" in names
    assert {"chalicelib/admin_ui/index.html", "chalicelib/admin_ui/app.js"} <= set(names)
    assert any(n.startswith("nh3/") for n in names)  # the requirements are vendored
    assert any(n.startswith("PIL/") for n in names)  # Linux wheels, for the thumbnails
    assert not [n for n in names if n.startswith(("tests/", "deploy/", "bench/", "cms/"))]
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"]["APIHandler"]["Properties"]["CodeUri"] == "./deployment.zip"


def test_bucket_is_versioned_encrypted_private_and_uniquely_named(resources: dict) -> None:
    bucket = resources["ContentBucket"]
    p = bucket["Properties"]
    assert bucket["Type"] == "AWS::S3::Bucket"
    assert p["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert p["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert p["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    name = p["BucketName"]["Fn::Sub"]
    assert name.startswith(f"headless-cms-{STAGE}-content-")
    assert "${AWS::AccountId}" in name and "${AWS::Region}" in name
    # superseded revisions expire (configurable), incomplete uploads are cleaned up
    rules = p["LifecycleConfiguration"]["Rules"]
    expire = rules[0]["Fn::If"][1]
    assert expire["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": {"Ref": "RevisionRetentionDays"}
    }
    assert any("AbortIncompleteMultipartUpload" in r for r in rules[1:])
    # prod keeps its content when the stack goes away
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"


def test_bucket_only_accepts_tls(resources: dict) -> None:
    document = props(resources, "ContentBucketPolicy")["PolicyDocument"]
    (statement,) = document["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def _template_notifications(resources: dict) -> set[tuple[str, str, tuple, str]]:
    """(event, queue logical id, ((filter name, value), ...), target) of each configuration."""
    bucket = props(resources, "ContentBucket")
    found = set()
    for c in bucket["NotificationConfiguration"]["QueueConfigurations"]:
        (queue, attribute) = c["Queue"]["Fn::GetAtt"]
        assert attribute == "Arn"
        rules = tuple((r["Name"], r["Value"]) for r in c["Filter"]["S3Key"]["Rules"])
        target = next(t for t, q in QUEUES.items() if q == queue)
        found.add((c["Event"], queue, rules, target))
    return found


def _expected_notifications() -> set[tuple[str, str, tuple, str]]:
    """What domain.notifications.RULES says: prefix and suffix, to the target's queue."""
    expected = set()
    for rule in RULES:
        rules = (("prefix", rule.prefix),) + ((("suffix", rule.suffix),) if rule.suffix else ())
        for event in ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"):
            expected.add((event, QUEUES[rule.target], rules, rule.target))
    return expected


def test_bucket_notifies_the_queues_after_the_queues_allow_it(resources: dict) -> None:
    bucket = resources["ContentBucket"]
    assert set(bucket["DependsOn"]) == {"EventsQueuePolicy", "MediaQueuePolicy"}
    # only the app sends to the webhooks queue (with its roles): no resource policy at all
    assert "WebhooksQueuePolicy" not in resources
    assert not [
        r
        for r in resources.values()
        if r["Type"] == "AWS::SQS::QueuePolicy"
        and {"Ref": "WebhooksQueue"} in r["Properties"]["Queues"]
    ]
    assert _template_notifications(resources) == _expected_notifications()
    # entries and collections go to render; only a media original and its metadata go to
    # the thumbnail function, never its variants or manifest (its own output)
    by_target = {t: {r for _, _, r, tt in _expected_notifications() if tt == t} for t in QUEUES}
    assert {dict(r)["prefix"] for r in by_target["events"]} == {
        "content/",
        "published/",
        "collections/",
    }
    assert {dict(r)["suffix"] for r in by_target["media"]} == {"/original", "/meta.json"}

    for queue in QUEUES.values():
        policy = props(resources, f"{queue}Policy")
        assert policy["Queues"] == [{"Ref": queue}]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
        source = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
        bucket_name = bucket["Properties"]["BucketName"]["Fn::Sub"]
        assert source == "arn:${AWS::Partition}:s3:::" + bucket_name
        assert statement["Condition"]["StringEquals"] == {
            "aws:SourceAccount": {"Ref": "AWS::AccountId"}
        }


def test_notification_filters_do_not_overlap() -> None:
    """S3 refuses two configurations for one event type whose filters can match the same key:
    no rule's prefix may start another's unless their suffixes cannot both end one key."""
    for i, a in enumerate(RULES):
        for b in RULES[i + 1 :]:
            prefixes_overlap = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
            suffixes_overlap = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix)
            assert not (prefixes_overlap and suffixes_overlap), (a, b)


@pytest.mark.parametrize(
    ("queue", "name", "variable"),
    [
        ("EventsQueue", "events", "CMS_EVENTS_QUEUE"),
        ("MediaQueue", "media", "CMS_MEDIA_QUEUE"),
        ("WebhooksQueue", "webhooks", "CMS_WEBHOOKS_QUEUE"),
    ],
)
def test_each_queue_is_the_one_its_function_reads(
    resources: dict, queue: str, name: str, variable: str
) -> None:
    properties = props(resources, queue)
    assert properties["QueueName"] == f"headless-cms-{STAGE}-{name}"
    function = READERS[queue]
    (event,) = props(resources, function)["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["BatchSize"] == 1
    arn = event["Properties"]["Queue"]["Fn::Sub"]
    assert arn == (
        "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:" + properties["QueueName"]
    )
    # every function references every queue, so CloudFormation makes the queues (and their
    # event source mappings' targets) before the functions
    for reader in READERS.values():
        variables = props(resources, reader)["Environment"]["Variables"]
        assert variables[variable] == {"Fn::GetAtt": [queue, "QueueName"]}


@pytest.mark.parametrize("queue", ["EventsQueue", "MediaQueue", "WebhooksQueue"])
def test_queues_redrive_to_the_dead_letter_queue_and_outlast_their_function(
    resources: dict, queue: str
) -> None:
    properties = props(resources, queue)
    dlq = props(resources, "EventsDeadLetterQueue")
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]},
        "maxReceiveCount": provisioning.MAX_RECEIVES,
    }
    assert provisioning.MAX_RECEIVES == 3
    assert properties["VisibilityTimeout"] >= 6 * props(resources, READERS[queue])["Timeout"]
    assert dlq["QueueName"] == f"headless-cms-{STAGE}-events-dlq"
    assert dlq["MessageRetentionPeriod"] > properties["MessageRetentionPeriod"]
    assert properties["SqsManagedSseEnabled"] is True and dlq["SqsManagedSseEnabled"] is True
    # the console's "Start DLQ redrive" may send back to any of the queues
    source = {"Fn::Sub": "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:"}
    source["Fn::Sub"] += properties["QueueName"]
    assert source in dlq["RedriveAllowPolicy"]["sourceQueueArns"]
    alarm = props(resources, "DeadLetterAlarm")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}
    ]


def test_table_matches_the_app_and_is_on_demand_with_recovery(resources: dict) -> None:
    table = resources["IndexTable"]
    p = table["Properties"]
    definition = provisioning.table_definition(f"headless-cms-{STAGE}-index")
    for field, value in definition.items():
        assert p[field] == value, field
    assert p["BillingMode"] == "PAY_PER_REQUEST"
    assert p["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert p["SSESpecification"] == {"SSEEnabled": True}
    assert p["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    assert "TimeToLiveSpecification" not in p  # no item of the index expires
    assert "ProvisionedThroughput" not in json.dumps(p)


def test_parameters_admin_key_and_site_settings(template: dict, resources: dict) -> None:
    parameters = template["Parameters"]
    assert parameters["AdminKey"]["NoEcho"] is True
    assert "Default" not in parameters["AdminKey"]
    site = props(resources, "SiteSettingsParameter")
    assert site["Name"] == f"/headless-cms/{STAGE}/settings/site"
    assert site["Type"] == "String"
    assert site["Value"] == {"Ref": "SiteSettings"}
    api_env = props(resources, "APIHandler")["Environment"]["Variables"]
    assert api_env["CMS_ADMIN_KEY"] == {"Ref": "AdminKey"}
    for function in ("Render", "Thumbnails", "Webhooks"):
        assert "CMS_ADMIN_KEY" not in props(resources, function)["Environment"]["Variables"]
    assert template["Mappings"]["Cms"]["Stage"]["SsmPath"] == f"headless-cms/{STAGE}"
    outputs = template["Outputs"]
    assert outputs["SsmPrefix"]["Value"] == f"/headless-cms/{STAGE}"
    assert outputs["ContentBucketName"]["Value"] == {"Ref": "ContentBucket"}
    assert outputs["MediaQueueUrl"]["Value"] == {"Ref": "MediaQueue"}
    assert outputs["WebhooksQueueUrl"]["Value"] == {"Ref": "WebhooksQueue"}
    assert "EndpointURL" in outputs


def test_functions_get_the_stack_names_and_their_own_sizes(resources: dict) -> None:
    functions = stage_config()["lambda_functions"]
    for logical, name in (
        ("APIHandler", "api_handler"),
        ("Render", "render"),
        ("Thumbnails", "thumbnails"),
        ("Webhooks", "webhooks"),
    ):
        p = props(resources, logical)
        assert p["MemorySize"] == functions[name]["lambda_memory_size"]
        assert p["Timeout"] == functions[name]["lambda_timeout"]
        variables = p["Environment"]["Variables"]
        assert variables["CMS_BACKEND"] == "aws"
        assert variables["CMS_STAGE"] == STAGE
        assert variables["CMS_BUCKET"] == {"Ref": "ContentBucket"}
        assert variables["CMS_TABLE"] == {"Ref": "IndexTable"}
        assert variables["CMS_MEDIA_QUEUE"] == {"Fn::GetAtt": ["MediaQueue", "QueueName"]}
        assert variables["CMS_WEBHOOKS_QUEUE"] == {"Fn::GetAtt": ["WebhooksQueue", "QueueName"]}
        assert variables["CMS_DEAD_LETTER_QUEUE"] == {
            "Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]
        }
        assert variables["CMS_SSM_PREFIX"] == f"/headless-cms/{STAGE}"
        log_group = p["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    api, render = props(resources, "APIHandler"), props(resources, "Render")
    thumbnails = props(resources, "Thumbnails")
    assert (render["MemorySize"], render["Timeout"]) != (api["MemorySize"], api["Timeout"])
    assert api["Timeout"] <= 29  # API Gateway stops waiting after 29 s
    # decoding a large image needs room (50 MP RGBA is 200 MB per copy) and time
    assert thumbnails["MemorySize"] >= 2048 and thumbnails["MemorySize"] > render["MemorySize"]
    assert thumbnails["Timeout"] >= 60
    # a delivery is one POST (10 s HTTP timeout) and a few small calls: little memory, room
    # for the POST to time out and the outcome to be recorded
    hooks = props(resources, "Webhooks")
    assert hooks["MemorySize"] <= 256
    assert hooks["Timeout"] >= 2 * webhooks.TIMEOUT_SECONDS


# --- IAM -----------------------------------------------------------------------------------


def _statements(resources: dict, role: str) -> list[dict[str, Any]]:
    (policy,) = props(resources, role)["Policies"]
    return policy["PolicyDocument"]["Statement"]


def _actions(statements: list[dict[str, Any]]) -> dict[str, list[str]]:
    """action -> the resources it is allowed on (as JSON strings)."""
    allowed: dict[str, list[str]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        targets = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        for action in s["Action"] if isinstance(s["Action"], list) else [s["Action"]]:
            allowed.setdefault(action, []).extend(json.dumps(t) for t in targets)
    return allowed


def test_each_function_has_its_own_role_from_the_policy_files(resources: dict) -> None:
    for function, role, policy_file in (
        ("APIHandler", "ApiHandlerRole", "policy-api.json"),
        ("Render", "RenderRole", "policy-render.json"),
        ("Thumbnails", "ThumbnailsRole", "policy-thumbnails.json"),
        ("Webhooks", "WebhooksRole", "policy-webhooks.json"),
    ):
        assert props(resources, function)["Role"] == {"Fn::GetAtt": [role, "Arn"]}
        assert "ManagedPolicyArns" not in props(resources, role)
        written = json.loads((ROOT / ".chalice" / policy_file).read_text())
        assert _statements(resources, role) == written["Statement"]
    assert stage_config()["autogen_policy"] is False


def test_no_policy_allows_a_wildcard_action_or_resource(template: dict) -> None:
    assert builder.wildcard_allows(template) == []
    for name, document in builder.policy_documents(template):
        for statement in document["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = statement["Action"]
            for action in actions if isinstance(actions, list) else [actions]:
                assert action != "*" and not action.endswith(":*"), (name, action)
            if name.endswith("Role"):
                resource = json.dumps(statement["Resource"])
                assert resource != '"*"', (name, statement)
                assert any(
                    ref in resource
                    for ref in (
                        "ContentBucket",
                        "IndexTable",
                        "EventsQueue",
                        "MediaQueue",
                        "WebhooksQueue",
                        "EventsDeadLetterQueue",
                        "LogGroup",
                        '"Cms", "Stage", "SsmPath"',
                    )
                ), (name, statement)


def test_api_role_is_scoped_to_what_the_api_does(resources: dict) -> None:
    allowed = _actions(_statements(resources, "ApiHandlerRole"))
    assert set(allowed) == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:BatchGetItem",  # media: references resolved at delivery
        "dynamodb:Scan",  # reindex clears the table (never on a request path)
        "dynamodb:BatchWriteItem",
        "ssm:GetParameter",
        "ssm:GetParametersByPath",
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:GetQueueAttributes",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }
    # secrets (the cursor key, webhook secrets), API keys, preview links, and the site
    # settings (PUT /v1/manage/settings, webhook targets); the settings are never deleted.
    # The prefixes come from the code that writes them, so a new kind of record cannot be
    # forgotten here (moto checks no IAM: only this test does).
    from chalicelib.domain.site import SETTINGS_NAME
    from chalicelib.services import keys, previews, webhooks

    prefixes = {"/secrets/*", f"/{keys.PREFIX}*", f"/{previews.PREFIX}*"}
    assert webhooks._secret_name("x").startswith("secrets/")
    writes = sorted(_parameter(w).rsplit("${Path}", 1)[1] for w in allowed["ssm:PutParameter"])
    assert writes == sorted(prefixes | {f"/{SETTINGS_NAME}"})
    deletes = sorted(_parameter(w).rsplit("${Path}", 1)[1] for w in allowed["ssm:DeleteParameter"])
    assert deletes == sorted(prefixes)
    # redrive sends each dead letter back to the queue it came from; replay sends a delivery
    assert sorted(allowed["sqs:SendMessage"]) == sorted(
        json.dumps({"Fn::GetAtt": [q, "Arn"]}) for q in ALL_QUEUES.values()
    )
    assert allowed["sqs:ReceiveMessage"] == [
        json.dumps({"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]})
    ]
    assert allowed["dynamodb:PutItem"] == [json.dumps({"Fn::GetAtt": ["IndexTable", "Arn"]})]
    # presigned POST and GET URLs are signed with this role: it needs both on media/
    objects = json.dumps({"Fn::Sub": "${ContentBucket.Arn}/*"})
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert objects in allowed[action], action


def test_render_role_reads_content_and_writes_only_rendered_html(resources: dict) -> None:
    allowed = _actions(_statements(resources, "RenderRole"))
    assert allowed["s3:PutObject"] == [json.dumps({"Fn::Sub": "${ContentBucket.Arn}/rendered/*"})]
    for forbidden in (
        "s3:DeleteObject",
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "dynamodb:Scan",
    ):
        assert forbidden not in allowed, forbidden
    _sends_webhook_deliveries_only(allowed)
    # an entry that swaps more tag copies than one transaction holds deletes the stale ones
    # first in batches (DynamoIndex._replace)
    table = json.dumps({"Fn::GetAtt": ["IndexTable", "Arn"]})
    assert allowed["dynamodb:BatchWriteItem"] == [table]
    queue = json.dumps({"Fn::GetAtt": ["EventsQueue", "Arn"]})
    for needed in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allowed[needed] == [queue], needed  # what the SQS event source mapping needs
    assert all("/settings" in r for r in allowed["ssm:GetParameter"])


def test_thumbnails_role_touches_media_only_and_cannot_replace_an_original(
    resources: dict,
) -> None:
    allowed = _actions(_statements(resources, "ThumbnailsRole"))
    media = json.dumps({"Fn::Sub": "${ContentBucket.Arn}/media/*"})
    assert allowed["s3:GetObject"] == [media]
    assert allowed["s3:DeleteObject"] == [media]  # what is left of an asset whose original went
    writes = {json.loads(r)["Fn::Sub"] for r in allowed["s3:PutObject"]}
    assert writes == {f"${{ContentBucket.Arn}}/media/*.{ext}" for ext in VARIANT_TYPES} | {
        "${ContentBucket.Arn}/media/*/manifest.json"
    }
    table = json.dumps({"Fn::GetAtt": ["IndexTable", "Arn"]})
    for action in (
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",  # and the Put of a TransactWriteItems
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",  # a removed asset's items
    ):
        assert allowed[action] == [table], action
    queue = json.dumps({"Fn::GetAtt": ["MediaQueue", "Arn"]})
    for needed in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allowed[needed] == [queue], needed
    assert all("/settings" in r for r in allowed["ssm:GetParameter"])
    assert allowed["logs:PutLogEvents"] == [
        json.dumps({"Fn::GetAtt": ["ThumbnailsLogGroup", "Arn"]})
    ]
    for forbidden in (
        "s3:GetObjectVersion",
        "s3:ListBucketVersions",
        "ssm:PutParameter",
        "ssm:DeleteParameter",
        "dynamodb:Scan",
    ):
        assert forbidden not in allowed, forbidden
    _sends_webhook_deliveries_only(allowed)


def _sends_webhook_deliveries_only(allowed: dict[str, list[str]]) -> None:
    """The event functions emit webhook deliveries (the outbox: the webhooks queue) and
    record them (the delivery log items in the table), and send to no other queue."""
    queue = json.dumps({"Fn::GetAtt": ["WebhooksQueue", "Arn"]})
    assert allowed["sqs:SendMessage"] == [queue]
    assert allowed["sqs:GetQueueUrl"] == [queue]
    table = json.dumps({"Fn::GetAtt": ["IndexTable", "Arn"]})
    assert table in allowed["dynamodb:PutItem"] and table in allowed["dynamodb:GetItem"]
    # the targets are in the site settings
    assert any(_parameter(r).endswith("/settings/*") for r in allowed["ssm:GetParameter"])


def _parameter(resource: str) -> str:
    """The ARN pattern of an SSM parameter resource (``Fn::Sub`` with the stage's path)."""
    sub = json.loads(resource)["Fn::Sub"]
    assert sub[1] == {"Path": {"Fn::FindInMap": ["Cms", "Stage", "SsmPath"]}}
    return str(sub[0])


def test_webhooks_role_reads_its_delivery_and_target_and_sends_only_retries(
    resources: dict,
) -> None:
    allowed = _actions(_statements(resources, "WebhooksRole"))
    table = json.dumps({"Fn::GetAtt": ["IndexTable", "Arn"]})
    queue = json.dumps({"Fn::GetAtt": ["WebhooksQueue", "Arn"]})
    path = {"Path": {"Fn::FindInMap": ["Cms", "Stage", "SsmPath"]}}
    parameter = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/${Path}/"
    assert allowed == {
        "dynamodb:GetItem": [table],  # the delivery
        "dynamodb:PutItem": [table],  # its outcome
        # the target (in the site settings) and its signing secret, nothing else
        "ssm:GetParameter": [
            json.dumps({"Fn::Sub": [parameter + "settings/site", path]}),
            json.dumps({"Fn::Sub": [parameter + "secrets/webhooks/*", path]}),
        ],
        # the SQS event source, and retries sent back with a delay
        "sqs:ReceiveMessage": [queue],
        "sqs:DeleteMessage": [queue],
        "sqs:GetQueueAttributes": [queue],
        "sqs:SendMessage": [queue],
        "sqs:GetQueueUrl": [queue],
        "logs:CreateLogStream": [json.dumps({"Fn::GetAtt": ["WebhooksLogGroup", "Arn"]})],
        "logs:PutLogEvents": [json.dumps({"Fn::GetAtt": ["WebhooksLogGroup", "Arn"]})],
    }


# --- the checks of the build script -----------------------------------------------------


def test_the_gateway_answers_problem_json_and_an_unknown_path_is_404(resources: dict) -> None:
    """Issue 12, case 7: not API Gateway's 403 {"message": "Missing Authentication Token"}."""
    assert resources["RestAPI"]["Type"] == "AWS::Serverless::Api"
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::ApiGateway::GatewayResponse"
    }
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    for kind, properties in responses.items():
        assert properties["RestApiId"] == {"Ref": "RestAPI"}
        header = properties["ResponseParameters"]["gatewayresponse.header.Content-Type"]
        assert header == "'application/problem+json'"
        body = properties["ResponseTemplates"]["application/json"]
        filled = body.replace("$context.error.messageString", '"Too many requests"')
        problem = json.loads(filled)  # the template is JSON once API Gateway fills it
        assert {"type", "title", "detail"} <= set(problem), kind
        assert "$input" not in body and "$context.path" not in body  # nothing from the request
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["StatusCode"] == "404"
    assert json.loads(missing["ResponseTemplates"]["application/json"])["status"] == 404


def test_verify_rejects_a_template_packaged_for_another_queue(template: dict) -> None:
    assert builder.verify(template, STAGE) == []
    broken = json.loads(json.dumps(template))
    event = broken["Resources"]["Render"]["Properties"]["Events"]["RenderSqsEventSource"]
    event["Properties"]["Queue"]["Fn::Sub"] = event["Properties"]["Queue"]["Fn::Sub"].replace(
        f"headless-cms-{STAGE}-events", "headless-cms-dev-events"
    )
    (problem,) = builder.verify(broken, STAGE)
    assert "CMS_EVENTS_QUEUE=headless-cms-prod-events" in problem

    broken = json.loads(json.dumps(template))
    event = broken["Resources"]["Thumbnails"]["Properties"]["Events"]["ThumbnailsSqsEventSource"]
    event["Properties"]["Queue"]["Fn::Sub"] = event["Properties"]["Queue"]["Fn::Sub"].replace(
        f"headless-cms-{STAGE}-media", "headless-cms-dev-media"
    )
    (problem,) = builder.verify(broken, STAGE)
    assert "thumbnails" in problem and "CMS_MEDIA_QUEUE=headless-cms-prod-media" in problem

    broken = json.loads(json.dumps(template))
    event = broken["Resources"]["Webhooks"]["Properties"]["Events"]["WebhooksSqsEventSource"]
    event["Properties"]["Queue"]["Fn::Sub"] = event["Properties"]["Queue"]["Fn::Sub"].replace(
        f"headless-cms-{STAGE}-webhooks", "headless-cms-dev-webhooks"
    )
    (problem,) = builder.verify(broken, STAGE)
    assert "webhooks" in problem and "CMS_WEBHOOKS_QUEUE=headless-cms-prod-webhooks" in problem


def test_verify_rejects_a_queue_that_redelivers_while_its_function_runs(template: dict) -> None:
    broken = json.loads(json.dumps(template))
    broken["Resources"]["Webhooks"]["Properties"]["Timeout"] = 31  # 6 x 31 > 180
    (problem,) = builder.verify(broken, STAGE)
    assert problem == (
        "the webhooks queue's visibility timeout (180 s) is less than 6x the webhooks"
        " function's timeout (31 s)"
    )
    broken = json.loads(json.dumps(template))
    broken["Resources"]["MediaQueue"]["Properties"]["VisibilityTimeout"] = 60
    (problem,) = builder.verify(broken, STAGE)
    assert "media queue's visibility timeout (60 s)" in problem
    broken = json.loads(json.dumps(template))
    source = broken["Resources"]["Webhooks"]["Properties"]["Events"]["WebhooksSqsEventSource"]
    source["Properties"]["BatchSize"] = 10
    assert builder.verify(broken, STAGE) == ["the webhooks function must take one message per call"]


def test_verify_rejects_a_wildcard_grant(template: dict) -> None:
    broken = json.loads(json.dumps(template))
    statements = _statements(broken["Resources"], "RenderRole")
    statements.append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert builder.verify(broken, STAGE) == [
        "wildcard allowed by RenderRole: s3:*",
        "wildcard allowed by RenderRole: resource *",
    ]


def test_merge_template_refuses_a_visibility_timeout_too_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(builder.provisioning, "VISIBILITY_TIMEOUT_SECONDS", 30)
    with pytest.raises(SystemExit, match="6x the render function's timeout"):
        builder.merge_template(STAGE)
    monkeypatch.undo()
    monkeypatch.setattr(builder.provisioning, "MEDIA_VISIBILITY_TIMEOUT_SECONDS", 120)
    with pytest.raises(SystemExit, match="6x the thumbnails function's timeout"):
        builder.merge_template(STAGE)
    monkeypatch.undo()
    monkeypatch.setattr(builder.provisioning, "WEBHOOKS_VISIBILITY_TIMEOUT_SECONDS", 90)
    with pytest.raises(SystemExit, match="6x the webhooks function's timeout"):
        builder.merge_template(STAGE)


def test_dev_stage_is_disposable() -> None:
    dev = builder.merge_template("dev")["Resources"]
    for name in ("ContentBucket", "IndexTable"):
        assert dev[name]["DeletionPolicy"] == "Delete"
    assert dev["IndexTable"]["Properties"]["DeletionProtectionEnabled"] is False
    assert dev["EventsQueue"]["Properties"]["QueueName"] == "headless-cms-dev-events"
    assert dev["MediaQueue"]["Properties"]["QueueName"] == "headless-cms-dev-media"
    assert dev["WebhooksQueue"]["Properties"]["QueueName"] == "headless-cms-dev-webhooks"
    assert dev["SiteSettingsParameter"]["Properties"]["Name"] == "/headless-cms/dev/settings/site"


def test_local_stage_and_top_level_settings_are_untouched() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert config["environment_variables"] == {}
    assert config["stages"]["local"] == {"environment_variables": {"CMS_BACKEND": "local"}}
    for stage in ("dev", "prod"):
        assert config["stages"][stage]["environment_variables"] == {
            "CMS_BACKEND": "aws",
            "CMS_STAGE": stage,
        }


def test_template_agrees_with_what_provision_creates(
    template: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts the script writes by hand (event names, encryption, retention) against what
    `devtools provision` makes on moto with the same names."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    resources = template["Resources"]
    settings = builder.stage_settings(STAGE)
    with mock_aws():
        clients = {
            n: boto3.client(n, region_name="us-east-1") for n in ("s3", "sqs", "dynamodb", "ssm")
        }
        created = provisioning.provision(clients, settings)
        s3, sqs = clients["s3"], clients["sqs"]
        notification = s3.get_bucket_notification_configuration(Bucket=settings.bucket)
        urls = {"events": created["queue_url"], "media": created["media_queue_url"]}
        targets = {provisioning.queue_arn(sqs, url): t for t, url in urls.items()}
        provisioned = {
            (
                event,
                QUEUES[targets[c["QueueArn"]]],
                tuple((r["Name"].lower(), r["Value"]) for r in c["Filter"]["Key"]["FilterRules"]),
                targets[c["QueueArn"]],
            )
            for c in notification["QueueConfigurations"]
            for event in c["Events"]
        }
        encryption = s3.get_bucket_encryption(Bucket=settings.bucket)
        urls["webhooks"] = created["webhooks_queue_url"]
        attributes = {
            ALL_QUEUES[t]: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
            for t, url in urls.items()
        }
        dlq = sqs.get_queue_attributes(
            QueueUrl=created["dead_letter_queue_url"], AttributeNames=["All"]
        )
        dlq_arn = dlq["Attributes"]["QueueArn"]
        table = clients["dynamodb"].describe_table(TableName=settings.table)["Table"]

    assert _template_notifications(resources) == provisioned == _expected_notifications()
    (rule,) = encryption["ServerSideEncryptionConfiguration"]["Rules"]
    (template_rule,) = props(resources, "ContentBucket")["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert (
        template_rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        == rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    )
    for name, provisioned_queue in attributes.items():
        queue = props(resources, name)
        assert str(queue["VisibilityTimeout"]) == provisioned_queue["VisibilityTimeout"]
        assert str(queue["MessageRetentionPeriod"]) == provisioned_queue["MessageRetentionPeriod"]
        redrive = json.loads(provisioned_queue["RedrivePolicy"])
        assert int(redrive["maxReceiveCount"]) == queue["RedrivePolicy"]["maxReceiveCount"]
        assert redrive["deadLetterTargetArn"] == dlq_arn
        # S3 may send to a notification target's queue, and to no other
        assert ("Policy" in provisioned_queue) == (f"{name}Policy" in resources), name
    assert set(attributes) == set(READERS)
    assert (
        str(props(resources, "EventsDeadLetterQueue")["MessageRetentionPeriod"])
        == (dlq["Attributes"]["MessageRetentionPeriod"])
    )
    indexes = {i["IndexName"]: i["KeySchema"] for i in table["GlobalSecondaryIndexes"]}
    in_table = {
        i["IndexName"]: i["KeySchema"]
        for i in props(resources, "IndexTable")["GlobalSecondaryIndexes"]
    }
    assert indexes == in_table
    assert table["KeySchema"] == props(resources, "IndexTable")["KeySchema"]


# --- cfn-lint ----------------------------------------------------------------------------


def test_cfn_lint_passes_with_informational_checks(out: Path) -> None:
    """Errors, warnings and informational findings all fail (cfn-lint is pinned)."""
    started = time.perf_counter()
    done = subprocess.run(
        [
            _tool("cfn-lint"),
            str(out / "sam.json"),
            "--include-checks",
            "I",
            "--non-zero-exit-code",
            "informational",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"cfn-lint: exit {done.returncode} in {time.perf_counter() - started:.1f} s")
    assert done.returncode == 0, done.stdout + done.stderr
