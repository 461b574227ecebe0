"""The thumbnails Lambda handler: an SQS message with S3 records for media, handled like the
render function's, and a failure that outlives its retries recorded on the asset."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.api import event_handlers
from chalicelib.domain.s3_events import make_record
from chalicelib.services import thumbnails
from tests import media_files as files


def _sqs_event(key: str, receives: int, etag: str | None = None) -> dict[str, Any]:
    record = make_record(
        bucket="b",
        key=key,
        event_name="ObjectCreated:Put",
        sequencer="00000000000000A0",
        version_id=None,
        etag=etag,
    )
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": json.dumps({"Records": [record]}),
                "attributes": {"ApproximateReceiveCount": str(receives)},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:headless-cms-dev-media",
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_the_thumbnails_function_makes_variants(container: wiring.Container) -> None:
    info = container.backend.objects.put(
        "media/lambda/original", files.jpeg(700, 500), content_type="image/jpeg"
    )
    event_handlers.thumbnails(_sqs_event("media/lambda/original", 1, info.etag), None)
    record = container.backend.media.get_media("lambda")
    assert record is not None and record.status == "ready"
    assert {v.width for v in record.derived.variants} == {320, 640, 700}


def test_a_failure_past_its_retries_marks_the_asset_failed(
    container: wiring.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    container.drain = None  # deliver by hand, as Lambda would
    container.backend.objects.put(
        "media/flaky/original", files.small_png(), content_type="image/png"
    )

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("storage went away")

    monkeypatch.setattr(thumbnails, "derive", broken)
    for receives in (1, 3):
        with pytest.raises(RuntimeError):
            event_handlers.thumbnails(_sqs_event("media/flaky/original", receives), None)
    record = container.backend.media.get_media("flaky")
    assert record is not None and record.status == "failed"
    assert "storage went away" in (record.derived.error or "")
    monkeypatch.undo()
    event_handlers.thumbnails(_sqs_event("media/flaky/original", 1), None)  # the redrive
    fixed = container.backend.media.get_media("flaky")
    assert fixed is not None and fixed.status == "ready"
