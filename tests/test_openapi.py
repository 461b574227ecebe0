"""GET /openapi.json is a valid OpenAPI 3.1 document of every route, generated from the route
table, and GET /docs shows it; the table of route descriptions cannot drift from the app."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.app import RouteEntry
from chalice.test import Client
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from chalicelib.api.openapi_routes import ROUTES
from chalicelib.api.openapi_spec import build, operation_id, problem_statuses
from chalicelib.api.problems import PROBLEM_TYPE
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.media import validate_resource_path
from chalicelib.domain.names import normalize_tag, validate_collection_name
from chalicelib.domain.paths import from_url, validate_section

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")


@pytest.fixture
def app() -> Chalice:
    from app import app  # at run time, as the other tests do: never at collection

    return app


@pytest.fixture
def client(app: Chalice, data_dir: Path) -> Any:
    with Client(app, stage_name="local") as c:
        yield c


@pytest.fixture
def spec(client: Any) -> dict[str, Any]:
    response = client.http.get("/openapi.json", headers={"Host": "cms.example.test"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1.")
    validate(spec)  # openapi-spec-validator: the 3.1 meta-schema and every $ref
    assert spec["servers"] == [{"url": "/"}]  # never from the Host header (a public body)


def test_every_route_of_the_app_is_in_the_document_and_described(app: Chalice) -> None:
    routes = {(m, p) for p, methods in app.routes.items() for m in methods}
    documented = set(ROUTES)
    assert routes - documented == set(), "routes missing from chalicelib/api/openapi_routes.py"
    assert documented - routes == set(), "described operations that are no longer routes"
    spec = build(app.routes)
    in_document = {(m, p) for m, p, _ in _operations(spec)}
    assert in_document == routes
    assert all(op["tags"] != ["undocumented"] for _, _, op in _operations(spec))


def test_a_route_added_later_still_appears_and_a_stale_description_does_not(
    app: Chalice,
) -> None:
    routes = {path: dict(methods) for path, methods in app.routes.items()}
    health = routes.pop("/health")["GET"]
    new_path = "/v1/brand-new/{thing}"
    routes[new_path] = {"POST": RouteEntry(health.view_function, "new", new_path, "POST")}
    spec = build(routes)
    assert "/health" not in spec["paths"]
    new = spec["paths"]["/v1/brand-new/{thing}"]["post"]
    assert new["tags"] == ["undocumented"]
    assert new["parameters"][0]["name"] == "thing"
    validate({**spec, "servers": [{"url": "http://x"}]})


def test_operation_ids_are_unique_and_path_parameters_match_the_route_table(
    app: Chalice, spec: dict[str, Any]
) -> None:
    ids = [op["operationId"] for _, _, op in _operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, op in _operations(spec):
        entry = app.routes[path][method]
        assert op["operationId"] == operation_id(entry)
        names = [p["name"] for p in op.get("parameters", []) if p.get("in") == "path"]
        assert names == entry.view_args == re.findall(r"{(\w+)}", path)


def test_every_operation_documents_its_problem_responses(spec: dict[str, Any]) -> None:
    responses = spec["components"]["responses"]
    for method, path, op in _operations(spec):
        problems = {
            int(status)
            for status, response in op["responses"].items()
            if "$ref" in response
            and PROBLEM_TYPE in responses[response["$ref"].rsplit("/", 1)[1]]["content"]
        }
        assert any(400 <= s < 500 for s in problems), (method, path)
        assert 503 in problems, (method, path)
        assert problems == set(problem_statuses(ROUTES[(method, path)]))
        if path.startswith("/v1/manage/"):
            assert {401, 403} <= problems, (method, path)
            assert op["security"] == [{"bearer": []}]
            assert op["x-required-scope"] in (
                "content:read",
                "content:write",
                "media:read",
                "media:write",
                "admin",
            )
        else:
            assert op["security"] == []
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    assert "errors" in problem["properties"]


def test_request_bodies_follow_the_routes_content_types(app: Chalice, spec: dict[str, Any]) -> None:
    for method, path, op in _operations(spec):
        entry = app.routes[path][method]
        body = op.get("requestBody")
        if body is not None:
            assert list(body["content"]) == entry.content_types, (method, path)
    upload = spec["paths"]["/v1/manage/media"]["post"]["requestBody"]["content"]
    assert "image/png" in upload and "application/json" not in upload
    form = spec["paths"]["/v1/uploads"]["post"]["requestBody"]["content"]
    assert list(form) == ["multipart/form-data"]
    entry = spec["paths"]["/v1/manage/content/{collection}"]["post"]["requestBody"]["content"]
    assert entry["application/json"]["schema"] == {"$ref": "#/components/schemas/NewEntryInput"}
    markdown = entry["text/markdown"]["schema"]  # any text is a Markdown document
    assert "type" not in markdown and "Markdown" in markdown["description"]
    files = spec["paths"]["/v1/media/{media_id}/files/{name}"]["get"]["responses"]
    assert {"image/webp", "application/pdf"} <= set(files["200"]["content"])


def test_delivery_entries_are_documented_with_their_fields_and_validators(
    spec: dict[str, Any],
) -> None:
    op = spec["paths"]["/v1/content/{collection}/{slug}"]["get"]
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Entry"
    }
    assert set(op["responses"]["200"]["headers"]) == {"ETag", "Cache-Control"}
    assert "304" in op["responses"]
    assert {"$ref": "#/components/parameters/If-None-Match"} in op["parameters"]
    entry = spec["components"]["schemas"]["Entry"]
    assert {"html", "toc", "excerpt", "reading_time_minutes", "front_matter"} <= set(
        entry["required"]
    )
    listing = spec["paths"]["/v1/content/{collection}"]["get"]
    query = {p["name"]: p["schema"] for p in listing["parameters"] if p["in"] == "query"}
    assert query["limit"]["anyOf"][0]["maximum"] == 100  # or empty: the default
    assert query["sort"]["anyOf"][0]["enum"] == ["-published_at", "published_at", "title"]


def test_the_document_is_built_once_and_only_on_demand(client: Any) -> None:
    first = client.http.get("/openapi.json").body
    assert client.http.get("/openapi.json").body == first


def test_docs_is_a_self_contained_page_of_the_document(client: Any, spec: dict[str, Any]) -> None:
    response = client.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode("utf-8")
    assert page.startswith("<!doctype html>")
    assert 'href="openapi.json"' in page  # it links the document it renders
    assert "<script" not in page
    assert not re.search(r"(src|href)=\"https?://", page)  # no CDN, nothing remote
    for method, path, op in _operations(spec):
        assert f'id="op-{op["operationId"]}"' in page
        assert f'<span class="m {method}">{method}</span>{path}' in page
    for name in spec["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert "content:write" in page and "application/problem+json" in page
    assert 'Then: <a href="#op-management.get_collection">GetCollection</a>' in page  # links


# --- the document states what the server enforces (schemathesis checks it end to end) -------


def _parameter(spec: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    operation = spec["paths"][path][method.lower()]
    return next(p["schema"] for p in operation["parameters"] if p.get("name") == name)


def _accepts(validate: Callable[[str], object], value: str) -> bool:
    try:
        validate(value)
    except (ValidationFailed, ValueError):
        return False
    return True


PATHS = ["a", "a-b", "_index", "a~_index", "x" * 120, "x" * 121, "a~" + "b" * 121, "a~~b", "~a"]
PATHS += ["A", "a-", "a--b", "~".join("a" * 10), "~".join("a" * 11), "_index~a", "a/b", "é"]
SECTIONS = ["a", "a/b", "a~b", "/a/", "~a~", "a//b", "a/_index", "_index", "x" * 121, "a b"]
TAGS = ["a", " a ", "A  B", "", " ", "\x1c", "\x85", "a\x01", "a\tb", "x" * 64, "x" * 65]
RESOURCE_PATHS = ["a.png", "a/b.png", "ü/ñ.png", "/a", "a//b", ".h", "a/.h", "a/..", "a\\b"]
RESOURCE_PATHS += ["a\x01", "a\x85b", "x" * 600]


@pytest.mark.parametrize(
    ("method", "path", "name", "validate", "values"),
    [
        ("GET", "/v1/content/{collection}/{slug}", "slug", from_url, PATHS),
        ("GET", "/v1/manage/content/{collection}", "section", validate_section, SECTIONS),
        ("GET", "/v1/content/{collection}", "tag", normalize_tag, TAGS),
        ("GET", "/v1/manage/media", "collection", validate_collection_name, ["a", "a_b", "-a"]),
        ("POST", "/v1/manage/media", "path", validate_resource_path, RESOURCE_PATHS),
    ],
    ids=lambda v: v if isinstance(v, str) and v.startswith("/") else None,
)
def test_a_parameter_is_valid_exactly_when_the_server_takes_it(
    spec: dict[str, Any],
    method: str,
    path: str,
    name: str,
    validate: Callable[[str], object],
    values: list[str],
) -> None:
    validator = Draft202012Validator(_parameter(spec, method, path, name))
    for value in values:
        assert validator.is_valid(value) == _accepts(validate, value), (name, value)


def test_cursors_page_sizes_and_orders_are_documented_as_the_server_reads_them(
    spec: dict[str, Any],
) -> None:
    for path in ("/v1/content/{collection}", "/v1/sync", "/v1/manage/media"):
        cursor = Draft202012Validator(_parameter(spec, "GET", path, "cursor"))
        assert cursor.is_valid("") and cursor.is_valid("AbC-_09")  # empty: the first page
        assert not cursor.is_valid("a+b") and not cursor.is_valid("x" * 2049)
        limit = Draft202012Validator(_parameter(spec, "GET", path, "limit"))
        assert limit.is_valid(1) and limit.is_valid("") and not limit.is_valid(0)
        assert 400 in {int(s) for s in spec["paths"][path]["get"]["responses"]}
    sort = Draft202012Validator(_parameter(spec, "GET", "/v1/content/{collection}", "sort"))
    assert sort.is_valid("title") and sort.is_valid("") and not sort.is_valid("-title")


def _body_validator(spec: dict[str, Any], model: str) -> Draft202012Validator:
    """A validator of one request model, its $refs resolved in the document."""
    return Draft202012Validator(
        {**spec["components"]["schemas"][model], "components": spec["components"]}
    )


def test_a_new_entry_needs_a_path_or_a_title_and_a_document_goes_alone(
    spec: dict[str, Any],
) -> None:
    new_entry = _body_validator(spec, "NewEntryInput")
    for body in (
        {"front_matter": {"title": "Hello"}},
        {"front_matter": {"slug": "hello"}, "body": ""},
        {"slug": "docs/intro", "front_matter": {}},
        {"file": "docs/Intro.md"},
        {"document": "---\ntitle: Hello\n---\n"},
        {"document": None, "front_matter": {"title": "Hello"}},
    ):
        assert new_entry.is_valid(body), body
    for body in (
        {},
        {"front_matter": {"title": "  "}},
        {"front_matter": None, "slug": "a"},
        {"body": None, "slug": "a"},
        {"document": "x", "body": ""},
        {"slug": "A"},
        {"file": "intro.txt"},
    ):
        assert not new_entry.is_valid(body), body


def test_request_bodies_state_which_fields_go_together(spec: dict[str, Any]) -> None:
    upload = _body_validator(spec, "MediaUploadRequest")
    assert upload.is_valid({"content_type": "image/png", "collection": None})
    assert upload.is_valid({"content_type": "image/png", "collection": "blog", "path": "a.png"})
    assert not upload.is_valid({"content_type": "image/png", "collection": "blog"})
    assert not upload.is_valid({"content_type": "image/png", "sha256": "0" * 64})
    assert not upload.is_valid({"content_type": "text/html"})
    assert not upload.is_valid({"content_type": "image/png", "bytes": 50 * 1024 * 1024 + 1})
    fields = _body_validator(spec, "CollectionInput")
    assert fields.is_valid({"fields": {"kind": {"type": "enum", "values": ["a"]}}})
    assert not fields.is_valid({"fields": {"kind": {"type": "enum"}}})
    assert not fields.is_valid({"fields": {"kind": {"type": "number", "max_length": 5}}})
    assert not fields.is_valid({"fields": {"title": {"type": "string"}}})  # a built-in field
    settings = _body_validator(spec, "SettingsInput")
    assert settings.is_valid({"base_url": "https://example.test/site", "api_url": ""})
    assert not settings.is_valid({"base_url": "https://example.test/?q"})
    assert not settings.is_valid({"entry_url": "{base_url}/{id}"})


def test_responses_link_to_what_reads_changes_or_deletes_what_they_made(
    spec: dict[str, Any],
) -> None:
    ids = {op["operationId"] for _, _, op in _operations(spec)}
    links = {
        (method, path, status): response["links"]
        for method, path, op in _operations(spec)
        for status, response in op["responses"].items()
        if "links" in response
    }
    assert {link["operationId"] for found in links.values() for link in found.values()} <= ids
    created = links[("PUT", "/v1/manage/collections/{name}", "201")]
    assert created["GetCollection"]["parameters"] == {"name": "$request.path.name"}
    media = links[("POST", "/v1/manage/media/uploads", "201")]
    assert media["DeleteMedia"]["parameters"]["header.If-Match"] == "$response.header.ETag"
    deletes = {
        key
        for key, found in links.items()
        for link in found.values()
        if link["operationId"].startswith(("management.delete", "media.delete", "admin.revoke"))
    }
    assert {status for _, _, status in deletes} == {"201"}  # only what the request made
