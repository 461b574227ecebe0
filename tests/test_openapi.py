"""GET /openapi.json is a valid OpenAPI 3.1 document of every route, generated from the route
table, and GET /docs shows it; the table of route descriptions cannot drift from the app."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.app import RouteEntry
from chalice.test import Client
from openapi_spec_validator import validate

from chalicelib.api.openapi_routes import ROUTES
from chalicelib.api.openapi_spec import build, operation_id, problem_statuses
from chalicelib.api.problems import PROBLEM_TYPE

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
    assert entry["text/markdown"]["schema"]["type"] == "string"
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
    assert query["limit"]["maximum"] == 100
    assert query["sort"]["enum"] == ["-published_at", "published_at", "title"]


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
