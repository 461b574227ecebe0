"""Presigned transfers against moto's server over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests

from chalicelib.adapters.aws import clients
from chalicelib.adapters.aws.s3_store import S3ObjectStore, S3Presigner
from tests.conftest import ADMIN_KEY
from tests.test_moto_server import moto_server  # noqa: F401 - the fixture

BUCKET = "presign-test-bucket"


@pytest.fixture
def presigner(moto_server: str) -> Iterator[S3Presigner]:  # noqa: F811
    s3 = clients.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    yield S3Presigner(s3, BUCKET)


def test_presigned_post_then_get(presigner: S3Presigner) -> None:
    form = presigner.post_form("media/a1/original", content_type="image/png", max_bytes=1024)
    response = requests.post(
        form["url"],
        data=form["fields"],
        files={"file": ("a.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100, "image/png")},
        timeout=10,
    )
    assert response.status_code in (200, 204), response.text
    stored = S3ObjectStore(clients.client("s3"), BUCKET).get("media/a1/original")
    assert stored.data.startswith(b"\x89PNG")

    url = presigner.get_url("media/a1/original", filename="a.png")
    fetched = requests.get(url, timeout=10)
    assert fetched.status_code == 200 and fetched.content == stored.data
    assert ADMIN_KEY not in url


def test_presigned_post_policy_pins_key_type_and_size(presigner: S3Presigner) -> None:
    """S3 enforces the policy's conditions (moto does not check content-length-range, so
    the policy itself is what is checked here)."""
    form = presigner.post_form("media/a2/original", content_type="image/png", max_bytes=10)
    policy = json.loads(base64.b64decode(form["fields"]["policy"]))
    conditions = policy["conditions"]
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, 10] in conditions
    assert {"key": "media/a2/original"} in conditions
    assert policy["expiration"]


def test_presigned_get_expires(presigner: S3Presigner) -> None:
    S3ObjectStore(clients.client("s3"), BUCKET).put(
        "media/a3/original", b"z", content_type="image/png"
    )
    url = presigner.get_url("media/a3/original", expires_in=1)
    assert "Expires=" in url or "X-Amz-Expires=1" in url
