"""The OpenAPI 3.1 document, generated from the Chalice route table and ``openapi_routes``.

Paths, methods, path parameters and request content types come from the route table, so
a route added to a blueprint appears here at once (as a bare operation until it is
described in ``openapi_routes.ROUTES``); operations of the table that are no longer routes
are left out. Schemas are the pydantic models' own JSON Schema (2020-12, which OpenAPI 3.1
uses as is), collected under ``components/schemas``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import schemas
from .openapi_routes import OTHER_TYPES, PATH_PARAMS, ROUTES, Body, Op, Param, Reply, Schema
from .problems import PROBLEM_TYPE

JSON = "application/json"
REF = "#/components/schemas/{model}"
METHOD_ORDER = ("GET", "PUT", "POST", "PATCH", "DELETE")

PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "Bad request: malformed JSON, an unknown or bad query parameter ..."),
    401: ("Unauthorized", "No valid API key (send 'Authorization: Bearer <key>')."),
    403: ("Forbidden", "The key lacks the scope this operation needs."),
    404: ("NotFound", "There is no such resource."),
    409: ("Conflict", "The request conflicts with the current state."),
    410: ("Gone", "The cursor outlived the data it pointed into."),
    412: ("PreconditionFailed", "If-Match does not match the current ETag."),
    413: ("PayloadTooLarge", "The body (or the Markdown in it) is over its limit."),
    415: ("UnsupportedMediaType", "A Content-Type (or a file type) this operation does not take."),
    422: ("ValidationFailed", "The input is invalid; `errors` lists each field."),
    503: ("ServiceUnavailable", "The storage backend is unavailable; retry after Retry-After."),
}
HEADERS: dict[str, Schema] = {
    "ETag": {"description": "The entity tag, for If-Match / If-None-Match."},
    "Cache-Control": {"description": "How long a cache may keep the response."},
    "Location": {"description": "The URL of the created (or redirected-to) resource."},
    "Retry-After": {"description": "Seconds to wait before retrying."},
    "WWW-Authenticate": {"description": "The Bearer challenge."},
    "X-CMS-File": {"description": "The entry's source file in its collection, percent-encoded."},
}
PARAMETERS: dict[str, Schema] = {
    "If-Match": {
        "name": "If-Match",
        "in": "header",
        "description": "Apply only if the resource's current ETag is this one (else 412).",
        "schema": {"type": "string"},
    },
    "If-None-Match": {
        "name": "If-None-Match",
        "in": "header",
        "description": "An ETag the client holds: 304 Not Modified if it is current.",
        "schema": {"type": "string"},
    },
}


class RouteEntry(Protocol):
    """What the spec needs of ``chalice.app.RouteEntry``."""

    view_function: Any
    view_args: list[str]
    content_types: list[str]


Routes = Mapping[str, Mapping[str, RouteEntry]]


class _Models:
    """Collects the pydantic models the operations use, for one components/schemas."""

    def __init__(self) -> None:
        self.used: dict[tuple[type[BaseModel], str], None] = {}

    def ref(self, model: type[BaseModel], mode: str) -> Schema:
        self.used[(model, mode)] = None
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def schemas(self) -> dict[str, Schema]:
        pairs = list(self.used)
        refs, top = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]
        for (model, _mode), ref in refs.items():  # names must be what ref() promised
            if ref["$ref"] != REF.format(model=model.__name__):
                raise ValueError(f"two schemas are named {model.__name__}: rename one")
        return dict(sorted(top.get("$defs", {}).items()))


def _param(param: Param, where: str) -> Schema:
    spec: Schema = {"name": param.name, "in": where, "schema": copy.deepcopy(param.schema)}
    if param.description:
        spec["description"] = param.description
    if param.required or where == "path":
        spec["required"] = True
    return spec


def _body(body: Body, content_types: list[str], models: _Models) -> Schema:
    content: dict[str, Schema] = {}
    for media_type in content_types or [JSON]:
        if media_type == JSON and body.model is not None:
            content[media_type] = {"schema": models.ref(body.model, "validation")}
        elif media_type in body.other or OTHER_TYPES in body.other:
            schema = body.other.get(media_type, body.other.get(OTHER_TYPES))
            content[media_type] = {"schema": copy.deepcopy(schema)} if schema else {}
    spec: Schema = {"required": body.required, "content": content}
    if body.description:
        spec["description"] = body.description
    return spec


def _reply(reply: Reply, models: _Models) -> Schema:
    spec: Schema = {"description": reply.description}
    if reply.headers:
        spec["headers"] = {h: {"$ref": f"#/components/headers/{h}"} for h in reply.headers}
    if reply.model is not None:
        spec["content"] = {JSON: {"schema": models.ref(reply.model, "serialization")}}
    elif reply.content:
        spec["content"] = {
            t: {"schema": copy.deepcopy(v)} if v else {} for t, v in reply.content.items()
        }
    return spec


def problem_statuses(op: Op) -> list[int]:
    """Chalice answers 415 to a Content-Type a route does not list, even on a GET."""
    statuses = set(op.errors) | {415, 503}
    if op.scope is not None:
        statuses |= {401, 403}
    return sorted(statuses)


def operation_id(entry: RouteEntry) -> str:
    view = entry.view_function
    return f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"


def _operation(entry: RouteEntry, op: Op, models: _Models) -> Schema:
    params = [
        _param(op.path.get(a) or PATH_PARAMS.get(a) or Param(a, {}), "path")
        for a in entry.view_args
    ]
    params += [_param(p, "query") for p in op.query]
    params += [{"$ref": f"#/components/parameters/{h}"} for h in op.headers]
    responses: dict[str, Schema] = {str(k): _reply(v, models) for k, v in op.replies.items()}
    for status in problem_statuses(op):
        responses[str(status)] = {"$ref": f"#/components/responses/{PROBLEMS[status][0]}"}
    spec: Schema = {
        "operationId": operation_id(entry),
        "summary": op.summary,
        "tags": [op.tag],
        "security": [{"bearer": []}] if op.scope else [],
        "responses": dict(sorted(responses.items())),
    }
    description = op.description
    if op.scope:
        spec["x-required-scope"] = op.scope
        description = f"Requires the `{op.scope}` scope. {description}".strip()
    if description:
        spec["description"] = description
    if params:
        spec["parameters"] = params
    if op.body is not None:
        spec["requestBody"] = _body(op.body, entry.content_types, models)
    return spec


def undocumented(entry: RouteEntry) -> Op:
    """A route missing from ROUTES still appears, so the document covers every route."""
    doc = (entry.view_function.__doc__ or "").strip().split("\n")[0]
    return Op(doc or entry.view_function.__name__, "undocumented", {200: Reply("Success.")}, (400,))


def _components(models: _Models) -> Schema:
    problem = models.ref(schemas.Problem, "serialization")
    responses = {
        name: {"description": text, "content": {PROBLEM_TYPE: {"schema": problem}}}
        for name, text in PROBLEMS.values()
    }
    responses["Unauthorized"]["headers"] = {
        "WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}
    }
    responses["ServiceUnavailable"]["headers"] = {
        "Retry-After": {"$ref": "#/components/headers/Retry-After"}
    }
    return {
        "schemas": models.schemas(),
        "responses": responses,
        "parameters": copy.deepcopy(PARAMETERS),
        "headers": {name: {**doc, "schema": {"type": "string"}} for name, doc in HEADERS.items()},
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key: CMS_ADMIN_KEY, or one made by POST /v1/manage/keys.",
            }
        },
    }


INFO = {
    "title": "Headless CMS",
    "version": "1",
    "description": "Delivery (public, read-only: published entries, media, feeds, the change "
    "feed) and management (editors and admins, with scoped API keys). Every error is "
    "application/problem+json (RFC 9457).",
}
TAGS = [
    {"name": "delivery", "description": "Published content for sites; no key needed."},
    {"name": "content", "description": "Collections, drafts, publishing, revisions."},
    {"name": "media", "description": "Uploads and media assets."},
    {"name": "admin", "description": "Keys, settings, webhooks, the index and its events."},
    {"name": "meta", "description": "Health and this documentation."},
]


def build(routes: Routes, table: Mapping[tuple[str, str], Op] = ROUTES) -> dict[str, Any]:
    """The whole document, without ``servers`` (the caller knows the request's origin)."""
    models = _Models()
    paths: dict[str, Schema] = {}
    for path in sorted(routes):
        methods = routes[path]
        order = sorted(methods, key=lambda m: (*METHOD_ORDER, m).index(m))
        paths[path] = {
            method.lower(): _operation(
                methods[method],
                table.get((method, path)) or undocumented(methods[method]),
                models,
            )
            for method in order
        }
    components = _components(models)  # after the operations: it lists the models they used
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "tags": TAGS,
        "paths": paths,
        "components": components,
    }
