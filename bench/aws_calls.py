"""AWS API calls per operation on the AWS backend (moto in process), counted by botocore.

Every AWS call the app makes goes through the shared clients of
``chalicelib.adapters.aws.clients``; a ``before-call`` handler registered on each of them
counts one call per API operation (service + operation name; botocore's own retries of a
call are not extra calls). The stage is provisioned with ``provisioning.provision`` (bucket
with notifications to the events queue, table, queues, parameters), seeded through the
services, and the S3 -> SQS events are delivered to the real SQS handler
(``chalicelib.api.event_handlers.render``) the way ``devtools pump`` does.

The container is then rebuilt (a cold Lambda container: empty collection, config and
cursor-key caches; the per-process entry body cache is still empty because no entry was
read yet), one request of each kind is made and reported as "cold", and then the counted
requests run on the warm container. HTTP requests go through ``chalice.test.Client`` over
``app``; while an API request is counted, the in-process event pump is off (on AWS the API
function never handles events), and the render handler is counted alone (not the SQS
receive and delete, which Lambda's event source mapping does).

Targets (warm container):
- GET /v1/content/{collection}/{slug}: at most 2 calls (any service);
- a delivery list page: exactly 1 DynamoDB Query and 0 S3 calls;
- SSM calls on those delivery requests: 0;
- one render event (the SQS handler with one S3 event): at most 4 S3 + DynamoDB + SSM calls.
Management GET / POST and the other writes are reported for information.

Run from the repository root:  python bench/aws_calls.py
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote_plus

import _common
from _common import REPO_ROOT, header, instant, verdict

ADMIN_KEY = _common.ADMIN_KEY
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
JSON_ADMIN = {**ADMIN, "Content-Type": "application/json"}
SERVICES = ("s3", "sqs", "dynamodb", "ssm")
ENTRIES = 45  # > 2 pages of 20
COLLECTION = "articles"
AGENDA = "agenda"  # has a scheduled entry that sorts first by title
TAGS = ("news", "guides", "releases")
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "CMS_BACKEND": "aws",
    "CMS_STAGE": "bench",
    "CMS_ADMIN_KEY": ADMIN_KEY,
}
CLEARED_ENV = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "CMS_BUCKET", "CMS_TABLE", "CMS_SSM_PREFIX")


class CallCounter:
    """Counts API calls per (service, operation) on every client it is attached to, while a
    ``counting()`` block is open."""

    def __init__(self) -> None:
        self._current: Counter[tuple[str, str]] | None = None
        self._attached: set[int] = set()

    def attach(self, client: Any) -> None:
        if id(client) not in self._attached:
            client.meta.events.register("before-call", self._on_call)
            self._attached.add(id(client))

    def _on_call(self, model: Any, **_: Any) -> None:
        if self._current is not None:
            self._current[(model.service_model.service_id, model.name)] += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[tuple[str, str]]]:
        calls: Counter[tuple[str, str]] = Counter()
        self._current = calls
        try:
            yield calls
        finally:
            self._current = None


def total(calls: Counter[tuple[str, str]], *services: str) -> int:
    return sum(n for (service, _), n in calls.items() if not services or service in services)


def describe(calls: Counter[tuple[str, str]]) -> str:
    if not calls:
        return "no AWS call"
    return ", ".join(f"{s}.{op} x{n}" for (s, op), n in sorted(calls.items()))


@contextlib.contextmanager
def aws_environment() -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in (*AWS_ENV, *CLEARED_ENV)}
    os.environ.update(AWS_ENV)
    for name in CLEARED_ENV:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Stage:
    """The provisioned stage, its container and the counter."""

    def __init__(self) -> None:
        from chalicelib.adapters.aws import clients, provisioning
        from chalicelib.adapters.aws.settings import AwsSettings

        clients.reset()
        self.settings = AwsSettings.from_env()
        self.outputs = provisioning.provision(
            {n: clients.client(n) for n in SERVICES}, self.settings
        )
        self.counter = CallCounter()
        for name in SERVICES:
            self.counter.attach(clients.client(name))
        self.container = self.fresh_container()

    def fresh_container(self) -> Any:
        """A new container on the same clients: what a new Lambda execution environment
        holds after its first request (empty collection, SSM and cursor-key caches)."""
        from chalicelib import wiring

        wiring.reset()
        self.container = wiring.container()
        self.container.drain = self.pump
        return self.container

    def pump(self, handler: Callable[[dict[str, Any], Any], Any] | None = None) -> int:
        from chalicelib import devtools

        with contextlib.redirect_stdout(io.StringIO()):  # the handler's EMF metric lines
            return devtools.pump(self.settings, handler=handler, once=True)

    @contextlib.contextmanager
    def api_only(self) -> Iterator[None]:
        """No event pumping after non-GET requests: on AWS the API function never does it."""
        self.container.drain = None
        try:
            yield
        finally:
            self.container.drain = self.pump

    def send_removal(self, key: str) -> None:
        """Queue the ObjectRemoved notification S3 sends for a delete (moto sends none): the
        record S3 sends, with a sequencer made the way the handler derives one from the event
        time when an emulator omits it, so it orders after the key's earlier events."""
        from chalicelib.adapters.aws import clients
        from chalicelib.domain.s3_events import make_record

        sqs = clients.client("sqs")
        url = sqs.get_queue_url(QueueName=self.settings.events_queue)["QueueUrl"]
        record = make_record(
            bucket=self.settings.bucket,
            key=key,
            event_name="ObjectRemoved:DeleteMarkerCreated",
            sequencer=f"{int(time.time() * 1_000_000):X}",
            version_id=None,
            region="us-east-1",
        )
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"Records": [record]}))

    def render_counted(self) -> list[tuple[str, Counter[tuple[str, str]]]]:
        """Deliver every queued event to the render handler, counting each invocation alone
        (the receive and delete of the message are Lambda's, not the function's); returns
        (event name and key, calls) per event."""
        from chalicelib.api.event_handlers import render

        per_event: list[tuple[str, Counter[tuple[str, str]]]] = []

        def handler(event: dict[str, Any], context: Any) -> Any:
            records = json.loads(event["Records"][0]["body"]).get("Records", [])
            what = (
                ", ".join(
                    f"{r['eventName']} {unquote_plus(r['s3']['object']['key'])}" for r in records
                )
                or "no S3 record"
            )
            with self.counter.counting() as calls:
                result = render(event, context)
            per_event.append((what, calls))
            return result

        self.pump(handler)
        return per_event


def seed(stage: Stage) -> None:
    from chalicelib.services import collections, entries, publishing

    backend, limits = stage.container.backend, stage.container.limits
    for name in (COLLECTION, AGENDA, "warmup"):
        collections.put_collection(backend, name, {"title": name.title()})
    for index in range(ENTRIES):
        front_matter = {
            "title": f"Entry {index:03d}",
            "slug": f"entry-{index:03d}",
            "tags": [TAGS[index % len(TAGS)], f"series-{index % 5}"],
            "published_at": instant(index),
        }
        entries.create_entry(backend, limits, COLLECTION, front_matter, _body(index))
        publishing.publish(backend, COLLECTION, front_matter["slug"])
    for index in range(25):
        slug = f"event-{index:02d}"
        fm = {"title": f"Event {index:02d}", "slug": slug, "published_at": instant(index)}
        entries.create_entry(backend, limits, AGENDA, fm, _body(index))
        publishing.publish(backend, AGENDA, slug)
    future = {"title": "Aaa scheduled", "slug": "scheduled", "published_at": "2999-01-01T00:00:00Z"}
    entries.create_entry(backend, limits, AGENDA, future, _body(99))
    publishing.publish(backend, AGENDA, "scheduled")
    for index in range(3):
        fm = {"title": f"Warm {index}", "slug": f"warm-{index}", "tags": ["news"]}
        entries.create_entry(backend, limits, "warmup", fm, _body(index))
    stage.pump()


def _body(index: int) -> str:
    return _common.markdown_document(index, min_words=150, max_words=400)


def main() -> int:
    header("AWS API calls per operation (moto in process, CMS_BACKEND=aws)")
    from chalice.test import Client
    from moto import mock_aws

    with aws_environment(), mock_aws():
        stage = Stage()
        stage.pump()  # S3 sends an s3:TestEvent first
        seed(stage)
        from app import app

        try:
            with Client(app, project_dir=str(REPO_ROOT)) as client:
                return measure(stage, client)
        finally:
            from chalicelib import wiring
            from chalicelib.adapters.aws import clients

            wiring.reset()
            clients.reset()


def measure(stage: Stage, client: Any) -> int:
    from chalicelib.services import keys

    http = client.http
    rows: list[tuple[str, Counter[tuple[str, str]]]] = []
    failures: list[str] = []

    def counted(label: str, method: str, path: str, *, expect: int, **kwargs: Any) -> Any:
        with stage.api_only(), stage.counter.counting() as calls:
            response = getattr(http, method)(path, **kwargs)
        if response.status_code != expect:
            failures.append(f"{label}: HTTP {response.status_code} (expected {expect})")
        rows.append((label, calls))
        return response, calls

    entry = f"/v1/content/{COLLECTION}"
    manage = f"/v1/manage/content/{COLLECTION}"

    # --- a cold container: the first request of each kind --------------------------------
    stage.fresh_container()
    print("  cold container (first request of each kind after the container is built):")
    cold = [
        ("GET entry", "get", f"{entry}/entry-000", {}, 200),
        ("GET list page", "get", f"{entry}?limit=20", {}, 200),
        ("GET management entry (admin key)", "get", f"{manage}/entry-000", {"headers": ADMIN}, 200),
    ]
    for label, method, path, kwargs, expect in cold:
        _, calls = counted(f"cold: {label}", method, path, expect=expect, **kwargs)
        print(f"    {label:<62} {total(calls):2d} calls: {describe(calls)}")
    # one request of each other kind, and one render event, before counting the warm ones
    first = json.loads(http.get(f"{entry}?limit=20").body)
    http.get(f"{entry}?limit=20&sort=title")
    http.get(f"{AGENDA.join(['/v1/content/', ''])}?limit=20&sort=title")
    http.get(f"{entry}?limit=20&tag=news")
    http.get(f"{entry}?limit=20&sort=published_at")
    http.get(f"{entry}?limit=20&cursor={first['next_cursor']}")
    etag = http.get(f"{entry}/entry-000").headers["ETag"]
    http.get(f"{entry}/entry-000", headers={"If-None-Match": etag})
    http.get(f"{manage}?limit=20", headers=ADMIN)
    reader = keys.create_key(stage.container.backend, {"name": "bench", "scopes": ["content:read"]})
    reader_auth = {"Authorization": f"Bearer {reader['key']}"}
    http.get(f"{manage}/entry-001", headers=reader_auth)
    with stage.api_only():
        http.patch(
            "/v1/manage/content/warmup/warm-0",
            headers=JSON_ADMIN,
            body=json.dumps({"body": "Warm-up edit."}),
        )
    stage.render_counted()

    # --- warm: delivery ----------------------------------------------------------------------
    print("  warm container:")
    _, get_cached = counted(
        "GET entry (body cached: read before)", "get", f"{entry}/entry-000", expect=200
    )
    _, get_fresh = counted(
        "GET entry (first read of this slug)", "get", f"{entry}/entry-007", expect=200
    )
    _, get_304 = counted(
        "GET entry with If-None-Match (304)",
        "get",
        f"{entry}/entry-000",
        expect=304,
        headers={"If-None-Match": etag},
    )
    counted("GET entry that does not exist (404)", "get", f"{entry}/no-such-entry", expect=404)
    response, page_default = counted(
        "GET list page (newest first)", "get", f"{entry}?limit=20", expect=200
    )
    cursor = json.loads(response.body)["next_cursor"]
    _, page_title = counted(
        "GET list page sort=title", "get", f"{entry}?limit=20&sort=title", expect=200
    )
    _, page_tag = counted("GET list page tag=news", "get", f"{entry}?limit=20&tag=news", expect=200)
    _, page_asc = counted(
        "GET list page sort=published_at", "get", f"{entry}?limit=20&sort=published_at", expect=200
    )
    _, page_next = counted(
        "GET list page 2 (cursor)", "get", f"{entry}?limit=20&cursor={cursor}", expect=200
    )
    _, page_scheduled = counted(
        "GET list sort=title, scheduled entry in range",
        "get",
        f"/v1/content/{AGENDA}?limit=20&sort=title",
        expect=200,
    )
    delivery_calls = [
        get_cached,
        get_fresh,
        get_304,
        page_default,
        page_title,
        page_tag,
        page_asc,
        page_next,
    ]

    # --- warm: management ---------------------------------------------------------------------
    counted(
        "management GET entry (admin key)", "get", f"{manage}/entry-000", expect=200, headers=ADMIN
    )
    counted(
        "management GET entry (scoped API key)",
        "get",
        f"{manage}/entry-000",
        expect=200,
        headers=reader_auth,
    )
    counted("management GET editors' list", "get", f"{manage}?limit=20", expect=200, headers=ADMIN)
    counted(
        f"management GET editors' list ?status=failed&limit=10 ({ENTRIES} drafts, 0 failed)",
        "get",
        f"{manage}?status=failed&limit=10",
        expect=200,
        headers=ADMIN,
    )
    response, _ = counted(
        "POST create entry",
        "post",
        manage,
        expect=201,
        headers=JSON_ADMIN,
        body=json.dumps(
            {"front_matter": {"title": "Created", "tags": ["news"]}, "body": "# Hi\n\nNew."}
        ),
    )
    created_etag = response.headers.get("ETag", "")
    counted(
        "PATCH entry (If-Match)",
        "patch",
        f"{manage}/created",
        expect=200,
        headers={**JSON_ADMIN, "If-Match": created_etag},
        body=json.dumps({"body": "# Hi\n\nEdited."}),
    )
    counted(
        "POST publish",
        "post",
        f"{manage}/created/publish",
        expect=200,
        headers=JSON_ADMIN,
        body="{}",
    )
    render_events = stage.render_counted()  # create, patch, publish: three object events
    if http.get(f"{entry}/created").status_code != 200:  # the events really rendered it
        failures.append("the created entry is not delivered after its render events")
    counted(
        "POST unpublish",
        "post",
        f"{manage}/created/unpublish",
        expect=200,
        headers=JSON_ADMIN,
        body="{}",
    )
    stage.send_removal(f"published/{COLLECTION}/created.md")
    removal_events = stage.render_counted()
    if http.get(f"{entry}/created").status_code != 404:
        failures.append("the unpublished entry is still delivered")
    counted("DELETE entry", "delete", f"{manage}/created", expect=204, headers=ADMIN)
    stage.send_removal(f"content/{COLLECTION}/created.md")
    delete_events = stage.render_counted()

    media_events = measure_media(stage, http, counted, failures)
    http.get("/v1/sync?limit=50")  # the epoch, read once per container for first pages
    response, sync_first = counted(
        "GET /v1/sync (first page, 50)", "get", "/v1/sync?limit=50", expect=200
    )
    sync_cursor = json.loads(response.body)["next_cursor"]
    _, sync_next = counted(
        "GET /v1/sync (next page)", "get", f"/v1/sync?limit=50&cursor={sync_cursor}", expect=200
    )

    for label, calls in rows:
        if not label.startswith("cold"):
            print(f"    {label:<62} {total(calls):2d} calls: {describe(calls)}")
    events = [(f"render {what}", c) for what, c in render_events]
    events += [(f"render {what} (synthesized)", c) for what, c in removal_events + delete_events]
    events += [(f"thumbnails {what}", c) for what, c in media_events]
    for label, calls in events:
        print(
            f"    {label:<62} {total(calls, 'S3', 'DynamoDB', 'SSM'):2d} calls: {describe(calls)}"
        )

    # --- targets ------------------------------------------------------------------------
    print()
    worst_get = max(total(c) for c in (get_cached, get_fresh, get_304))
    print(
        verdict(
            worst_get <= 2,
            f"GET entry by slug: {total(get_cached)} call(s) body cached, {total(get_fresh)} on "
            f"the first read of a slug, {total(get_304)} for a 304; target <= 2",
        )
    )
    pages = {
        "newest first": page_default,
        "title": page_title,
        "tag": page_tag,
        "oldest first": page_asc,
        "cursor page": page_next,
    }
    pages_ok = all(
        c[("DynamoDB", "Query")] == 1 and total(c, "DynamoDB") == 1 and total(c, "S3") == 0
        for c in pages.values()
    )
    print(
        verdict(
            pages_ok,
            "delivery list page: "
            + ", ".join(
                f"{k} {c[('DynamoDB', 'Query')]} Query/{total(c, 'S3')} S3"
                for k, c in pages.items()
            )
            + "; target exactly 1 DynamoDB Query and 0 S3 calls",
        )
    )
    print(
        f"  (info) sort=title with a scheduled entry among the first 21 by title: "
        f"{page_scheduled[('DynamoDB', 'Query')]} Queries (the FilterExpression drops it after "
        "the read, so the page is topped up by another Query)"
    )
    ssm = sum(total(c, "SSM") for c in delivery_calls)
    print(verdict(ssm == 0, f"SSM calls on the warm delivery requests: {ssm}; target 0"))
    rendered = [total(c, "S3", "DynamoDB", "SSM") for _, c in render_events]
    print(
        verdict(
            bool(rendered) and max(rendered) <= 4,
            f"render event (S3 + DynamoDB + SSM calls of the handler, {len(rendered)} "
            f"create/edit/publish events): {', '.join(map(str, rendered))}; target <= 4",
        )
    )
    sync_ok = sync_first[("DynamoDB", "Query")] == 1 and total(sync_first) == 1
    sync_ok = sync_ok and sync_next[("DynamoDB", "Query")] == 1
    sync_ok = sync_ok and sync_next[("DynamoDB", "GetItem")] == 1 and total(sync_next) == 2
    print(
        verdict(
            sync_ok,
            f"change feed page: {describe(sync_first)}; next page: {describe(sync_next)};"
            " target one DynamoDB Query per page, and with a cursor one consistent GetItem of"
            " the epoch (a rebuild by another container must end old cursors at once)",
        )
    )
    if failures:
        print(f"FAIL: unexpected responses: {failures}")
        return 1
    return 0


def measure_media(
    stage: Stage, http: Any, counted: Callable[..., Any], failures: list[str]
) -> list[tuple[str, Counter[tuple[str, str]]]]:
    """Media (reported, no target): a direct upload, its thumbnail event, the public asset and
    an entry whose HTML refers to it (one BatchGetItem for all its images)."""
    import io as _io

    from PIL import Image

    picture = _io.BytesIO()
    Image.new("RGB", (1600, 1000), (40, 120, 200)).save(picture, "JPEG")
    response, _ = counted(
        "POST media (direct upload, 1600 x 1000 JPEG)",
        "post",
        "/v1/manage/media?alt=Bench",
        expect=201,
        headers={**ADMIN, "Content-Type": "image/jpeg"},
        body=picture.getvalue(),
    )
    media_id = json.loads(response.body)["id"]
    media_events = stage.render_counted()  # the same handler code the thumbnails function runs
    with stage.api_only():
        http.post(
            f"/v1/manage/content/{COLLECTION}",
            headers=JSON_ADMIN,
            body=json.dumps(
                {"front_matter": {"title": "Pictured"}, "body": f"![x](media:{media_id})"}
            ),
        )
    stage.pump()
    http.post(f"/v1/manage/content/{COLLECTION}/pictured/publish", headers=JSON_ADMIN, body="{}")
    stage.pump()
    http.get(f"/v1/media/{media_id}")
    http.get(f"/v1/content/{COLLECTION}/pictured")
    counted("GET /v1/media/{id} (presigned URLs)", "get", f"/v1/media/{media_id}", expect=200)
    response, _ = counted(
        "GET entry with one image (HTML cached)",
        "get",
        f"/v1/content/{COLLECTION}/pictured",
        expect=200,
    )
    if "<picture>" not in json.loads(response.body)["html"]:
        failures.append("the entry's image was not resolved to a <picture>")
    return media_events


if __name__ == "__main__":
    sys.exit(main())
