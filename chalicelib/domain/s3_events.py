"""S3 event notification records: build them (local backend) and read them (every backend)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from .timeutil import to_iso


class MalformedEvent(ValueError):
    """A record that says it is from S3 but lacks what every S3 record has."""


@dataclass(frozen=True)
class ObjectEvent:
    """One object change as the handlers see it, the key already URL-decoded."""

    bucket: str
    key: str
    event_name: str
    sequencer: str
    version_id: str | None = None
    etag: str | None = None
    size: int | None = None

    @property
    def is_removal(self) -> bool:
        return self.event_name.startswith("ObjectRemoved")


def make_record(
    *,
    bucket: str,
    key: str,
    event_name: str,
    sequencer: str,
    version_id: str | None,
    etag: str | None = None,
    size: int | None = None,
    region: str = "local",
    event_time: dt.datetime | None = None,
) -> dict[str, Any]:
    """A record with the exact shape S3 sends (eventVersion 2.1), key URL-encoded like S3."""
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": sequencer}
    if size is not None:
        obj["size"] = size
    if etag is not None:
        obj["eTag"] = etag
    if version_id is not None:
        obj["versionId"] = version_id
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": to_iso(event_time or dt.datetime.now(dt.UTC)),
        "eventName": event_name,
        "userIdentity": {"principalId": "local"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": sequencer, "x-amz-id-2": "local"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "cms-events",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "local"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }


def _sequencer_from_time(event_time: str | None) -> str:
    """S3 always sends a sequencer; some emulators do not. Then the event time (to the
    millisecond) stands in for it, which orders events on one key that are 1 ms apart."""
    if not event_time:
        return "0"
    instant = dt.datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    return f"{int(instant.timestamp() * 1_000_000):X}"


def is_test_event(message: dict[str, Any]) -> bool:
    """S3 sends 's3:TestEvent' once when a notification is configured; it carries no change."""
    return message.get("Event") == "s3:TestEvent"


def iter_object_events(message: dict[str, Any] | str) -> Iterator[ObjectEvent]:
    """The object events of an S3 notification (a dict, or the JSON body of an SQS message)."""
    if isinstance(message, str):
        message = json.loads(message)
    if not isinstance(message, dict) or is_test_event(message):
        return
    records = message.get("Records")
    for record in records if isinstance(records, list) else []:
        if not isinstance(record, dict) or record.get("eventSource") != "aws:s3":
            continue
        s3 = record.get("s3")
        obj = s3.get("object") if isinstance(s3, dict) else None
        if not isinstance(obj, dict) or not isinstance(obj.get("key"), str):
            raise MalformedEvent("an S3 record without s3.object.key")
        yield ObjectEvent(
            bucket=str((s3.get("bucket") or {}).get("name", "")),
            key=unquote_plus(obj["key"]),
            event_name=str(record.get("eventName", "")),
            sequencer=obj.get("sequencer") or _sequencer_from_time(record.get("eventTime")),
            version_id=obj.get("versionId"),
            etag=obj.get("eTag"),
            size=obj.get("size"),
        )
