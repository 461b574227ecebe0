"""The SDK (cms.Client): retries and errors against a scripted HTTP server, and the real API
over `chalice local` (typed results, iterators, If-Match, the change feed, media, problems)."""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cms import client as client_module
from cms.client import Client, retry_after_seconds
from cms.errors import (
    ApiError,
    ConnectionFailed,
    Forbidden,
    Gone,
    NotFound,
    PreconditionFailed,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
)
from tests.test_local_server import ADMIN_KEY, LocalServer

# --- a real server, shared by a module's tests ------------------------------------------------


@pytest.fixture(scope="module")
def cms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = LocalServer(tmp_path_factory.mktemp("cms-server") / "data")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def admin(cms_server: LocalServer) -> Client:
    return Client(cms_server.url, ADMIN_KEY)


@pytest.fixture
def collection(admin: Client) -> str:
    """A fresh collection per test, so tests sharing a server do not see each other."""
    name = f"c-{uuid.uuid4().hex[:10]}"
    admin.put_collection(name, "Test")
    return name


def tiny_png(
    colour: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)
) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


# --- a scripted server ------------------------------------------------------------------------


class Scripted:
    """An HTTP server answering from a list of (status, headers, body); records requests."""

    def __init__(self, replies: list[tuple[int, dict[str, str], Any]]) -> None:
        self.replies = list(replies)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        script = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                script.requests.append((self.command, self.path, dict(self.headers)))
                status, headers, body = script.replies.pop(0)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


PROBLEM = {"Content-Type": "application/problem+json"}
OK_JSON = {"Content-Type": "application/json"}


def _problem(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": f"/problems/{title.lower()}",
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[Scripted] = []

    def make(*replies: tuple[int, dict[str, str], Any]) -> Scripted:
        server = Scripted(list(replies))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def test_429_and_503_are_retried_after_retry_after(scripted: Any) -> None:
    server = scripted(
        (429, {**PROBLEM, "Retry-After": "1"}, _problem(429, "Too many", "slow down")),
        (503, {**PROBLEM, "Retry-After": "2"}, _problem(503, "Unavailable", "storage")),
        (200, OK_JSON, {"status": "ok"}),
    )
    waits: list[float] = []
    client = Client(server.url, "k", sleep=waits.append)
    assert client.health() == {"status": "ok"}
    assert waits == [1.0, 2.0]
    assert len(server.requests) == 3


def test_retries_are_bounded(scripted: Any) -> None:
    server = scripted(*[(429, {**PROBLEM, "Retry-After": "0"}, _problem(429, "Slow", "no"))] * 3)
    client = Client(server.url, "k", max_retries=2, sleep=lambda s: None)
    with pytest.raises(RateLimited) as caught:
        client.list_keys()
    assert caught.value.status == 429 and caught.value.detail == "no"
    assert len(server.requests) == 3  # the first try and two retries


def test_a_retry_after_longer_than_allowed_is_not_slept_through(scripted: Any) -> None:
    server = scripted((503, {**PROBLEM, "Retry-After": "120"}, _problem(503, "Down", "later")))
    waits: list[float] = []
    client = Client(server.url, "k", max_retry_wait=30, sleep=waits.append)
    with pytest.raises(ServiceUnavailable) as caught:
        client.reindex()
    assert waits == [] and caught.value.retry_after == 120


def test_retry_after_as_an_http_date() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None


def test_a_gateway_error_without_problem_json_still_says_what(scripted: Any) -> None:
    server = scripted((403, OK_JSON, {"message": "Missing Authentication Token"}))
    with pytest.raises(Forbidden) as caught:
        Client(server.url).get_collection("blog")
    assert caught.value.detail == "Missing Authentication Token"


def test_unreachable_server_raises_connection_failed_quickly() -> None:
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionFailed) as caught:
        Client(url, "k", sleep=lambda s: None).list_collections()
    assert "connection refused" in str(caught.value) and url in str(caught.value)


def test_connections_are_kept_alive_and_bad_urls_are_refused() -> None:
    assert Client("http://127.0.0.1:8000").keep_alive is True  # chalice local: no stall
    assert Client("https://abc.execute-api.eu-west-1.amazonaws.com/api").keep_alive is True
    assert Client("http://127.0.0.1:8000", keep_alive=False).keep_alive is False
    with pytest.raises(ValueError):
        Client("127.0.0.1:8000")


# --- the real API -----------------------------------------------------------------------------


def test_a_bad_key_is_401_with_the_servers_problem(cms_server: LocalServer) -> None:
    with pytest.raises(Unauthorized) as caught:
        Client(cms_server.url, "not-a-key").list_collections()
    error = caught.value
    assert error.status == 401 and error.type == "/problems/unauthorized"
    assert error.title and error.detail == "The API key is not valid."
    assert "401" in str(error)


def test_missing_collection_and_validation_errors(admin: Client, collection: str) -> None:
    with pytest.raises(NotFound) as missing:
        admin.get_collection("no-such-collection")
    assert "no-such-collection" in missing.value.detail
    with pytest.raises(ValidationFailed) as invalid:
        admin.create_entry(collection, {"title": "ok", "tags": [{"no": 1}]}, "body")
    assert invalid.value.status == 422
    assert any(e.field.startswith("front_matter.tags") for e in invalid.value.errors)
    # JSON goes as UTF-8; a lone surrogate, which UTF-8 cannot hold, escaped: the server
    # answers for it
    with pytest.raises(ApiError) as surrogate:
        admin.create_entry(collection, {"title": "lone \udc80"}, "body")
    assert surrogate.value.status in (400, 422)
    created = admin.create_entry(collection, {"title": "中文 🎉"}, "body")
    assert created.front_matter["title"] == "中文 🎉"


def test_typed_results_paging_and_if_match(admin: Client, collection: str) -> None:
    for index in range(5):
        draft = admin.create_entry(
            collection,
            {"title": f"Post {index}", "tags": ["Demo"], "published_at": f"2024-01-0{index + 1}"},
            f"Body *{index}*.",
        )
        assert draft.slug == f"post-{index}" and draft.etag
        assert admin.publish(collection, draft.slug).state == "published"
    listed = list(admin.iter_entries(collection, page_size=2))
    assert [e.slug for e in listed] == [f"post-{i}" for i in range(4, -1, -1)]
    assert listed[0].tags == ["demo"] and listed[0].published_at == "2024-01-05T00:00:00Z"
    assert len(list(admin.iter_drafts(collection, page_size=2))) == 5
    entry = admin.get_published(collection, "post-1")
    assert entry is not None and "<em>1</em>" in entry.html and entry.etag
    assert admin.get_published(collection, "post-1", if_none_match=entry.etag) is None

    read = admin.get_entry(collection, "post-1")
    saved = admin.save(read, body="Changed.")
    assert saved.body == "Changed." and saved.etag != read.etag
    with pytest.raises(PreconditionFailed) as stale:
        admin.save(read, body="Lost update?")  # read before the save above
    assert stale.value.status == 412
    admin.delete_entry(collection, "post-1", if_match=saved.etag)
    with pytest.raises(NotFound):
        admin.get_entry(collection, "post-1")


def test_change_feed_iterates_resumes_and_says_gone_after_a_rebuild(
    admin: Client, collection: str
) -> None:
    admin.create_entry(collection, {"title": "One"}, "1")
    admin.publish(collection, "one")
    feed = admin.changes(page_size=1)
    mine = [c for c in feed if c.collection == collection]
    assert [(c.type, c.slug) for c in mine] == [("upsert", "one")]
    assert mine[0].href == f"/v1/content/{collection}/one" and feed.cursor
    admin.unpublish(collection, "one")
    later = [c for c in admin.changes(feed.cursor) if c.collection == collection]
    assert [(c.type, c.slug) for c in later] == [("delete", "one")]
    admin.reindex()
    with pytest.raises(Gone) as gone:
        list(admin.changes(feed.cursor))
    assert gone.value.status == 410 and gone.value.problem.extra.get("parameter") == "cursor"


def test_media_direct_and_presigned_upload(
    admin: Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    direct = admin.upload_media(tiny_png(), "red.png", alt="Red", tags=["test"])
    assert direct.status in ("processing", "ready") and direct.alt == "Red"
    assert admin.get_media(direct.id, manage=True).width == 64  # made by the media event
    monkeypatch.setattr(client_module, "DIRECT_UPLOAD_LIMIT", 100)  # force the presigned way
    presigned = admin.upload_media(tiny_png((0, 0, 200)), "blue.png", alt="Blue")
    assert presigned.status == "ready" and presigned.filename == "blue.png"
    public = admin.get_media(presigned.id)
    chosen = public.best_file()
    assert chosen is not None
    assert admin.download(chosen[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(m.id == direct.id for m in admin.iter_media(tag="test", page_size=1))


def test_batch_upsert_is_idempotent_and_answers_per_item(admin: Client, collection: str) -> None:
    from cms.models import BatchItem

    items = [
        BatchItem(
            {"title": "First", "published_at": "2024-02-01"}, "One.", slug="first", publish=True
        ),
        BatchItem({"title": "Second"}, "Two.", slug="second", publish=False),
        BatchItem({"title": ""}, "Bad.", slug="bad", publish=True),
    ]
    results = admin.batch_upsert(collection, items)
    assert [(r.slug, r.status, r.publication) for r in results[:2]] == [
        ("first", "created", "published"),
        ("second", "created", "draft"),
    ]
    assert results[2].status == "failed" and results[2].problem is not None
    assert results[2].problem["status"] == 422 and results[2].problem["errors"]
    again = admin.batch_upsert(collection, items[:2])
    assert [(r.status, r.publication) for r in again] == [
        ("unchanged", "published"),
        ("unchanged", "draft"),
    ]
    second = admin.get_entry(collection, "second")
    stale = BatchItem({"title": "Second"}, "Two!", slug="second", if_match='"not-the-etag"')
    fresh = BatchItem({"title": "Second"}, "Two!", slug="second", if_match=f'"{second.etag}"')
    assert [
        (r.status, (r.problem or {}).get("status"))
        for r in admin.batch_upsert(collection, [stale, fresh])
    ] == [
        ("failed", 412),
        ("updated", None),
    ]
    revisions_before = admin.request("GET", f"/v1/manage/content/{collection}/first/revisions")
    changed = admin.batch_upsert(
        collection, [BatchItem({"title": "First!"}, "One.", slug="first", publish=False)]
    )
    assert (changed[0].status, changed[0].publication) == ("updated", "draft")
    revisions_after = admin.request("GET", f"/v1/manage/content/{collection}/first/revisions")
    assert len(revisions_after.json()["items"]) == len(revisions_before.json()["items"]) + 1
    with pytest.raises(NotFound):
        admin.batch_upsert("no-such-collection", items[:1])
    with pytest.raises(Forbidden):
        reader = admin.create_key("reader", ["content:read"])
        Client(admin.url, reader.secret).batch_upsert(collection, items[:1])


def test_the_client_package_never_imports_the_server() -> None:
    import ast

    for path in (Path(__file__).resolve().parent.parent / "cms").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] in ("chalicelib", "app") for n in names), path.name


# --- the receiving end of webhooks -----------------------------------------------------------


def test_the_sdks_verify_accepts_the_servers_signature_and_nothing_else() -> None:
    from chalicelib.domain.webhooks import sign
    from cms.webhooks import verify

    body, now = b'{"event": "entry.published"}', 1_800_000_000
    header = sign("s3cret", now, body)
    assert verify("s3cret", header, body, now=now + 299)
    assert not verify("s3cret", header, body, now=now + 301)  # too old: a replayed request
    assert not verify("s3cret", header, body + b" ", now=now)
    assert not verify("other", header, body, now=now)
    for bad in (
        None,
        "",
        "t=abc,v1=00",
        "v1=00",
        "garbage",
        header.replace("v1=", "v0="),
        header[:-1] + "\xe9",  # non-ASCII (latin-1 decoded headers): False, not TypeError
        header.replace("t=", "t=-"),
        header.upper(),
    ):
        assert not verify("s3cret", bad, body, now=now)


def test_the_servers_verify_refuses_the_same_malformed_headers() -> None:
    from chalicelib.domain.webhooks import sign, verify

    body, now = b"{}", 1_800_000_000
    header = sign("s3cret", now, body)
    assert verify("s3cret", header, body, now=now)
    for bad in ("", "garbage", header[:-1] + "\xe9", header.replace("t=", "t=\u0661"), "t=1"):
        assert not verify("s3cret", bad, body, now=now)


def test_the_receiver_refuses_a_missing_bad_or_oversized_content_length() -> None:
    import socket

    from cms.webhooks import Received, Receiver

    seen: list[Received] = []
    receiver = Receiver(seen.append, secret="s3cret").start()
    host, port = receiver.server.server_address[:2]

    def raw(head: str, body: bytes = b"") -> bytes:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(f"POST / HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode() + body)
            return sock.recv(200)

    try:
        assert raw("").startswith(b"HTTP/1.0 411")
        assert raw("Content-Length: abc\r\n").startswith(b"HTTP/1.0 400")
        assert raw("Content-Length: -1\r\n", b"x" * 100).startswith(b"HTTP/1.0 400")
        assert raw(f"Content-Length: {2 * 1024 * 1024}\r\n").startswith(b"HTTP/1.0 413")
        assert seen == []
    finally:
        receiver.stop()


def test_the_receiver_answers_204_to_a_signed_delivery_and_401_to_a_forged_one() -> None:
    from chalicelib.domain.webhooks import sign
    from cms.webhooks import Received, Receiver

    seen: list[Received] = []
    receiver = Receiver(seen.append, secret="s3cret").start()
    try:
        body = json.dumps({"event": "entry.published", "data": {"slug": "a"}}).encode()
        headers = {"X-CMS-Event": "entry.published", "X-CMS-Delivery": "d1"}
        good = sign("s3cret", int(time.time()), body)
        ok = requests.post(receiver.url, data=body, headers={**headers, "X-CMS-Signature": good})
        forged = sign("guess", int(time.time()), body)
        bad = requests.post(receiver.url, data=body, headers={**headers, "X-CMS-Signature": forged})
        assert (ok.status_code, bad.status_code) == (204, 401)
        assert [(r.event, r.delivery_id, r.verified) for r in seen] == [
            ("entry.published", "d1", True),
            ("entry.published", "d1", False),
        ]
        assert seen[0].payload["data"]["slug"] == "a"
    finally:
        receiver.stop()


def test_webhook_targets_and_deliveries_through_the_sdk(admin: Client) -> None:
    from cms.webhooks import Received, Receiver

    seen: list[Received] = []
    receiver = Receiver(seen.append).start()
    hook = admin.create_webhook(receiver.url, ["entry.published"], description="sdk test")
    try:
        assert hook.secret and hook.events == ["entry.published"]
        receiver.secret = hook.secret
        assert hook.id in {h.id for h in admin.list_webhooks()}
        name = f"c-{uuid.uuid4().hex[:10]}"
        admin.put_collection(name, "Hooks")
        draft = admin.create_entry(name, {"title": "Hooked"}, "Body.")
        admin.publish(name, draft.slug)
        deadline = time.monotonic() + 20
        while not seen:
            assert time.monotonic() < deadline, "no delivery arrived"
            time.sleep(0.05)
        assert seen[0].verified is True and seen[0].payload["data"]["slug"] == "hooked"
        mine = [d for d in admin.webhook_deliveries() if d.webhook_id == hook.id]
        assert mine and mine[0].status == "succeeded" and mine[0].response_status == 204
        again = admin.replay_delivery(mine[0].id)
        assert again.id != mine[0].id and again.event == "entry.published"
    finally:
        admin.delete_webhook(hook.id)
        receiver.stop()
    assert hook.id not in {h.id for h in admin.list_webhooks()}
