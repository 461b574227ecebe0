"""End to end over real HTTP: moto as a server, the project's provisioning and pump commands,
S3 -> SQS notifications, the Lambda-style handler, and the delivery API."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chalice.test import Client

from chalicelib import devtools, wiring
from chalicelib.adapters.aws import clients, provisioning
from chalicelib.adapters.aws.settings import AwsSettings
from chalicelib.domain import webhooks as signing
from tests.aws_stage import aws_environment
from tests.conftest import ADMIN_KEY, JSON_ADMIN, free_port
from tests.test_webhooks import Receiver

pytestmark = pytest.mark.slow  # end to end: run by CI, left out by -m 'not slow'

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    aws_environment(monkeypatch, ADMIN_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("CMS_STAGE", "e2e")
    clients.reset()
    wiring.reset()
    try:
        yield endpoint
    finally:
        wiring.reset()
        clients.reset()
        server.stop()


def _devtools(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.devtools", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_provision_write_pump_deliver_over_http(moto_server: str) -> None:
    provisioned = json.loads(_devtools("provision", "--stage", "e2e"))
    assert provisioned["bucket"] == "headless-cms-e2e-content"
    _devtools("provision", "--stage", "e2e")  # running it again changes nothing and works

    s3 = clients.client("s3")
    assert s3.get_bucket_versioning(Bucket=provisioned["bucket"])["Status"] == "Enabled"
    notification = s3.get_bucket_notification_configuration(Bucket=provisioned["bucket"])
    assert {
        c["Filter"]["Key"]["FilterRules"][0]["Value"] for c in notification["QueueConfigurations"]
    } >= {"content/", "published/"}
    # media originals and metadata go to their own queue (the thumbnail function's)
    media_arn = provisioning.queue_arn(clients.client("sqs"), provisioned["media_queue_url"])
    media_filters = sorted(
        tuple((r["Name"].lower(), r["Value"]) for r in c["Filter"]["Key"]["FilterRules"])
        for c in notification["QueueConfigurations"]
        if c["QueueArn"] == media_arn
    )
    assert media_filters == [
        (("prefix", "media/"), ("suffix", "/meta.json")),
        (("prefix", "media/"), ("suffix", "/original")),
    ]

    from app import app

    settings = AwsSettings.from_env()
    with Client(app, stage_name="e2e") as client:
        r = client.http.put(
            "/v1/manage/collections/blog", headers=JSON_ADMIN, body=json.dumps({"title": "Blog"})
        )
        assert r.status_code == 201, r.body
        r = client.http.post(
            "/v1/manage/content/blog",
            headers=JSON_ADMIN,
            body=json.dumps(
                {"front_matter": {"title": "Over HTTP"}, "body": "Hello from *moto server*."}
            ),
        )
        assert r.status_code == 201, r.body
        r = client.http.post("/v1/manage/content/blog/over-http/publish", headers=JSON_ADMIN)
        assert r.status_code == 200, r.body

        r = client.http.get("/v1/content/blog/over-http")
        assert r.status_code == 404  # nothing rendered until the events are pumped

        out = _devtools("pump", "--stage", "e2e", "--once")
        assert "handled" in out

        r = client.http.get("/v1/content/blog/over-http")
        assert r.status_code == 200, r.body
        assert "<em>moto server</em>" in json.loads(r.body)["html"]

        # files dropped into the bucket by another tool are indexed like an API write, named
        # as `cms import` names them: a path from the file's name, a title from it if absent
        s3.put_object(
            Bucket=settings.bucket,
            Key="published/blog/guides/Dropped In.md",
            Body=b"---\ndate: 2024-01-02T03:04:05Z\n---\nBody\n",
        )
        s3.put_object(
            Bucket=settings.bucket,
            Key="published/blog/dropped.md",
            Body=b"---\ntitle: Dropped\npublished_at: 2024-01-02T03:04:05Z\n---\nBody\n",
        )
        s3.put_object(Bucket=settings.bucket, Key="published/blog/!!!.md", Body=b"x")
        assert devtools.pump(settings, once=True) >= 3
        r = client.http.get("/v1/content/blog/dropped")
        assert r.status_code == 200, r.body
        assert json.loads(r.body)["published_at"] == "2024-01-02T03:04:05Z"
        r = client.http.get("/v1/content/blog/guides~dropped-in")
        assert r.status_code == 200, r.body
        assert json.loads(r.body)["title"] == "Dropped In"
        assert json.loads(r.body)["published_at"] == "2024-01-02T03:04:05Z"
        errors = json.loads(client.http.get("/v1/manage/errors", headers=JSON_ADMIN).body)
        assert [e["key"] for e in errors["items"]] == ["published/blog/!!!.md"]

    # a media original dropped into the bucket: the pump command delivers the media queue to
    # the thumbnail function too, and the variants it writes raise no events
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 120, 200)).save(image, "PNG")
    s3.put_object(Bucket=settings.bucket, Key="media/dropped/original", Body=image.getvalue())
    assert "handled 1 message(s)" in _devtools("pump", "--stage", "e2e", "--once")
    record = wiring.container().backend.media.get_media("dropped")
    assert record is not None and record.status == "ready", record
    assert "handled 0 message(s)" in _devtools("pump", "--stage", "e2e", "--once")


def test_the_pump_command_runs_webhook_deliveries_from_their_queue(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish, pumped by the command in another process: render emits the delivery into the
    webhooks queue, the webhooks function POSTs it, signed, to a receiver on loopback (which
    the AWS backend refuses unless the development opt-in is on)."""
    monkeypatch.setenv("CMS_WEBHOOKS_ALLOW_LOOPBACK", "1")
    provisioned = json.loads(_devtools("provision", "--stage", "e2e"))
    sqs = clients.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=provisioned["webhooks_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    assert attributes["QueueArn"].endswith(":headless-cms-e2e-webhooks")
    assert int(attributes["VisibilityTimeout"]) == provisioning.WEBHOOKS_VISIBILITY_TIMEOUT_SECONDS
    assert "Policy" not in attributes  # S3 never sends to it

    from app import app

    receiver = Receiver()
    try:
        with Client(app, stage_name="e2e") as client:
            body = {"url": receiver.url, "events": ["entry.published"]}
            r = client.http.post("/v1/manage/webhooks", headers=JSON_ADMIN, body=json.dumps(body))
            assert r.status_code == 201, r.body
            secret = json.loads(r.body)["secret"]
            for method, path, payload in (
                ("put", "/v1/manage/collections/blog", {"title": "Blog"}),
                ("post", "/v1/manage/content/blog", {"front_matter": {"title": "Hook"}}),
                ("post", "/v1/manage/content/blog/hook/publish", None),
            ):
                r = getattr(client.http, method)(
                    path, headers=JSON_ADMIN, body=json.dumps(payload) if payload else None
                )
                assert r.status_code in (200, 201), r.body
            assert receiver.requests == []  # nothing runs until the queues are pumped
            _devtools("pump", "--stage", "e2e", "--once")
            assert receiver.events() == ["entry.published"]
            (request,) = receiver.requests
            headers = {k.lower(): v for k, v in request["headers"].items()}
            assert signing.verify(
                secret, headers["x-cms-signature"], request["body"], now=int(time.time())
            )
            r = client.http.get("/v1/manage/webhooks/deliveries", headers=JSON_ADMIN)
            (delivery,) = json.loads(r.body)["items"]
            assert delivery["status"] == "succeeded" and delivery["attempts"] == 1
    finally:
        receiver.close()
    assert "handled 0 message(s)" in _devtools("pump", "--stage", "e2e", "--once")
