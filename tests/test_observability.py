"""Structured logs without secrets, and EMF metrics from the object-event function."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from chalicelib import events, wiring
from chalicelib.api import event_handlers, observability
from tests.conftest import ADMIN_KEY, Api


def _emf(output: str) -> list[dict[str, Any]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def _sqs_event(receives: int) -> dict[str, Any]:
    body = {
        "Records": [
            {
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "bucket": {"name": "b"},
                    "object": {"key": "content/blog/x.md", "sequencer": "0A"},
                },
            }
        ]
    }
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": str(receives)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:headless-cms-dev-events",
                "awsRegion": "us-east-1",
            }
        ]
    }


@pytest.fixture
def emf(monkeypatch: pytest.MonkeyPatch) -> None:
    import app  # noqa: F401 - registers the middleware on the handlers

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.setattr(observability, "_metrics", None)


def test_an_event_emits_count_and_latency(
    emf: None, container: wiring.Container, capsys: pytest.CaptureFixture[str]
) -> None:
    event_handlers.render(_sqs_event(1), None)
    (document,) = _emf(capsys.readouterr().out)
    names = {m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert names == {"ObjectEvents", "ObjectEventLatency"}
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "HeadlessCMS"
    assert document["ObjectEvents"] == [1.0]


def test_a_failure_on_the_last_receive_counts_a_dead_letter_send(
    emf: None,
    container: wiring.Container,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("render blew up")

    monkeypatch.setattr(events, "handle_notification", broken)
    for receives in (1, 3):
        with pytest.raises(RuntimeError):
            event_handlers.render(_sqs_event(receives), None)
    first, last = _emf(capsys.readouterr().out)
    assert "DeadLetterSends" not in first and first["ObjectEventFailures"] == [1.0]
    assert last["DeadLetterSends"] == [1.0]
    record = container.backend.index.get_entry("blog", "draft", "x")
    assert record is not None and "render blew up" in (record.render_error or "")


def test_logs_are_json_with_a_request_id_and_never_the_key(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = observability.logger()
    stream = io.StringIO()
    for handler in log._logger.handlers:  # Powertools' stream handler, whatever stdout was
        if hasattr(handler, "stream"):  # not pytest's live-logging null handler
            monkeypatch.setattr(handler, "stream", stream)
    previous = log._logger.level
    log._logger.setLevel(logging.DEBUG)  # setLevel also clears logging's level cache
    try:
        api.collection("blog")
        api.call("GET", "/v1/manage/content/blog/missing")
    finally:
        log._logger.setLevel(previous)
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]
    requests = [x for x in lines if x.get("route") == "/v1/manage/content/{collection}/{slug}"]
    assert requests and requests[-1]["status"] == 404 and requests[-1]["request_id"]
    assert requests[-1]["service"] == "headless-cms"
    assert ADMIN_KEY not in stream.getvalue()
