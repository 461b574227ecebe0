"""Bad input everywhere: a clear 4xx problem+json, never a 500, and nothing stored is touched.

Every test that sends a bad write first seeds an entry (``blog/hello-world``, published) and
snapshots everything observable about the store; after the bad requests it compares the
snapshot byte for byte.

Path parameters are sent two ways. ``chalice.test.Client`` passes them through exactly as
written (it does not percent-decode, and it drops raw CR/LF/TAB from the URL), so
``/blog/a%2Fb`` arrives as the literal ``a%2Fb``. API Gateway percent-decodes path
parameters, so in production the app sees ``a/b``, a NUL or a newline. ``gateway()`` below
builds that API Gateway proxy event by hand and calls the app directly, so decoded values are
tested too.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.local import LambdaContext
from chalice.test import Client

from chalicelib import wiring
from tests.conftest import ADMIN, JSON_ADMIN, Api, FrozenClock, problem

BLOG = "/v1/manage/content/blog"
ENTRY = f"{BLOG}/hello-world"
DRAFT_KEY = "content/blog/hello-world.md"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
BAD_STATUSES = {400, 404, 422}


# --- helpers -------------------------------------------------------------------------------


class Guard:
    """Everything a client or the store can see, captured so a later state can be compared."""

    def __init__(self, api: Api, container: wiring.Container) -> None:
        self.api = api
        self.container = container
        self.before = self.state()

    def state(self) -> dict[str, Any]:
        api, objects = self.api, self.container.backend.objects
        entry = api.call("GET", ENTRY)
        assert entry.status_code == 200, entry.body
        return {
            "entry": entry.body,
            "etag": entry.headers["ETag"],
            "revisions": api.call("GET", f"{ENTRY}/revisions").body,
            "drafts": api.call("GET", BLOG).body,
            "collections": api.call("GET", "/v1/manage/collections").body,
            "delivery": api.call("GET", "/v1/content/blog/hello-world", auth=False).body,
            "delivery_list": api.call("GET", "/v1/content/blog", auth=False).body,
            "object": objects.get(DRAFT_KEY).data,
            "objects": [(o.key, o.etag, o.version_id) for o in objects.list_objects("")],
            "config": self.container.backend.config.list(""),
        }

    def assert_intact(self) -> None:
        after = self.state()
        for name, value in self.before.items():
            assert after[name] == value, f"{name} changed after a rejected request"


def seed(api: Api, container: wiring.Container) -> Guard:
    container.backend.clock = FrozenClock()
    api.collection("blog")
    api.entry("blog", body="# Original\n\nKeep *me* intact.", title="Hello world", tags=["keep"])
    api.publish("blog", "hello-world")
    return Guard(api, container)


@pytest.fixture
def guard(api: Api, container: wiring.Container) -> Guard:
    return seed(api, container)


@pytest.fixture
def build(data_dir: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Build the app's container after setting env (limits are read when it is built)."""

    def _build(**env: Any) -> tuple[Api, wiring.Container]:
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        wiring.reset()
        container = wiring.container()
        from app import app

        return Api(Client(app, stage_name="local")), container

    yield _build
    wiring.reset()


def assert_problem(response: Any, statuses: set[int] | int) -> dict[str, Any]:
    wanted = {statuses} if isinstance(statuses, int) else statuses
    assert response.status_code in wanted, (response.status_code, response.body)
    body = problem(response)
    assert_clean_headers(response.headers)
    return body


def assert_clean_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        assert not CONTROL.search(str(name)), name
        assert not CONTROL.search(str(value)), (name, value)


def field_errors(body: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["code"] for e in body["errors"]}


class GatewayResponse:
    """A Lambda proxy response shaped like chalice.test's response."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.status_code = raw["statusCode"]
        self.headers = dict(raw.get("headers") or {})
        for name, values in (raw.get("multiValueHeaders") or {}).items():
            self.headers[name] = ", ".join(values)
        body = raw.get("body") or ""
        self.body = body.encode() if isinstance(body, str) else body


def gateway(
    method: str,
    resource: str,
    params: dict[str, str],
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
) -> GatewayResponse:
    """Call the app with the event API Gateway sends: path parameters percent-DEcoded."""
    from app import app

    path = resource.format(**{k: urllib.parse.quote(v, safe="") for k, v in params.items()})
    all_headers = {**ADMIN, **(headers or {})}
    raw = body
    if body is not None and not isinstance(body, str):
        raw = json.dumps(body)
        all_headers.setdefault("Content-Type", "application/json")
    event = {
        "requestContext": {
            "httpMethod": method,
            "resourcePath": resource,
            "identity": {"sourceIp": "127.0.0.1"},
            "path": path,
        },
        "headers": {k.lower(): v for k, v in all_headers.items()},
        "pathParameters": params,
        "stageVariables": {},
        "multiValueQueryStringParameters": None,
        "body": raw,
        "isBase64Encoded": False,
    }
    return GatewayResponse(app(event, LambdaContext("api_handler", 256)))


def fill(route: str, collection: str, slug: str | None = None) -> dict[str, str]:
    """Path parameters for a route template (collections routes call the name ``name``)."""
    params = {"collection": collection, "name": collection}
    if slug is not None:
        params["slug"] = slug
    return {k: v for k, v in params.items() if "{" + k + "}" in route}


# Every route that takes a collection and a slug, with a body that would be valid.
VALID_ENTRY = {"front_matter": {"title": "Replaced"}, "body": "replaced"}
SLUG_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/manage/content/{collection}/{slug}", None),
    ("PUT", "/v1/manage/content/{collection}/{slug}", VALID_ENTRY),
    ("PATCH", "/v1/manage/content/{collection}/{slug}", {"body": "patched"}),
    ("DELETE", "/v1/manage/content/{collection}/{slug}", None),
    ("POST", "/v1/manage/content/{collection}/{slug}/publish", {}),
    ("POST", "/v1/manage/content/{collection}/{slug}/unpublish", None),
    ("GET", "/v1/manage/content/{collection}/{slug}/revisions", None),
    ("GET", "/v1/content/{collection}/{slug}", None),
]
COLLECTION_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/v1/manage/collections/{name}", None),
    ("PUT", "/v1/manage/collections/{name}", {"title": "X"}),
    ("DELETE", "/v1/manage/collections/{name}", None),
    ("POST", "/v1/manage/content/{collection}", VALID_ENTRY),
    ("GET", "/v1/manage/content/{collection}", None),
    ("GET", "/v1/content/{collection}", None),
]


# --- malformed and mistyped bodies ---------------------------------------------------------

JSON_WRITES = [
    ("POST", BLOG),
    ("PUT", ENTRY),
    ("PATCH", ENTRY),
    ("PUT", "/v1/manage/collections/blog"),
    ("POST", "/v1/manage/keys"),
    ("POST", f"{ENTRY}/publish"),
]


@pytest.mark.parametrize(
    "raw",
    [
        '{"front_matter": {"title": "x"}',
        "{'single': 'quotes'}",
        '{"a": 1,}',
        "not json at all",
        '{"a": "unterminated}',
        "{}{}",
    ],
)
def test_malformed_json_is_400(api, guard, raw):
    for method, path in JSON_WRITES:
        response = api.call(method, path, raw, headers={"Content-Type": "application/json"})
        body = assert_problem(response, 400)
        assert body["detail"].startswith("Malformed JSON"), (method, path, body)
        assert "line 1" in body["detail"]
    guard.assert_intact()


def test_empty_json_body_where_one_is_needed_is_400(api, guard):
    for method, path in JSON_WRITES[:5]:
        response = api.call(method, path, "  ", headers={"Content-Type": "application/json"})
        body = assert_problem(response, 400)
        assert "JSON body" in body["detail"]
    guard.assert_intact()


def test_json_that_is_not_utf8_is_400(api, guard):
    for method, path in JSON_WRITES:
        response = api.call(
            method, path, b'{"title": "\xff\xfe"}', headers={"Content-Type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert "UTF-8" in body["detail"]
    guard.assert_intact()


@pytest.mark.parametrize("raw", ["[]", '[{"front_matter": {}}]', '"text"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_422(api, guard, raw):
    for method, path in JSON_WRITES:
        response = api.call(method, path, raw, headers={"Content-Type": "application/json"})
        body = assert_problem(response, 422)
        assert body["errors"] == [{"field": "", "message": "must be an object", "code": "type"}]
    guard.assert_intact()


def test_deeply_nested_json_is_a_4xx(api, guard):
    raw = '{"front_matter": {"title": "deep", "n": ' + "[" * 5000 + "]" * 5000 + "}}"
    response = api.call("PUT", ENTRY, raw, headers={"Content-Type": "application/json"})
    assert_problem(response, {400, 413, 422})
    guard.assert_intact()


def test_json_integer_with_too_many_digits_is_a_4xx(api, guard):
    raw = '{"front_matter": {"title": "big", "n": 1' + "0" * 5000 + "}}"
    response = api.call("PUT", ENTRY, raw, headers={"Content-Type": "application/json"})
    assert_problem(response, {400, 422})
    guard.assert_intact()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/xml",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "text/html",
        "image/png",
    ],
)
def test_wrong_content_type_is_415(api, guard, content_type):
    bodies = {
        "application/xml": "<entry><title>x</title></entry>",
        "multipart/form-data; boundary=xyz": '--xyz\r\nContent-Disposition: form-data; name="f"'
        "\r\n\r\nvalue\r\n--xyz--\r\n",
        "application/x-www-form-urlencoded": "title=x&body=y",
        "text/html": "<p>x</p>",
        "image/png": "\x89PNG",
    }
    for method, path in [*JSON_WRITES, ("POST", f"{ENTRY}/unpublish")]:
        response = api.call(
            method, path, bodies[content_type], headers={"Content-Type": content_type}
        )
        body = assert_problem(response, 415)
        assert body["type"].endswith("unsupported-media-type")
    guard.assert_intact()


def test_markdown_is_refused_where_only_json_is_taken(api, guard):
    doc = "---\ntitle: Sneaky\n---\nbody"
    for method, path in [
        ("PATCH", ENTRY),
        ("PUT", "/v1/manage/collections/blog"),
        ("POST", "/v1/manage/keys"),
        ("POST", f"{ENTRY}/publish"),
    ]:
        response = api.call(method, path, doc, headers={"Content-Type": "text/markdown"})
        assert_problem(response, 415)
    guard.assert_intact()


# --- size limits ---------------------------------------------------------------------------


def test_body_over_a_small_limit_is_413(build):
    api, container = build(CMS_MAX_BODY_BYTES=2048)
    guard = seed(api, container)
    big = {"front_matter": {"title": "Too big"}, "body": "x" * 3000}
    for method, path in [("POST", BLOG), ("PUT", ENTRY), ("PATCH", ENTRY)]:
        body = assert_problem(api.call(method, path, big), 413)
        assert body["limit"] == 2048
        assert "2048" in body["detail"]
    doc = "---\ntitle: Too big\n---\n" + "y" * 3000
    for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
        response = api.call(method, path, doc, headers={"Content-Type": "text/markdown"})
        assert_problem(response, 413)
    spec = {"title": "Blog", "description": "d" * 1900, "fields": {"x": {"type": "string"}}}
    spec["fields"].update({f"f{i}": {"type": "text", "description": "z" * 100} for i in range(3)})
    assert_problem(api.call("PUT", "/v1/manage/collections/blog", spec), 413)
    assert_problem(api.call("POST", "/v1/manage/keys", {"name": "n" * 3000, "scopes": []}), 413)
    guard.assert_intact()
    # just under the limit is fine
    fits = {"front_matter": {"title": "Fits"}, "body": "x" * 1900}
    assert len(json.dumps(fits)) <= 2048
    assert api.call("POST", BLOG, fits).status_code == 201


def test_declared_content_length_over_the_limit_is_413(build):
    api, container = build(CMS_MAX_BODY_BYTES=1024)
    guard = seed(api, container)
    response = api.call(
        "PUT", ENTRY, {"front_matter": {"title": "small"}}, headers={"Content-Length": "999999"}
    )
    assert_problem(response, 413)
    # a Content-Length that is not an ASCII integer is ignored; the real size counts
    for declared in ["²", "-5", "abc"]:
        response = api.call(
            "PUT",
            ENTRY,
            "x" * 2000,
            headers={"Content-Type": "application/json", "Content-Length": declared},
        )
        assert_problem(response, 413)
    guard.assert_intact()


def test_body_over_the_default_one_mebibyte_is_413(api, guard, container):
    assert container.limits.max_body_bytes == 1024 * 1024
    big = {"front_matter": {"title": "Huge"}, "body": "x" * (1024 * 1024)}
    for method, path in [("POST", BLOG), ("PUT", ENTRY), ("PATCH", ENTRY)]:
        body = assert_problem(api.call(method, path, big), 413)
        assert body["limit"] == 1024 * 1024
    doc = "---\ntitle: Huge\n---\n" + "y" * (1024 * 1024 + 1)
    response = api.call("PUT", ENTRY, doc, headers={"Content-Type": "text/markdown"})
    assert_problem(response, 413)
    guard.assert_intact()


def test_markdown_over_a_small_limit_is_413(build):
    api, container = build(CMS_MAX_MARKDOWN_BYTES=100)
    guard = seed(api, container)  # its body is under 100 bytes
    for text in ["x" * 101, "é" * 51]:  # 51 characters are 102 bytes: the limit is in bytes
        for method, path, payload in [
            ("POST", BLOG, {"front_matter": {"title": "Long"}, "body": text}),
            ("PUT", ENTRY, {"front_matter": {"title": "Long"}, "body": text}),
            ("PATCH", ENTRY, {"body": text}),
        ]:
            body = assert_problem(api.call(method, path, payload), 413)
            assert body["limit"] == 100
        doc = f"---\ntitle: Long\n---\n{text}"
        response = api.call("PUT", ENTRY, doc, headers={"Content-Type": "text/markdown"})
        assert_problem(response, 413)
    guard.assert_intact()
    created = api.json(
        "POST", BLOG, {"front_matter": {"title": "Exact"}, "body": "x" * 100}, expect=201
    )
    assert created["body"] == "x" * 100


def test_markdown_over_the_default_limit_is_413_even_when_the_request_fits(api, guard, container):
    limit = container.limits.max_markdown_bytes
    assert limit < container.limits.max_body_bytes
    payload = {"front_matter": {"title": "Long"}, "body": "m" * (limit + 1)}
    body = assert_problem(api.call("PUT", ENTRY, payload), 413)
    assert body["limit"] == limit
    guard.assert_intact()


# --- Markdown documents and their front matter ---------------------------------------------


@pytest.mark.parametrize(
    ("doc", "line"),
    [
        ("---\ntitle: Fine\nkey: value: other\n---\nbody", 3),
        ("---\ntitle: Fine\nsummary: [unclosed\n---\nbody", 3),
        ("---\ntitle: Fine\nauthor: me\n\tbad: tab\n---\nbody", 4),
        ('---\ntitle: "unterminated\n---\nbody', 2),
        ("\ufeff---\ntitle: Fine\nx: @at\n---\nbody", 3),
    ],
)
def test_invalid_yaml_front_matter_is_422_naming_the_line(api, guard, doc, line):
    for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
        response = api.call(method, path, doc.encode(), headers={"Content-Type": "text/markdown"})
        body = assert_problem(response, 422)
        [error] = body["errors"]
        assert error["field"] == "front_matter"
        assert error["code"] == "invalid-yaml"
        assert f"line {line}," in error["message"], error["message"]
    guard.assert_intact()


def test_unclosed_front_matter_is_422(api, guard):
    for doc in ["---\ntitle: Never closed\n\nBody text.", "---\r\ntitle: crlf\r\n", "---"]:
        for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
            response = api.call(method, path, doc, headers={"Content-Type": "text/markdown"})
            body = assert_problem(response, 422)
            assert body["errors"][0]["code"] == "unclosed-front-matter"
    guard.assert_intact()


@pytest.mark.parametrize(
    "yaml_text", ["- a\n- b", "just a string", "42", "1: numeric key", "[title, x]"]
)
def test_front_matter_that_is_not_a_mapping_is_422(api, guard, yaml_text):
    doc = f"---\n{yaml_text}\n---\nbody"
    for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
        response = api.call(method, path, doc, headers={"Content-Type": "text/markdown"})
        body = assert_problem(response, 422)
        assert body["errors"][0] == {
            "field": "front_matter",
            "message": "The front matter must be a YAML mapping of names to values.",
            "code": "not-a-mapping",
        }
    guard.assert_intact()


def test_yaml_python_tags_are_refused_not_executed(api, guard, tmp_path):
    marker = tmp_path / "pwned"
    doc = f"---\ntitle: Evil\nx: !!python/object/apply:os.system ['touch {marker}']\n---\nbody"
    response = api.call("PUT", ENTRY, doc, headers={"Content-Type": "text/markdown"})
    body = assert_problem(response, 422)
    assert body["errors"][0]["code"] == "invalid-yaml"
    assert not marker.exists()
    guard.assert_intact()


def test_yaml_binary_value_is_a_4xx(api, guard):
    doc = "---\ntitle: Binary\nblob: !!binary /w==\n---\nbody"
    response = api.call("PUT", ENTRY, doc, headers={"Content-Type": "text/markdown"})
    assert_problem(response, 422)
    guard.assert_intact()


def test_deeply_nested_yaml_is_a_4xx(api, guard):
    doc = "---\ntitle: Deep\nn: " + "[" * 3000 + "]" * 3000 + "\n---\nbody"
    response = api.call("PUT", ENTRY, doc, headers={"Content-Type": "text/markdown"})
    assert_problem(response, {413, 422})
    guard.assert_intact()


def test_markdown_that_is_not_utf8_is_400(api, guard):
    for raw in [b"---\ntitle: \xff\n---\nbody", b"---\ntitle: ok\n---\n\xc3\x28", b"\xfe\xff"]:
        for content_type in ["text/markdown", "text/markdown; charset=utf-8", "text/plain"]:
            for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
                response = api.call(method, path, raw, headers={"Content-Type": content_type})
                body = assert_problem(response, 400)
                assert "UTF-8" in body["detail"]
    guard.assert_intact()


# --- names in the path ---------------------------------------------------------------------

LITERAL_BAD_NAMES = [
    "..",
    "%2e%2e",
    "%2E%2E",
    "a%2Fb",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "a%00b",
    "a%0Ab",
    "a%1Fb",
    "a\x00b",
    "a\x1fb",
    "a\x7fb",
    "UPPER",
    "Hello-World",
    "has%20space",
    "has space",
    "x" * 121,
    "a.b",
    "-a",
    "é",
]
SLUG_ONLY_BAD = ["a--b", "a_b", "trailing-"]  # fine as collection names or not, bad as slugs


@pytest.mark.parametrize("name", LITERAL_BAD_NAMES + SLUG_ONLY_BAD, ids=repr)
def test_bad_names_in_the_path_are_4xx_as_sent_by_the_test_client(api, guard, name):
    for method, route, payload in SLUG_ROUTES:
        path = route.format(collection="blog", slug=name)
        response = api.call(method, path, payload, auth="/manage/" in route)
        body = assert_problem(response, BAD_STATUSES)
        assert "Traceback" not in body["detail"]
    if name in SLUG_ONLY_BAD:
        guard.assert_intact()
        return
    for method, route, payload in COLLECTION_ROUTES:
        path = route.format(**fill(route, name))
        response = api.call(method, path, payload, auth="/manage/" in route)
        assert_problem(response, BAD_STATUSES)
    guard.assert_intact()


DECODED_BAD_NAMES = [
    "..",
    ".",
    "a/b",
    "../../etc/passwd",
    "/abs",
    "a\\b",
    "a\x00b",
    "\x00",
    "a\nb",
    "\nhello-world",
    "x\r\nSet-Cookie: pwned=1",
    "a\tb",
    "a\x1fb",
    "a\x7fb",
    "UPPER",
    "has space",
    " hello-world",
    "x" * 121,
    "é",
    "hello world",
]
TRAILING_NEWLINE = pytest.param(
    "hello-world\n",
    id="'hello-world\\n'",
)


@pytest.mark.parametrize("name", [*DECODED_BAD_NAMES, TRAILING_NEWLINE], ids=repr)
def test_bad_names_decoded_by_api_gateway_are_4xx(api, guard, name):
    for method, route, payload in [
        *SLUG_ROUTES,
        ("POST", "/v1/manage/content/{collection}/{slug}/revisions/{revision}/restore", None),
    ]:
        params = {"collection": "blog", "slug": name}
        if "{revision}" in route:
            params["revision"] = "abc"
        response = gateway(method, route, params, payload)
        assert_problem(response, BAD_STATUSES)
    for method, route, payload in COLLECTION_ROUTES:
        response = gateway(method, route, fill(route, name), payload)
        assert_problem(response, BAD_STATUSES)
    guard.assert_intact()


def test_path_values_never_echo_control_characters_into_headers(api, guard):
    injected = "x\r\nSet-Cookie: pwned=1\r\nX-Injected: yes"
    cases = [(m, r, p, fill(r, "blog", injected)) for m, r, p in SLUG_ROUTES]
    cases += [(m, r, p, fill(r, injected)) for m, r, p in COLLECTION_ROUTES]
    for method, route, payload, values in cases:
        response = gateway(method, route, values, payload)
        assert response.status_code in BAD_STATUSES
        assert_clean_headers(response.headers)
        lowered = {k.lower() for k in response.headers}
        assert "set-cookie" not in lowered
        assert "x-injected" not in lowered
    response = gateway("DELETE", "/v1/manage/keys/{key_id}", {"key_id": injected})
    assert_problem(response, 404)
    # A created entry's Location comes from a validated slug, whatever the title holds.
    created = api.call("POST", BLOG, {"front_matter": {"title": "Line\nbreak\x1fand\x00nul"}})
    assert created.status_code == 201, created.body
    assert_clean_headers(created.headers)
    assert created.headers["Location"] == f"{BLOG}/line-break-and-nul"


def test_a_long_slug_of_exactly_120_characters_is_fine_and_121_is_not(api, guard):
    ok = "a" * 120
    assert api.call("PUT", f"{BLOG}/{ok}", VALID_ENTRY).status_code == 201
    assert_problem(api.call("PUT", f"{BLOG}/{ok}a", VALID_ENTRY), 422)
    body = assert_problem(api.call("GET", f"{BLOG}/{ok}a"), 422)
    assert "120" in body["detail"]


# --- names in the body ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug",
    ["..", "a//b", "../x", "/a", "a/", "a\x00b", "a\x1fb", "UPPER", "has space", "x" * 121, ""],
)
def test_bad_paths_in_the_body_are_422(api, guard, slug):
    response = api.call("POST", BLOG, {"slug": slug, "front_matter": {"title": "x"}, "body": ""})
    body = assert_problem(response, 422)
    assert "slug" in field_errors(body)
    doc = "---\ntitle: Body slug\n---\nbody"
    response = api.call(
        "POST",
        f"{BLOG}?slug={urllib.parse.quote(slug)}",
        doc,
        headers={"Content-Type": "text/markdown"},
    )
    assert "slug" in field_errors(assert_problem(response, 422))
    guard.assert_intact()


@pytest.mark.parametrize("slug", [5, [], {"a": 1}, True])
def test_a_front_matter_slug_that_is_not_text_is_422(api, guard, slug):
    fm = {"title": "Body slug", "slug": slug}
    body = assert_problem(api.call("POST", BLOG, {"front_matter": fm, "body": ""}), 422)
    assert "front_matter.slug" in field_errors(body)
    guard.assert_intact()


def test_a_file_and_a_path_that_disagree_are_422(api, guard):
    entry = {"file": "docs/Intro.md", "slug": "docs/other", "front_matter": {"title": "x"}}
    body = assert_problem(api.call("POST", BLOG, entry), 422)
    assert body["errors"][0]["code"] == "slug-mismatch"
    guard.assert_intact()


@pytest.mark.parametrize("target", ["..", "a/b", "Blog", "has space", "a\x00b", "", "x" * 65])
def test_bad_collection_names_in_a_schema_body_are_422(api, guard, target):
    spec = {"fields": {"ref": {"type": "reference", "collection": target}}}
    body = assert_problem(api.call("PUT", "/v1/manage/collections/other", spec), 422)
    assert body["errors"][0]["field"] == "fields.ref"
    assert_problem(api.call("GET", "/v1/manage/collections/other"), 404)
    guard.assert_intact()


# --- unknown things ------------------------------------------------------------------------


def test_unknown_collection_is_404(api, guard):
    for method, path, payload, auth in [
        ("GET", "/v1/manage/collections/nope", None, True),
        ("DELETE", "/v1/manage/collections/nope", None, True),
        ("GET", "/v1/manage/content/nope", None, True),
        ("POST", "/v1/manage/content/nope", VALID_ENTRY, True),
        ("GET", "/v1/manage/content/nope/hello-world", None, True),
        ("PUT", "/v1/manage/content/nope/hello-world", VALID_ENTRY, True),
        ("PATCH", "/v1/manage/content/nope/hello-world", {"body": "x"}, True),
        ("DELETE", "/v1/manage/content/nope/hello-world", None, True),
        ("POST", "/v1/manage/content/nope/hello-world/publish", None, True),
        ("GET", "/v1/manage/content/nope/hello-world/revisions", None, True),
        ("GET", "/v1/content/nope", None, False),
        ("GET", "/v1/content/nope/hello-world", None, False),
    ]:
        body = assert_problem(api.call(method, path, payload, auth=auth), 404)
        assert "nope" in body["detail"], (method, path)
    assert_problem(api.call("GET", "/v1/manage/collections/nope"), 404)  # nothing was created
    guard.assert_intact()


def test_unknown_entry_is_404(api, guard):
    for method, path, payload in [
        ("GET", f"{BLOG}/missing", None),
        ("PATCH", f"{BLOG}/missing", {"body": "x"}),
        ("DELETE", f"{BLOG}/missing", None),
        ("POST", f"{BLOG}/missing/publish", None),
        ("GET", f"{BLOG}/missing/revisions", None),
    ]:
        assert_problem(api.call(method, path, payload), 404)
    guard.assert_intact()


def test_unknown_top_level_fields_in_an_entry_are_422(api, guard):
    payload = {"front_matter": {"title": "x"}, "body": "y", "title": "z", "extra": 1}
    for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
        body = assert_problem(api.call(method, path, payload), 422)
        assert field_errors(body) == {"extra": "unknown-field", "title": "unknown-field"}
    guard.assert_intact()


@pytest.mark.parametrize("front_matter", [[], ["title"], "title: x", 5, True])
def test_front_matter_that_is_not_an_object_is_422(api, guard, front_matter):
    for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
        body = assert_problem(api.call(method, path, {"front_matter": front_matter}), 422)
        assert field_errors(body) == {"front_matter": "type"}
    guard.assert_intact()


@pytest.mark.parametrize("text", [5, None, ["a"], {"a": 1}, True])
def test_body_that_is_not_a_string_is_422(api, guard, text):
    payload = {"front_matter": {"title": "x"}, "body": text}
    for method, path in [("POST", BLOG), ("PUT", ENTRY), ("PATCH", ENTRY)]:
        if method == "PATCH":
            payload = {"body": text}
            if text is None:
                continue  # PATCH: a null body means "keep the body"
        body = assert_problem(api.call(method, path, payload), 422)
        assert field_errors(body) == {"body": "type"}
    guard.assert_intact()


def test_several_entry_errors_are_reported_together(api, guard):
    payload = {"front_matter": "nope", "body": 5, "bogus": True}
    body = assert_problem(api.call("POST", BLOG, payload), 422)
    assert field_errors(body) == {
        "bogus": "unknown-field",
        "front_matter": "type",
        "body": "type",
    }
    fm = {"tags": 7, "published_at": "soon", "summary": 3, "title": ""}
    body = assert_problem(api.call("PUT", ENTRY, {"front_matter": fm}), 422)
    assert set(field_errors(body)) == {
        "front_matter.title",
        "front_matter.tags",
        "front_matter.published_at",
        "front_matter.summary",
    }
    guard.assert_intact()


# --- front matter fields -------------------------------------------------------------------


@pytest.mark.parametrize("fm", [{}, {"summary": "no title"}, {"title": None}])
def test_a_new_entry_without_a_path_needs_a_title(api, guard, fm):
    """With no path, slug or file to name it, a new entry is named after its title; where
    the path is given, the title falls back to the file name."""
    body = assert_problem(api.call("POST", BLOG, {"front_matter": fm, "body": "b"}), 422)
    assert body["errors"] == [
        {"field": "front_matter.title", "message": "Field required", "code": "missing"}
    ]
    doc = "---\nsummary: no title here\n---\nbody"
    response = api.call("POST", BLOG, doc, headers={"Content-Type": "text/markdown"})
    assert field_errors(assert_problem(response, 422)) == {"front_matter.title": "missing"}
    guard.assert_intact()
    response = api.call(
        "POST", f"{BLOG}?slug=untitled", doc, headers={"Content-Type": "text/markdown"}
    )
    assert response.status_code == 201, response.body
    assert api.json("GET", f"{BLOG}/untitled")["title"] == "Untitled"


@pytest.mark.parametrize("title", ["", "   ", True, ["x"], {"a": 1}, "t" * 301])
def test_bad_title_is_422(api, guard, title):
    body = assert_problem(api.call("PUT", ENTRY, {"front_matter": {"title": title}}), 422)
    assert "front_matter.title" in field_errors(body)
    guard.assert_intact()


def test_a_numeric_title_is_its_text(api, guard):
    """Real sites have `title: 404` (YAML reads a number): taken as the text it shows."""
    response = api.call("PUT", ENTRY, {"front_matter": {"title": 404}})
    assert response.status_code == 200, response.body
    assert api.json("GET", ENTRY)["title"] == "404"


def test_a_title_with_no_letters_needs_an_explicit_slug(api, guard):
    body = assert_problem(api.call("POST", BLOG, {"front_matter": {"title": "!!! ???"}}), 422)
    assert body["errors"][0]["field"] == "slug"
    guard.assert_intact()


@pytest.mark.parametrize(
    "tags",
    [
        {"a": 1},
        7,
        [True],
        ["ok", None],
        ["x" * 65],
        ["a\x00b"],
        ["bell\x07"],
        [""],
        ["   "],
        [f"t{i}" for i in range(51)],
    ],
    ids=lambda t: repr(t)[:30],
)
def test_bad_tags_are_422(api, guard, tags):
    for method, path, payload in [
        ("POST", BLOG, {"front_matter": {"title": "Tagged", "tags": tags}}),
        ("PUT", ENTRY, {"front_matter": {"title": "Tagged", "tags": tags}}),
        ("PATCH", ENTRY, {"front_matter": {"tags": tags}}),
    ]:
        body = assert_problem(api.call(method, path, payload), 422)
        assert field_errors(body) == {"front_matter.tags": "value_error"}
    guard.assert_intact()


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2025-13-01",
        "2025-02-30",
        "2025-06-01T25:00:00Z",
        "2025-06-01T12:00:00+25:00",
        "",
        12345,
        1.5,
        True,
        [],
        {"date": "2025-06-01"},
    ],
    ids=repr,
)
def test_bad_published_at_is_422(api, guard, value):
    for field in ("published_at", "updated_at"):
        payload = {"front_matter": {"title": "Dated", field: value}}
        for method, path in [("POST", BLOG), ("PUT", ENTRY)]:
            body = assert_problem(api.call(method, path, payload), 422)
            assert field_errors(body) == {f"front_matter.{field}": "value_error"}
    guard.assert_intact()


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("9999-12-31T23:59:59-01:00"),
        pytest.param("0001-01-01T00:00:00+01:00"),
    ],
)
def test_published_at_out_of_range_after_utc_conversion_is_422(api, guard, value):
    payload = {"front_matter": {"title": "Dated", "published_at": value}}
    body = assert_problem(api.call("PUT", ENTRY, payload), 422)
    assert field_errors(body) == {"front_matter.published_at": "value_error"}
    guard.assert_intact()


def test_unknown_fields_in_patch_are_400(api, guard):
    for payload in [{"title": "x"}, {"front_matter": {}, "slug": "x"}, {"etag": "x"}]:
        body = assert_problem(api.call("PATCH", ENTRY, payload), 400)
        assert "Unknown field" in body["detail"]
    guard.assert_intact()


@pytest.mark.parametrize(
    "front_matter",
    [
        ["title"],
        "title: x",
        5,
        pytest.param(0),
        pytest.param([]),
        pytest.param(""),
        pytest.param(False),
    ],
    ids=repr,
)
def test_patch_front_matter_that_is_not_an_object_is_422(api, guard, front_matter):
    response = api.call("PATCH", ENTRY, {"front_matter": front_matter})
    body = assert_problem(response, 422)
    assert field_errors(body) == {"front_matter": "type"}
    guard.assert_intact()


# --- publishing, revisions -----------------------------------------------------------------


@pytest.mark.parametrize(
    "publish_at", ["tomorrow", "2025-13-01T00:00:00Z", "", 5, True, [], {"at": "x"}], ids=repr
)
def test_publish_at_that_is_not_a_date_is_422(api, guard, publish_at):
    body = assert_problem(api.call("POST", f"{ENTRY}/publish", {"publish_at": publish_at}), 422)
    assert body["errors"][0]["field"] == "publish_at"
    guard.assert_intact()


def test_publish_at_out_of_range_is_422(api, guard):
    body = assert_problem(
        api.call("POST", f"{ENTRY}/publish", {"publish_at": "9999-12-31T23:59:59-05:00"}), 422
    )
    assert body["errors"][0]["field"] == "publish_at"
    guard.assert_intact()


def test_unknown_fields_in_publish_are_400(api, guard):
    body = assert_problem(api.call("POST", f"{ENTRY}/publish", {"when": "now"}), 400)
    assert "when" in body["detail"]
    guard.assert_intact()


@pytest.mark.parametrize(
    ("revision", "status"),
    [
        ("garbage", 404),
        ("00000000000000000000000000000000", 404),
        ("..", 404),
        ("a" * 1025, 400),
        ("..%2F..", 400),
        ("a%00b", 400),
        ("has space", 400),
        ("a\x00b", 400),
    ],
    ids=lambda v: repr(v)[:20],
)
def test_restore_with_a_garbage_revision_is_4xx(api, guard, revision, status):
    response = api.call("POST", f"{ENTRY}/revisions/{revision}/restore")
    body = assert_problem(response, status)
    if status == 400:
        assert body["parameter"] == "revision"
    guard.assert_intact()


@pytest.mark.parametrize("revision", ["../../x", "a/b", "a\nb", "\x00", "x\r\nX-Injected: 1"])
def test_restore_with_a_decoded_garbage_revision_is_4xx(api, guard, revision):
    route = "/v1/manage/content/{collection}/{slug}/revisions/{revision}/restore"
    params = {"collection": "blog", "slug": "hello-world", "revision": revision}
    assert_problem(gateway("POST", route, params), {400, 404})
    guard.assert_intact()


def test_restore_with_a_revision_of_another_entry_is_404(api, guard):
    other = api.entry("blog", title="Other entry")
    guard.before = guard.state()
    response = api.call("POST", f"{ENTRY}/revisions/{other['revision']}/restore")
    assert_problem(response, 404)
    guard.assert_intact()


# --- routes and methods --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/content/blog", {"GET"}),
        ("POST", "/v1/content/blog/hello-world", {"GET"}),
        ("PUT", "/v1/content/blog/hello-world", {"GET"}),
        ("PATCH", BLOG, {"GET", "POST"}),
        ("PUT", "/v1/manage/collections", {"GET"}),
        ("POST", "/v1/manage/collections/blog", {"GET", "PUT", "DELETE"}),
        ("GET", f"{ENTRY}/publish", {"POST"}),
        ("DELETE", "/health", {"GET"}),
        ("PUT", "/v1/manage/keys", {"GET", "POST"}),
    ],
)
def test_unsupported_method_is_405_problem_with_allow(api, guard, method, path, allowed):
    response = api.call(method, path, "{}", headers={"Content-Type": "application/json"})
    body = assert_problem(response, 405)
    assert method in body["detail"]
    allow = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allow == allowed
    guard.assert_intact()


# --- query parameters ----------------------------------------------------------------------


def _published_page(api: Api) -> dict[str, Any]:
    api.entry("blog", title="Second post")
    api.publish("blog", "second-post")
    page = api.json("GET", "/v1/content/blog?limit=1", auth=False)
    assert len(page["items"]) == 1 and page["next_cursor"]
    return page


def test_bad_cursor_is_400(api, guard):
    cursor = _published_page(api)["next_cursor"]
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for value in [
        "garbage",
        "!!!not-base64!!!",
        "%00",
        tampered,
        cursor[5:],
        "A" * 3000,
        "eyJhIjoxfQ",  # base64url of a JSON object, but unsigned
    ]:
        query = urllib.parse.urlencode({"limit": 1, "cursor": value})
        body = assert_problem(api.call("GET", f"/v1/content/blog?{query}", auth=False), 400)
        assert body["parameter"] == "cursor"
    for other in ["sort=title", "sort=published_at", "tag=keep"]:
        response = api.call("GET", f"/v1/content/blog?limit=1&{other}&cursor={cursor}", auth=False)
        body = assert_problem(response, 400)
        assert body["parameter"] == "cursor"
    page2 = api.json("GET", f"/v1/content/blog?limit=1&cursor={cursor}", auth=False)
    assert len(page2["items"]) == 1


@pytest.mark.parametrize(
    "limit",
    [
        "0",
        "101",
        "-1",
        "abc",
        "1.5",
        "1e2",
        "%201",
        "9" * 30,
        "+5",
        "²",
        "\uff11\uff10",  # full-width "10"
    ],
)
def test_limit_out_of_range_is_400(api, guard, limit):
    body = assert_problem(api.call("GET", f"/v1/content/blog?limit={limit}", auth=False), 400)
    assert body["parameter"] == "limit"
    body = assert_problem(api.call("GET", f"{BLOG}?limit={limit}"), 400)
    assert body["parameter"] == "limit"


def test_other_bad_query_parameters_are_4xx(api, guard):
    for query, status in [
        ("sort=bogus", 400),
        ("sort=-title", 400),
        ("bogus=1", 400),
        ("tag=" + "x" * 65, 400),
        ("tag=%00", 400),
    ]:
        assert_problem(api.call("GET", f"/v1/content/blog?{query}", auth=False), status)
    for query in ["status=bogus", "after=..", "after=UPPER", "after=a%2F%2Fb", "section=..%2Fx"]:
        assert_problem(api.call("GET", f"{BLOG}?{query}"), {400, 422})


def test_a_query_parameter_sent_twice_is_400(api, guard):
    for path, name in [
        ("/v1/content/blog?limit=1&limit=2", "limit"),
        (f"{BLOG}?limit=5&limit=", "limit"),  # which one: 5, or the default?
        ("/v1/sync?cursor=&cursor=x", "cursor"),
        ("/v1/manage/media?tag=a&tag=b", "tag"),
        ("/v1/manage/webhooks/deliveries?limit=1&limit=1", "limit"),
    ]:
        body = assert_problem(api.call("GET", path), 400)
        assert body["parameters"] == [name], path
    guard.assert_intact()


def test_unknown_fields_in_redrive_are_400(api, guard):
    redrive = "/v1/manage/events/dead-letters/redrive"
    body = assert_problem(api.call("POST", redrive, {"ids": None, "all": True}), 400)
    assert "all" in body["detail"]
    assert api.json("POST", redrive, {"ids": []}) == {"redriven": 0}
    guard.assert_intact()


# --- no trace, no 500, no write on any of the above ---------------------------------------


def test_problem_bodies_never_carry_a_trace_or_internal_paths(api, guard):
    responses = [
        api.call("POST", BLOG, "{bad", headers={"Content-Type": "application/json"}),
        api.call("PUT", ENTRY, b"\xff", headers={"Content-Type": "text/markdown"}),
        api.call("GET", f"{BLOG}/..%2F..%2Fsecret"),
        api.call("GET", "/v1/content/blog?cursor=zzz", auth=False),
    ]
    for response in responses:
        body = assert_problem(response, {400, 422})
        text = json.dumps(body)
        assert 'File "' not in text
        assert ".py" not in text
        assert "/work/" not in text and "/tmp/" not in text
    assert (
        JSON_ADMIN["Authorization"].split()[1] not in b"".join(r.body for r in responses).decode()
    )
    guard.assert_intact()


def _keyed_write_routes() -> list[tuple[str, str]]:
    from app import app

    return sorted(
        (method, path)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if path.startswith("/v1/manage/") and entry.content_types and method != "GET"
    )


@pytest.mark.parametrize(("method", "path"), _keyed_write_routes())
def test_authentication_comes_before_content_negotiation(api, method, path):
    """A caller without a key learns that first (401), not which types a route takes (415)."""
    concrete = re.sub(r"\{[^}]+\}", "x", path)
    odd = {"Content-Type": "application/x-unheard-of"}
    anonymous = api.call(method, concrete, b"<x/>", headers=odd, auth=False)
    assert anonymous.status_code == 401, (method, path, anonymous.body)
    assert problem(anonymous)["status"] == 401
    bad_key = api.call(
        method, concrete, b"<x/>", headers={**odd, "Authorization": "Bearer nope"}, auth=False
    )
    assert bad_key.status_code == 401
    keyed = api.call(method, concrete, b"<x/>", headers=odd)
    assert keyed.status_code == 415, (method, path, keyed.body)
    assert problem(keyed)["status"] == 415
