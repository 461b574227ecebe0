"""Webhooks received by a real HTTP server on loopback: signed, sent after the change is
durable, retried with backoff, recorded with their outcome, and replayable."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.domain import webhooks as signing
from tests import media_files as files
from tests.conftest import Api, free_port, problem


class Receiver:
    """A loopback HTTP server that records each request and answers with scripted codes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.script.pop(0) if receiver.script else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("CMS_WEBHOOK_BACKOFF_SECONDS", "0")  # retries at once, in one drain
    running = Receiver()
    yield running
    running.close()


def hook(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body = {"url": url, "events": events or list(signing_events())}
    return api.json("POST", "/v1/manage/webhooks", body, expect=201)  # type: ignore[no-any-return]


def signing_events() -> tuple[str, ...]:
    from chalicelib.domain.site import WEBHOOK_EVENTS

    return WEBHOOK_EVENTS


def test_signed_deliveries_for_publish_unpublish_delete_and_media(
    api: Api, receiver: Receiver
) -> None:
    created = hook(api, receiver.url)
    secret = created["secret"]
    api.collection()
    api.entry(title="Hello", slug="hello")
    api.publish("blog", "hello")
    api.json("POST", "/v1/manage/content/blog/hello/unpublish")
    api.call("DELETE", "/v1/manage/content/blog/hello")
    api.call("POST", "/v1/manage/media", files.small_png(), headers={"Content-Type": "image/png"})
    assert receiver.events() == [
        "entry.published",
        "entry.unpublished",
        "entry.deleted",
        "media.ready",
    ]
    first = receiver.requests[0]
    headers = {k.lower(): v for k, v in first["headers"].items()}
    assert headers["x-cms-event"] == "entry.published"
    assert signing.verify(secret, headers["x-cms-signature"], first["body"], now=int(time.time()))
    assert not signing.verify(
        "another secret", headers["x-cms-signature"], first["body"], now=int(time.time())
    )
    assert not signing.verify(
        secret, headers["x-cms-signature"], first["body"] + b" ", now=int(time.time())
    )
    stale = int(headers["x-cms-timestamp"]) + 3600
    assert not signing.verify(secret, headers["x-cms-signature"], first["body"], now=stale)
    payload = json.loads(first["body"])
    assert (
        payload["data"]["slug"] == "hello" and payload["data"]["href"] == "/v1/content/blog/hello"
    )
    deliveries = api.json("GET", "/v1/manage/webhooks/deliveries")["items"]
    assert len(deliveries) == 4
    assert {d["status"] for d in deliveries} == {"succeeded"}
    assert all(d["attempts"] == 1 and d["response_status"] == 204 for d in deliveries)


def test_only_the_events_a_target_asked_for(api: Api, receiver: Receiver) -> None:
    hook(api, receiver.url, ["entry.deleted"])
    api.collection()
    api.entry(title="Quiet", slug="quiet")
    api.publish("blog", "quiet")
    assert receiver.requests == []
    api.call("DELETE", "/v1/manage/content/blog/quiet")
    assert receiver.events() == ["entry.deleted"]


def test_failures_are_retried_then_recorded_and_can_be_replayed(
    api: Api, receiver: Receiver
) -> None:
    hook(api, receiver.url, ["entry.published"])
    receiver.script = [500, 503]  # then 204
    api.collection()
    api.entry(title="Retry", slug="retry")
    api.publish("blog", "retry")
    assert len(receiver.requests) == 3
    (delivery,) = api.json("GET", "/v1/manage/webhooks/deliveries")["items"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 3
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1  # every attempt sends the same event

    receiver.script = [500] * signing.MAX_ATTEMPTS
    api.entry(title="Doomed", slug="doomed")
    api.publish("blog", "doomed")
    newest = api.json("GET", "/v1/manage/webhooks/deliveries")["items"][0]
    assert newest["status"] == "failed"
    assert newest["attempts"] == signing.MAX_ATTEMPTS
    assert newest["error"] == "HTTP 500"
    detail = api.json("GET", f"/v1/manage/webhooks/deliveries/{newest['id']}")
    assert json.loads(detail["payload"])["data"]["slug"] == "doomed"
    replayed = api.json("POST", f"/v1/manage/webhooks/deliveries/{newest['id']}/replay", expect=202)
    wiring.container().process_events()
    after = api.json("GET", f"/v1/manage/webhooks/deliveries/{replayed['id']}")
    assert after["status"] == "succeeded"
    assert after["payload"] == detail["payload"]


def test_an_unreachable_target_is_a_recorded_failure(api: Api, receiver: Receiver) -> None:
    hook(api, f"http://127.0.0.1:{free_port()}/nobody", ["entry.published"])
    api.collection()
    api.entry(title="Void", slug="void")
    api.publish("blog", "void")
    (delivery,) = api.json("GET", "/v1/manage/webhooks/deliveries")["items"]
    assert delivery["status"] == "failed" and delivery["response_status"] is None
    assert "Connection" in delivery["error"] or "refused" in delivery["error"]
    assert api.json("GET", "/v1/content/blog/void", auth=False)["slug"] == "void"


def test_backoff_grows_and_is_capped() -> None:
    assert [signing.backoff_seconds(n, 30) for n in range(1, 6)] == [30, 120, 480, 900, 900]
    assert signing.backoff_seconds(1, 0) == 0


def test_a_retry_waits_for_its_delay(
    api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMS_WEBHOOK_BACKOFF_SECONDS", "60")
    hook(api, receiver.url, ["entry.published"])
    receiver.script = [500]
    api.collection()
    api.entry(title="Later", slug="later")
    api.publish("blog", "later")
    assert len(receiver.requests) == 1
    (delivery,) = api.json("GET", "/v1/manage/webhooks/deliveries")["items"]
    assert delivery["status"] == "pending" and delivery["attempts"] == 1


def test_webhook_management_and_problems(api: Api, receiver: Receiver) -> None:
    created = hook(api, receiver.url, ["media.ready"])
    assert created["id"].startswith("wh-") and len(created["secret"]) > 30
    listed = api.json("GET", "/v1/manage/webhooks")["items"]
    assert listed == [{k: v for k, v in created.items() if k != "secret"}]
    assert "secret" not in json.dumps(api.json("GET", "/v1/manage/settings"))
    for bad in (
        {"url": "ftp://x", "events": ["media.ready"]},
        {"url": receiver.url, "events": []},
        {"url": receiver.url, "events": ["entry.exploded"]},
        {"url": receiver.url},
        {"url": receiver.url, "events": ["media.ready"], "id": "Bad Id"},
        {"url": receiver.url, "events": ["media.ready"], "id": created["id"]},
    ):
        response = api.call("POST", "/v1/manage/webhooks", bad)
        assert response.status_code == 422, bad
        problem(response)
    assert api.call("DELETE", f"/v1/manage/webhooks/{created['id']}").status_code == 204
    assert api.call("DELETE", f"/v1/manage/webhooks/{created['id']}").status_code == 404
    assert api.json("GET", "/v1/manage/webhooks")["items"] == []
    assert api.call("GET", "/v1/manage/webhooks/deliveries/nope").status_code == 404
    assert api.call("POST", "/v1/manage/webhooks/deliveries/nope/replay").status_code == 404
    assert api.call("GET", "/v1/manage/webhooks", auth=False).status_code == 401
