"""The OpenAPI 3.1 document, generated from the Chalice route table and ``openapi_routes``.

Paths, methods, path parameters and request content types come from the route table, so
a route added to a blueprint appears here at once (as a bare operation until it is
described in ``openapi_routes.ROUTES``); operations of the table that are no longer routes
are left out. Schemas are the pydantic models' own JSON Schema (2020-12, which OpenAPI 3.1
uses as is), collected under ``components/schemas``.

The document states what the server enforces (tests/test_schemathesis.py checks it both
ways): parameters get the rules of the domain's validators (``RULES``), every error status a
route can answer is listed, and responses link to the operations that read, change or delete
what they made (``LINKS``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..domain.cursors import MAX_CURSOR_LENGTH
from ..domain.limits import Limits
from ..domain.media import MAX_ALT, MAX_CAPTION
from ..domain.names import COLLECTION_RE
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
    "Content-Security-Policy": {"description": "What the page may load and run."},
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


# --- what the server's validators enforce, where openapi_routes says less -------------------
# A parameter name means one thing across the API, so each rule is stated once (from the
# domain's own constants, in ``schemas``): ``RULES`` for every operation that shares the
# parameter, ``OPERATION_RULES`` for one operation's own.

RULES: dict[tuple[str, str], Schema] = {
    ("path", "collection"): schemas.COLLECTION_NAME,
    ("path", "name"): schemas.COLLECTION_NAME,
    ("path", "slug"): schemas.entry_path("~"),
    ("query", "slug"): schemas.entry_path("/~"),
    ("query", "after"): schemas.entry_path("/~"),
    ("query", "section"): schemas.section(),
    ("query", "collection"): schemas.COLLECTION_NAME,
    ("query", "tag"): schemas.TAG,
    ("query", "cursor"): {
        "type": "string",
        "pattern": "^[A-Za-z0-9_-]*$",
        "maxLength": MAX_CURSOR_LENGTH,
        "description": "Opaque and signed: only a next_cursor this server made is accepted "
        "(else 400). Empty: the first page.",
    },
}
# 'limit=' and 'sort=' are the defaults (domain.limits.parse_page_size, services.delivery)
EMPTY_IS_DEFAULT = {("query", "limit"), ("query", "sort")}
_COLLECTION = COLLECTION_RE.pattern.strip("^$")
OPERATION_RULES: dict[tuple[str, str], dict[tuple[str, str], Schema]] = {
    ("GET", "/v1/feeds/{name}"): {
        ("path", "name"): {"type": "string", "pattern": f"^{_COLLECTION}\\.xml$"},
    },
    ("POST", "/v1/manage/media"): {  # domain.media.validate_edits and validate_resource_path
        ("query", "filename"): {"type": "string", "description": "Kept printable, cut to 255."},
        ("query", "alt"): {"type": "string", "maxLength": MAX_ALT, "pattern": schemas.NO_NUL},
        ("query", "caption"): {
            "type": "string",
            "maxLength": MAX_CAPTION,
            "pattern": schemas.NO_NUL,
        },
        ("query", "tags"): schemas.TAGS_TEXT,
        ("query", "path"): schemas.RESOURCE_PATH,
    },
}


# --- links: what a response names, for the next request (clients, stateful testing) -----------
# A new entry's links are its Location header: its path has '/' where its URL has '~', which no
# runtime expression can rewrite. Only a 201 links to a DELETE (never what was there before).

Target = tuple[str, str, dict[str, str]]  # method, path, parameters (runtime expressions)
_NEW_COLLECTION = {"collection": "$request.path.name"}
_ENTRY = {"collection": "$request.path.collection", "slug": "$request.path.slug"}
_ENTRY_ETAG = {**_ENTRY, "header.If-Match": "$response.header.ETag"}
_ENTRY_PATH = "/v1/manage/content/{collection}/{slug}"
_ENTRY_LINKS: dict[str, Target] = {
    "GetDraft": ("GET", _ENTRY_PATH, _ENTRY),
    "GetSource": ("GET", f"{_ENTRY_PATH}/source", _ENTRY),
    "PatchDraft": ("PATCH", _ENTRY_PATH, _ENTRY_ETAG),
    "Publish": ("POST", f"{_ENTRY_PATH}/publish", _ENTRY_ETAG),
    "ListRevisions": ("GET", f"{_ENTRY_PATH}/revisions", _ENTRY),
}
_MEDIA = {"media_id": "$response.body#/id"}
_MEDIA_ETAG = {**_MEDIA, "header.If-Match": "$response.header.ETag"}
_MEDIA_LINKS: dict[str, Target] = {
    "GetMedia": ("GET", "/v1/manage/media/{media_id}", _MEDIA),
    "EditMedia": ("PATCH", "/v1/manage/media/{media_id}", _MEDIA_ETAG),
    "DeleteMedia": ("DELETE", "/v1/manage/media/{media_id}", _MEDIA_ETAG),
}
_DELIVERY = "/v1/manage/webhooks/deliveries/{delivery_id}"
LINKS: dict[tuple[str, str, int], dict[str, Target]] = {
    ("PUT", "/v1/manage/collections/{name}", 201): {
        "GetCollection": ("GET", "/v1/manage/collections/{name}", {"name": "$request.path.name"}),
        "CreateEntry": ("POST", "/v1/manage/content/{collection}", _NEW_COLLECTION),
        "ListDrafts": ("GET", "/v1/manage/content/{collection}", _NEW_COLLECTION),
        "GetFeed": ("GET", "/v1/feeds/{name}", {"name": "{$request.path.name}.xml"}),
        "DeleteCollection": (
            "DELETE",
            "/v1/manage/collections/{name}",
            {"name": "$request.path.name"},
        ),
    },
    ("PUT", _ENTRY_PATH, 200): _ENTRY_LINKS,
    ("PUT", _ENTRY_PATH, 201): {
        **_ENTRY_LINKS,
        "DeleteEntry": ("DELETE", _ENTRY_PATH, _ENTRY_ETAG),
    },
    ("GET", f"{_ENTRY_PATH}/revisions", 200): {
        "Restore": (
            "POST",
            f"{_ENTRY_PATH}/revisions/{{revision}}/restore",
            {**_ENTRY, "revision": "$response.body#/items/0/revision"},
        ),
    },
    ("POST", "/v1/manage/media", 201): {
        **_MEDIA_LINKS,
        "GetOriginal": ("GET", "/v1/manage/media/{media_id}/original", _MEDIA),
    },
    ("POST", "/v1/manage/media/uploads", 201): _MEDIA_LINKS,
    ("GET", "/v1/manage/webhooks/deliveries", 200): {
        "GetDelivery": ("GET", _DELIVERY, {"delivery_id": "$response.body#/items/0/id"}),
        "Replay": ("POST", f"{_DELIVERY}/replay", {"delivery_id": "$response.body#/items/0/id"}),
    },
    ("POST", f"{_DELIVERY}/replay", 202): {
        "GetDelivery": ("GET", _DELIVERY, {"delivery_id": "$response.body#/id"}),
    },
    ("POST", "/v1/manage/keys", 201): {
        "RevokeKey": ("DELETE", "/v1/manage/keys/{key_id}", {"key_id": "$response.body#/id"}),
    },
}


def _add_links(paths: dict[str, Schema], routes: Routes) -> None:
    """LINKS whose operations are routes (by operationId), on their responses."""
    for (method, path, status), links in LINKS.items():
        response = paths.get(path, {}).get(method.lower(), {}).get("responses", {}).get(str(status))
        targets = {
            name: {"operationId": operation_id(routes[t_path][t_method]), "parameters": params}
            for name, (t_method, t_path, params) in links.items()
            if t_method in routes.get(t_path, {})
        }
        if response is not None and targets:
            response["links"] = targets


class RouteEntry(Protocol):
    """What the spec needs of ``chalice.app.RouteEntry``."""

    view_function: Any
    view_args: list[str]
    content_types: list[str]
    method: str
    uri_pattern: str


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


def _param(param: Param, where: str, rule: Schema | None = None) -> Schema:
    schema = copy.deepcopy(rule if rule is not None else param.schema)
    if (where, param.name) in EMPTY_IS_DEFAULT:
        default = {"default": schema.pop("default")} if "default" in schema else {}
        schema = {"anyOf": [schema, {"type": "string", "maxLength": 0}], **default}
    spec: Schema = {"name": param.name, "in": where, "schema": schema}
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
            schema = copy.deepcopy(body.other.get(media_type, body.other.get(OTHER_TYPES)))
            if schema and media_type.startswith("text/"):
                schema.pop("type", None)  # any text is a text body ('false' too): no JSON type
            content[media_type] = {"schema": schema} if schema else {}
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
    """Chalice answers 415 to a Content-Type a route does not list, even on a GET; a query
    parameter sent twice is 400 (``http.query``)."""
    statuses = set(op.errors) | {415, 503} | ({400} if op.query else set())
    if op.scope is not None:
        statuses |= {401, 403}
    return sorted(statuses)


def operation_id(entry: RouteEntry) -> str:
    view = entry.view_function
    return f"{view.__module__.rsplit('.', 1)[-1]}.{view.__name__}"


def _rule(key: tuple[str, str], where: str, name: str, shared: bool) -> Schema | None:
    """What the server enforces for this parameter: the operation's own rule, else the API's
    rule for a parameter the operation shares with others (never for one it defines)."""
    rule = OPERATION_RULES.get(key, {}).get((where, name))
    return rule if rule is not None or not shared else RULES.get((where, name))


def _operation(entry: RouteEntry, op: Op, models: _Models) -> Schema:
    key = (entry.method, entry.uri_pattern)
    params = [
        _param(
            op.path.get(a) or PATH_PARAMS.get(a) or Param(a, {}),
            "path",
            _rule(key, "path", a, a not in op.path),
        )
        for a in entry.view_args
    ]
    params += [_param(p, "query", _rule(key, "query", p.name, True)) for p in op.query]
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


def _configured(components: Schema, limits: Limits) -> None:
    """The limits a deployment configures (CMS_MEDIA_*), where a request states a size."""
    upload = components["schemas"].get("MediaUploadRequest")
    if upload is not None:
        upload["properties"]["bytes"]["anyOf"][0]["maximum"] = limits.media.max_upload_bytes


def build(
    routes: Routes, table: Mapping[tuple[str, str], Op] = ROUTES, limits: Limits | None = None
) -> dict[str, Any]:
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
    _add_links(paths, routes)
    components = _components(models)  # after the operations: it lists the models they used
    _configured(components, limits or Limits())
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "tags": TAGS,
        "paths": paths,
        "components": components,
    }
