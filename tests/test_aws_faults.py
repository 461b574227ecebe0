"""Faults on the AWS backend: transient errors are retried by botocore, lasting ones become a
problem+json 503 with Retry-After, and a write whose index update fails is repaired by the
object event."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

import pytest
from botocore.awsrequest import AWSResponse
from chalice.test import Client

from chalicelib import wiring
from chalicelib.adapters.aws import clients
from chalicelib.ports import StorageUnavailable
from tests.conftest import JSON_ADMIN, problem


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _failing(times: int, status: int = 503) -> Any:
    """A before-send hook that answers the first ``times`` calls with an HTTP error."""
    calls = {"n": 0}

    def hook(request: Any, **_: Any) -> AWSResponse | None:
        calls["n"] += 1
        if calls["n"] <= times:
            body = b'{"__type": "ThrottlingException", "message": "slow down"}'
            return AWSResponse(request.url, status, {}, _Raw(body))
        return None

    hook.calls = calls  # type: ignore[attr-defined]
    return hook


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sleeps between retries; the tests need the attempts, not the waiting."""
    monkeypatch.setattr("botocore.endpoint.time.sleep", lambda _seconds: None)


@pytest.fixture
def published(aws_container: wiring.Container) -> Client:
    from app import app

    client = Client(app, stage_name="faults")
    for method, path, body in (
        ("put", "/v1/manage/collections/blog", {"title": "Blog"}),
        ("post", "/v1/manage/content/blog", {"front_matter": {"title": "Hi"}, "body": "x"}),
        ("post", "/v1/manage/content/blog/hi/publish", None),
    ):
        r = getattr(client.http, method)(
            path, headers=JSON_ADMIN, body=json.dumps(body) if body else None
        )
        assert r.status_code in (200, 201), r.body
    return client


def test_the_clients_retry_in_standard_mode_with_timeouts(
    aws_container: wiring.Container,
) -> None:
    for service in ("s3", "dynamodb", "ssm", "sqs"):
        config = clients.client(service).meta.config
        assert config.retries == {"mode": "standard", "total_max_attempts": 5}
        assert config.connect_timeout == 3 and config.read_timeout == 10


def test_a_transient_dynamodb_error_is_retried_by_botocore(published: Client) -> None:
    ddb = clients.client("dynamodb")
    hook = _failing(2)
    ddb.meta.events.register_first("before-send.dynamodb.GetItem", hook)
    try:
        r = published.http.get("/v1/content/blog/hi")
    finally:
        ddb.meta.events.unregister("before-send.dynamodb.GetItem", hook)
    assert r.status_code == 200, r.body
    assert hook.calls["n"] == 3  # two throttled attempts, then the real one


def test_a_lasting_storage_error_is_a_503_problem_with_retry_after(published: Client) -> None:
    ddb = clients.client("dynamodb")
    hook = _failing(100)
    ddb.meta.events.register_first("before-send.dynamodb.GetItem", hook)
    try:
        r = published.http.get("/v1/content/blog/hi")
    finally:
        ddb.meta.events.unregister("before-send.dynamodb.GetItem", hook)
    body = problem(r)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "2"
    assert "Traceback" not in json.dumps(body)
    assert hook.calls["n"] == clients.TOTAL_ATTEMPTS  # then botocore gave up


def test_an_s3_outage_ends_in_the_dead_letter_queue_and_a_redrive_repairs_it(
    published: Client, aws_container: wiring.Container
) -> None:
    """The worst case: S3 stores the object but every answer is lost (moto applies the write
    even though the client sees 500s). The client gets a 503; the object event fails on every
    receive (the HTML cannot be written either), lands in the dead-letter queue and is
    recorded on the entry; once S3 is back, a redrive renders it."""
    s3 = clients.client("s3")
    hook = _failing(10_000, status=500)
    s3.meta.events.register_first("before-send.s3.PutObject", hook)
    try:
        r = published.http.post(
            "/v1/manage/content/blog",
            headers=JSON_ADMIN,
            body=json.dumps({"front_matter": {"title": "Lost"}, "body": "*found*"}),
        )
    finally:
        s3.meta.events.unregister("before-send.s3.PutObject", hook)
    assert problem(r)["status"] == 503
    assert r.headers["Retry-After"] == "2"

    record = aws_container.backend.index.get_entry("blog", "draft", "lost")
    assert record is not None and record.render_status == "failed"
    assert "after retries" in (record.render_error or "")
    letters = json.loads(
        published.http.get("/v1/manage/events/dead-letters", headers=JSON_ADMIN).body
    )["items"]
    keys = [unquote_plus(m["message"]["Records"][0]["s3"]["object"]["key"]) for m in letters]
    assert keys == ["content/blog/lost.md"]

    r = published.http.post("/v1/manage/events/dead-letters/redrive", headers=JSON_ADMIN)
    assert json.loads(r.body) == {"redriven": 1}
    r = published.http.get("/v1/manage/content/blog/lost", headers=JSON_ADMIN)
    assert json.loads(r.body)["render"]["status"] == "rendered"
    assert "<em>found</em>" in json.loads(r.body)["render"]["html"]


def test_a_failed_index_update_leaves_the_object_and_the_event_repairs_it(
    published: Client, aws_container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = aws_container.backend.index

    def broken_stage(*_: Any, **__: Any) -> bool:
        raise StorageUnavailable("DynamoDB UpdateItem: injected")

    monkeypatch.setattr(index, "stage_entry", broken_stage)
    events, aws_container.events = aws_container.events, None  # hold the events back
    r = published.http.post(
        "/v1/manage/content/blog",
        headers=JSON_ADMIN,
        body=json.dumps({"front_matter": {"title": "Repaired"}, "body": "by *the event*"}),
    )
    assert problem(r)["status"] == 503
    assert aws_container.backend.objects.head("content/blog/repaired.md") is not None
    assert index.get_entry("blog", "draft", "repaired") is None

    aws_container.events = events
    aws_container.process_events()
    record = index.get_entry("blog", "draft", "repaired")
    assert record is not None and record.render_status == "rendered"
    r = published.http.get("/v1/manage/content/blog/repaired", headers=JSON_ADMIN)
    assert json.loads(r.body)["render"]["status"] == "rendered"
