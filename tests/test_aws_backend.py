"""The AWS backend on moto, in process: the API, S3 events through SQS, Lambda-style pumping."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import wiring
from chalicelib.domain import webhooks as signing
from tests.conftest import JSON_ADMIN
from tests.test_webhooks import Receiver


def test_create_publish_and_deliver_through_s3_events(aws_container: wiring.Container) -> None:
    from app import app

    with Client(app, stage_name="e2e") as client:
        r = client.http.put(
            "/v1/manage/collections/blog", headers=JSON_ADMIN, body=json.dumps({"title": "Blog"})
        )
        assert r.status_code == 201, r.body
        r = client.http.post(
            "/v1/manage/content/blog",
            headers=JSON_ADMIN,
            body=json.dumps(
                {
                    "front_matter": {"title": "On AWS", "tags": ["Cloud"]},
                    "body": "# Hi\n\nRendered *by the event*.",
                }
            ),
        )
        assert r.status_code == 201, r.body
        r = client.http.get("/v1/manage/content/blog/on-aws", headers=JSON_ADMIN)
        assert json.loads(r.body)["render"]["status"] == "rendered"
        r = client.http.post("/v1/manage/content/blog/on-aws/publish", headers=JSON_ADMIN)
        assert r.status_code == 200, r.body
        r = client.http.get("/v1/content/blog/on-aws")
        assert r.status_code == 200, r.body
        body = json.loads(r.body)
        assert "<em>by the event</em>" in body["html"]
        listing = json.loads(client.http.get("/v1/content/blog?tag=cloud").body)
        assert [i["slug"] for i in listing["items"]] == ["on-aws"]


def test_event_keys_are_url_decoded_exactly(aws_container: wiring.Container) -> None:
    """S3 URL-encodes keys in events (a space as '+', a '+' as '%2B', UTF-8 escapes)."""
    from chalicelib.adapters.aws import clients
    from chalicelib.adapters.aws.settings import AwsSettings
    from chalicelib.services import collections

    collections.put_collection(aws_container.backend, "blog", {"title": "Blog"})
    bucket = AwsSettings.from_env().bucket
    odd = ["content/blog/a b.md", "content/blog/c+d.md", "content/blog/café.md"]
    s3 = clients.client("s3")
    for key in [*odd, "content/blog/fine.md"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"---\ntitle: T\n---\nx\n")
    aws_container.process_events()
    assert aws_container.backend.index.list_object_errors() == []
    for path, file in [("a-b", "a b.md"), ("c-d", "c+d.md"), ("cafe", "café.md"), ("fine", None)]:
        record = aws_container.backend.index.get_entry("blog", "draft", path)
        assert record is not None and record.render_status == "rendered", path
        assert record.source_file == (file or f"{path}.md")  # the key, decoded exactly


# --- three queues: events (render), media (thumbnails), webhooks; one dead-letter queue -------


def _queue_urls() -> dict[str, str]:
    from chalicelib.adapters.aws import clients
    from chalicelib.adapters.aws.settings import AwsSettings

    settings = AwsSettings.from_env()
    sqs = clients.client("sqs")
    names = {**settings.queues, "dlq": settings.dead_letter_queue}
    return {t: sqs.get_queue_url(QueueName=n)["QueueUrl"] for t, n in names.items()}


def _drain_raw(url: str) -> list[str]:
    """The bodies waiting in a queue, taken out without handling them."""
    from chalicelib.adapters.aws import clients

    sqs = clients.client("sqs")
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _keys(bodies: list[str]) -> list[str]:
    """The object keys in S3 notification bodies (other bodies have none)."""
    from chalicelib.domain.s3_events import iter_object_events

    keys = []
    for body in bodies:
        try:
            keys += [e.key for e in iter_object_events(body)]
        except ValueError:
            continue
    return sorted(keys)


def _s3_message(key: str) -> str:
    from chalicelib.adapters.aws.settings import AwsSettings
    from chalicelib.domain.s3_events import make_record

    record = make_record(
        bucket=AwsSettings.from_env().bucket,
        key=key,
        event_name="ObjectCreated:Put",
        sequencer="0055AED6DCD90281E5",
        version_id=None,
        region="us-east-1",
    )
    return json.dumps({"Records": [record]})


def test_provisioning_makes_a_queue_per_function_each_redriving_to_the_dead_letter_queue(
    aws_container: wiring.Container,
) -> None:
    from chalicelib.adapters.aws import clients, provisioning
    from chalicelib.adapters.aws.settings import AwsSettings

    settings = AwsSettings.from_env()
    assert settings.queues == {
        "events": "headless-cms-test-events",
        "media": "headless-cms-test-media",
        "webhooks": "headless-cms-test-webhooks",
    }
    assert settings.notified_queues == {
        "events": "headless-cms-test-events",
        "media": "headless-cms-test-media",
    }
    sqs = clients.client("sqs")
    urls = _queue_urls()
    dlq_arn = provisioning.queue_arn(sqs, urls["dlq"])
    for kind in ("events", "media", "webhooks"):
        attributes = sqs.get_queue_attributes(QueueUrl=urls[kind], AttributeNames=["All"])[
            "Attributes"
        ]
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"] == dlq_arn
        assert int(redrive["maxReceiveCount"]) == provisioning.MAX_RECEIVES == 3
        visibility = int(attributes["VisibilityTimeout"])
        assert visibility == provisioning.visibility_timeouts()[kind]
        if kind == "webhooks":  # only the app sends to it, with IAM: S3 may not
            assert "Policy" not in attributes
            continue
        (statement,) = json.loads(attributes["Policy"])["Statement"]
        assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
        assert statement["Resource"] == attributes["QueueArn"]
        assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(f":{settings.bucket}")
    # 6x the functions' timeouts in .chalice/config.json (render 10 s, thumbnails 60 s,
    # webhooks 30 s)
    assert provisioning.visibility_timeouts() == {"events": 60, "media": 360, "webhooks": 180}


def test_bucket_notifications_are_the_rules_each_to_its_targets_queue(
    aws_container: wiring.Container,
) -> None:
    from chalicelib.adapters.aws import clients, provisioning
    from chalicelib.adapters.aws.settings import AwsSettings
    from chalicelib.domain.notifications import RULES

    sqs, s3 = clients.client("sqs"), clients.client("s3")
    urls = _queue_urls()
    arns = {t: provisioning.queue_arn(sqs, urls[t]) for t in ("events", "media")}
    found = s3.get_bucket_notification_configuration(Bucket=AwsSettings.from_env().bucket)
    configured = {
        (
            c["Id"],
            c["QueueArn"],
            tuple(sorted(c["Events"])),
            tuple((r["Name"].lower(), r["Value"]) for r in c["Filter"]["Key"]["FilterRules"]),
        )
        for c in found["QueueConfigurations"]
    }
    expected = {
        (
            rule.name,
            arns[rule.target],
            ("s3:ObjectCreated:*", "s3:ObjectRemoved:*"),
            (("prefix", rule.prefix),) + ((("suffix", rule.suffix),) if rule.suffix else ()),
        )
        for rule in RULES
    }
    assert configured == expected
    assert {(c[0], c[1]) for c in configured} >= {
        ("cms-media-original", arns["media"]),
        ("cms-media-meta-json", arns["media"]),
        ("cms-content", arns["events"]),
    }


def test_each_key_notifies_its_queue_and_variants_and_manifests_notify_nothing(
    aws_container: wiring.Container,
) -> None:
    """What S3 (moto applies prefix and suffix filters) sends where, and that it is what the
    local backend decides with the same rules (notifications.target_of)."""
    from chalicelib.adapters.aws import clients
    from chalicelib.adapters.aws.settings import AwsSettings
    from chalicelib.domain.notifications import target_of

    expected = {
        "content/blog/a.md": "events",
        "published/blog/a.md": "events",
        "collections/blog.json": "events",
        "media/abc/original": "media",
        "media/abc/meta.json": "media",
        "media/abc/640.webp": None,  # a variant: the thumbnail function's own output
        "media/abc/1280.jpg": None,
        "media/abc/manifest.json": None,
        "media/abc/original.bak": None,
        "rendered/blog/a/0123.html": None,
        "elsewhere/media/abc/original": None,
    }
    s3 = clients.client("s3")
    bucket = AwsSettings.from_env().bucket
    for key in expected:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    urls = _queue_urls()
    assert _drain_raw(urls["webhooks"]) == []  # S3 never sends to the webhooks queue
    arrived = {t: _keys(_drain_raw(urls[t])) for t in ("events", "media")}
    assert arrived == {
        target: sorted(k for k, t in expected.items() if t == target)
        for target in ("events", "media")
    }
    assert {k: target_of(k) for k in expected} == expected


def test_redrive_sends_each_dead_letter_back_to_its_targets_queue(
    aws_container: wiring.Container,
) -> None:
    from chalicelib.adapters.aws import clients

    sqs = clients.client("sqs")
    urls = _queue_urls()
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})
    job = json.dumps({"cms": "webhook-delivery", "delivery": "d-1"})
    for body in (
        _s3_message("media/abc/original"),
        _s3_message("media/abc/meta.json"),
        _s3_message("published/blog/a.md"),
        test_event,
        "not json",
        job,
    ):
        sqs.send_message(QueueUrl=urls["dlq"], MessageBody=body)
    letters = aws_container.backend.dead_letters.list()
    assert len(letters) == 6
    media_ids = [letter.id for letter in letters if "media/abc/original" in json.dumps(letter.body)]
    assert aws_container.backend.dead_letters.redrive(media_ids) == 1
    assert _keys(_drain_raw(urls["media"])) == ["media/abc/original"]
    assert _drain_raw(urls["events"]) == []

    assert aws_container.backend.dead_letters.redrive() == 5
    assert _drain_raw(urls["webhooks"]) == [job]  # a webhook delivery goes back to its queue
    assert _keys(_drain_raw(urls["media"])) == ["media/abc/meta.json"]
    events = _drain_raw(urls["events"])  # an entry, and what names no target (the default)
    assert _keys(events) == ["published/blog/a.md"]
    assert len(events) == 3 and test_event in events and "not json" in events
    assert aws_container.backend.dead_letters.list() == []


def test_a_media_original_is_processed_from_the_media_queue_and_its_output_notifies_nothing(
    aws_container: wiring.Container,
) -> None:
    import io

    from PIL import Image

    from chalicelib.adapters.aws import clients
    from chalicelib.adapters.aws.settings import AwsSettings

    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 60)).save(buffer, "PNG")
    s3 = clients.client("s3")
    bucket = AwsSettings.from_env().bucket
    s3.put_object(Bucket=bucket, Key="media/pic/original", Body=buffer.getvalue())
    assert aws_container.process_events() == 1  # the original only: no event per variant
    record = aws_container.backend.media.get_media("pic")
    assert record is not None and record.status == "ready", record
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="media/pic/")["Contents"]}
    assert "media/pic/manifest.json" in keys
    assert any(k.endswith(".webp") for k in keys)
    urls = _queue_urls()
    assert [_drain_raw(urls[t]) for t in ("events", "media", "dlq")] == [[], [], []]


# --- webhooks: the outbox is the webhooks queue, read by the webhooks function --------------


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("CMS_WEBHOOK_BACKOFF_SECONDS", "0")  # retries at once, in one pump
    monkeypatch.setenv("CMS_WEBHOOKS_ALLOW_LOOPBACK", "1")  # the receiver is on 127.0.0.1
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """(queue kind, message body) of each message the pump hands to a function."""
    from chalicelib import devtools

    seen: list[tuple[str, str]] = []
    default = devtools._default_handler

    def recording(kind: Any) -> Any:
        function = default(kind)

        def run(event: dict[str, Any], context: Any) -> Any:
            seen.append((kind, event["Records"][0]["body"]))
            return function(event, context)

        return run

    monkeypatch.setattr(devtools, "_default_handler", recording)
    return seen


def _hooked_blog(receiver: Receiver) -> tuple[Client, str]:
    """The app with a webhook target for entry.published and a collection; (client, secret)."""
    from app import app

    client = Client(app, stage_name="webhooks")
    body = {"url": receiver.url, "events": ["entry.published"]}
    r = client.http.post("/v1/manage/webhooks", headers=JSON_ADMIN, body=json.dumps(body))
    assert r.status_code == 201, r.body
    secret = json.loads(r.body)["secret"]
    r = client.http.put(
        "/v1/manage/collections/blog", headers=JSON_ADMIN, body=json.dumps({"title": "Blog"})
    )
    assert r.status_code == 201, r.body
    return client, secret


def _publish(client: Client, slug: str) -> None:
    """Write and publish an entry; the middleware pumps the queues after each write."""
    body = {"front_matter": {"title": slug.title(), "slug": slug}, "body": "Hello."}
    r = client.http.post("/v1/manage/content/blog", headers=JSON_ADMIN, body=json.dumps(body))
    assert r.status_code == 201, r.body
    r = client.http.post(f"/v1/manage/content/blog/{slug}/publish", headers=JSON_ADMIN)
    assert r.status_code == 200, r.body


def _deliveries(client: Client) -> list[dict[str, Any]]:
    r = client.http.get("/v1/manage/webhooks/deliveries", headers=JSON_ADMIN)
    assert r.status_code == 200, r.body
    return json.loads(r.body)["items"]  # type: ignore[no-any-return]


def test_a_publish_is_delivered_signed_by_the_webhooks_function_from_its_queue(
    aws_container: wiring.Container, receiver: Receiver, handled: list[tuple[str, str]]
) -> None:
    client, secret = _hooked_blog(receiver)
    _publish(client, "hello")
    assert receiver.events() == ["entry.published"]
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert signing.verify(secret, headers["x-cms-signature"], request["body"], now=int(time.time()))
    assert json.loads(request["body"])["data"]["slug"] == "hello"
    (delivery,) = _deliveries(client)
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == (
        "succeeded",
        1,
        204,
    )
    # the render function emitted it into the webhooks queue; the webhooks function sent it
    jobs = [(kind, json.loads(body)) for kind, body in handled if '"cms"' in body]
    assert jobs == [("webhooks", {"cms": "webhook-delivery", "delivery": delivery["id"]})]
    assert {kind for kind, body in handled if '"cms"' not in body} == {"events"}
    urls = _queue_urls()
    assert [_drain_raw(urls[t]) for t in ("events", "media", "webhooks", "dlq")] == [[]] * 4

    # the outbox is the webhooks queue (nothing pumps it here)
    from chalicelib.services import webhooks

    assert webhooks.emit(aws_container.backend, "entry.published", {"slug": "x"}) == 1
    (body,) = _drain_raw(urls["webhooks"])
    assert json.loads(body)["cms"] == "webhook-delivery"


def test_a_failing_target_is_retried_then_failed_for_good(
    aws_container: wiring.Container, receiver: Receiver
) -> None:
    client, _ = _hooked_blog(receiver)
    receiver.script = [500] * signing.MAX_ATTEMPTS
    _publish(client, "doomed")
    assert len(receiver.requests) == signing.MAX_ATTEMPTS
    (delivery,) = _deliveries(client)
    assert delivery["status"] == "failed" and delivery["attempts"] == signing.MAX_ATTEMPTS
    assert delivery["error"] == "HTTP 500"
    urls = _queue_urls()
    assert _drain_raw(urls["webhooks"]) == [] and _drain_raw(urls["dlq"]) == []


def test_a_retry_waits_in_the_queue_for_its_delay(
    aws_container: wiring.Container, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler sends the next attempt with SQS DelaySeconds: invisible until then."""
    monkeypatch.setenv("CMS_WEBHOOK_BACKOFF_SECONDS", "1")
    client, _ = _hooked_blog(receiver)
    receiver.script = [500]
    _publish(client, "later")
    assert len(receiver.requests) == 1
    (delivery,) = _deliveries(client)
    assert delivery["status"] == "pending" and delivery["attempts"] == 1
    time.sleep(1.2)
    aws_container.process_events()
    assert len(receiver.requests) == 2
    (delivery,) = _deliveries(client)
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 2


def test_a_crashing_delivery_goes_to_the_dead_letter_queue_and_redrive_returns_it(
    aws_container: wiring.Container, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import webhooks

    def crash(*_: Any) -> None:
        raise RuntimeError("boom")

    client, _ = _hooked_blog(receiver)
    with monkeypatch.context() as patched:
        patched.setattr(webhooks, "deliver", crash)
        _publish(client, "crash")
    assert receiver.requests == []
    (delivery,) = _deliveries(client)
    # the last receive recorded the failure on the delivery
    assert delivery["status"] == "dead-lettered"
    assert delivery["error"] == "Delivery crashed: RuntimeError: boom"
    job = {"cms": "webhook-delivery", "delivery": delivery["id"]}
    (letter,) = aws_container.backend.dead_letters.list()
    assert letter.body == job and letter.attempts >= 3

    assert aws_container.backend.dead_letters.redrive() == 1
    urls = _queue_urls()
    assert [_drain_raw(urls[t]) for t in ("events", "media", "dlq")] == [[]] * 3
    aws_container.process_events()  # the redriven job is sent this time
    assert len(receiver.requests) == 1
    (delivery,) = _deliveries(client)
    assert delivery["status"] == "succeeded"
