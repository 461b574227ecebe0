"""The AWS backend on moto, in process: the API, S3 events through SQS, Lambda-style pumping."""

from __future__ import annotations

import json

from chalice.test import Client

from chalicelib import wiring
from tests.conftest import JSON_ADMIN


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
    errors = sorted(e.key for e in aws_container.backend.index.list_object_errors())
    assert errors == sorted(odd)
    record = aws_container.backend.index.get_entry("blog", "draft", "fine")
    assert record is not None and record.render_status == "rendered"
