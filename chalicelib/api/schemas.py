"""Pydantic models of what the HTTP API takes and returns, for the OpenAPI document only.

The views build their bodies as dicts (see the services' ``view``/``to_dict``/``summary``);
these models describe those bodies truthfully: every field a view always sends is required,
a field that can be null is nullable, a field sent only sometimes is optional. Response
models allow extra properties (clients must ignore what they do not know); request models
refuse them where the API does, and carry the rules of the server's validators (patterns,
lengths, which fields go together), so a request the document allows is one the server takes.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import SkipJsonSchema

from ..domain.collections import BUILT_IN_FIELDS, FIELD_NAME_RE, MAX_FIELDS, FieldSpec
from ..domain.media import MAX_ALT, MAX_CAPTION, MAX_FILENAME, MAX_RESOURCE_PATH_BYTES, MAX_TAGS
from ..domain.names import COLLECTION_RE, MAX_TAG_LENGTH
from ..domain.paths import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_PATH_LENGTH,
    MAX_SEGMENT_LENGTH,
    SEGMENT_RE,
)
from ..domain.site import URL_FIELDS, WEBHOOK_ID_RE, SiteSettings, WebhookEvent

Scope = Literal["content:read", "content:write", "media:read", "media:write", "admin", "preview"]
Instant = Annotated[
    str, Field(description="An RFC 3339 instant in UTC, e.g. 2025-06-01T12:00:00Z.")
]


JsonSchema = dict[str, Any]

# --- what the server's validators take, as JSON Schema ---------------------------------------

_SEGMENT = SEGMENT_RE.pattern.strip("^$")
_SEGMENT_SIZE = f"[a-z0-9-]{{1,{MAX_SEGMENT_LENGTH}}}"  # how long one segment may be


def entry_path(separators: str) -> JsonSchema:
    """An entry path (domain.paths.validate_path): 1 to MAX_DEPTH slug segments of at most
    MAX_SEGMENT_LENGTH characters, joined by one of ``separators``; '_index' may end it."""
    sep = f"[{separators}]"
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_PATH_LENGTH,
        "pattern": f"^(?:{_SEGMENT}{sep}){{0,{MAX_DEPTH - 1}}}(?:{_SEGMENT}|_index)$",
        "allOf": [{"pattern": f"^(?:{_SEGMENT_SIZE}{sep})*(?:{_SEGMENT_SIZE}|_index)$"}],
    }


def section() -> JsonSchema:
    """domain.paths.validate_section: folders joined by '/' or '~' (which may also lead or
    end it), never '_index'."""
    sep = "[/~]"
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_PATH_LENGTH,
        "pattern": f"^{sep}*{_SEGMENT}(?:{sep}{_SEGMENT}){{0,{MAX_DEPTH - 1}}}{sep}*$",
        "allOf": [{"pattern": f"^{sep}*{_SEGMENT_SIZE}(?:{sep}{_SEGMENT_SIZE})*{sep}*$"}],
    }


COLLECTION_NAME: JsonSchema = {"type": "string", "pattern": COLLECTION_RE.pattern, "maxLength": 64}
# domain.names.normalize_tag: trimmed and inner whitespace collapsed, then 1-64 characters
# without control characters.
_CONTROL = r"\x00-\x08\x0e-\x1b\x7f"  # the control characters that are not whitespace
TAG: JsonSchema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_TAG_LENGTH,
    "pattern": rf"^[^{_CONTROL}]*[^\s\x00-\x1f\x7f\x85][^{_CONTROL}]*$",
}
NO_NUL = "^[^\\x00]*$"
# Python's str.strip() and str.split() take \x1c-\x1f and \x85 for whitespace too.
NON_BLANK = "[^\\s\\x1c-\\x1f\\x85]"
# domain.media.validate_resource_path: relative, no empty, '.'-prefixed or '..' segments, no
# backslash or control characters; at most 600 bytes of UTF-8.
_RESOURCE_SEGMENT = r"[^/\\\x00-\x1f\x7f-\x9f.][^/\\\x00-\x1f\x7f-\x9f]*"
RESOURCE_PATH: JsonSchema = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_RESOURCE_PATH_BYTES,
    "pattern": f"^{_RESOURCE_SEGMENT}(?:/{_RESOURCE_SEGMENT})*$",
    "description": "The file's path in the collection: relative, '/'-separated, at most "
    f"{MAX_RESOURCE_PATH_BYTES} bytes of UTF-8.",
}
# domain.paths.check_file: the same, with a Markdown file name at the end.
_MARKDOWN = "[mM][dD]|[mM][aA][rR][kK][dD][oO][wW][nN]"
MARKDOWN_FILE: JsonSchema = {
    "type": "string",
    "minLength": 4,
    "maxLength": MAX_FILE_BYTES,
    "pattern": f"^(?:{_RESOURCE_SEGMENT}/)*{_RESOURCE_SEGMENT}\\.(?:{_MARKDOWN})$",
    "description": "A relative Markdown file name (.md or .markdown), at most "
    f"{MAX_FILE_BYTES} bytes of UTF-8; the entry's path is made from it.",
}


def _no_default(schema: JsonSchema) -> None:
    schema.pop("default", None)  # leaving the field out is not sending null


def omittable(**constraints: Any) -> Any:
    """A field a request may leave out but not send as null (declare it ``T |
    SkipJsonSchema[None]``): its schema has no null and no default."""
    return Field(default=None, json_schema_extra=_no_default, **constraints)


def extra_schema(extra: JsonSchema) -> Any:
    """``json_schema_extra`` that adds ``extra`` to a model's (or a field's) schema."""
    return lambda schema: schema.update(copy.deepcopy(extra))


def nullable(schema: JsonSchema) -> JsonSchema:
    """A field's schema: ``schema`` or null (which the server takes as leaving it out)."""
    return {"anyOf": [schema, {"type": "null"}]}


class Out(BaseModel):
    """A response body: unknown properties may be added later."""

    model_config = ConfigDict(extra="allow")


class Dumped(Out):
    """A response that is a whole model dump: every field is always there."""

    model_config = ConfigDict(extra="allow", json_schema_serialization_defaults_required=True)


class In(BaseModel):
    """A request body: unknown properties are refused."""

    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------


class FieldProblem(Out):
    field: str = Field(description="A dotted path to the field ('' for the whole body).")
    message: str
    code: str = Field(description="A stable code, e.g. invalid, type, unknown-field.")


class Problem(BaseModel):
    """An RFC 9457 problem; validation problems list their field errors in ``errors``."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "type": "/problems/validation-failed",
                "title": "Validation failed",
                "status": 422,
                "detail": "The entry is invalid.",
                "instance": "/v1/manage/content/blog",
                "errors": [{"field": "front_matter.title", "message": "required", "code": "x"}],
            }
        },
    )

    type: str = Field(description="A URI reference naming the problem: /problems/{code}.")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str | None = Field(default=None, description="The request path.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Field errors, on 422 Validation failed."
    )


# --- delivery -------------------------------------------------------------------------------


class TocItem(Out):
    level: int = Field(ge=1, le=6)
    id: str
    title: str
    children: list[TocItem]


EntryKind = Literal["page", "section", "bundle"]
PATH_DESCRIPTION = (
    "The entry's path in its collection, as a site's tree gives it: 'methods/page/params',"
    " 'functions/_index' (a section page), 'posts/hello/index' (a page bundle). In URLs it is"
    " one segment with '~' for '/' (methods~page~params)."
)


class EntrySummary(Out):
    """A published entry in a list."""

    collection: str
    slug: str = Field(description=PATH_DESCRIPTION)
    kind: EntryKind = Field(description="page; section: an _index file; bundle: an index file.")
    section: str = Field(description="The folder the entry's file is in ('' at the root).")
    href: str = Field(description="This entry's delivery URL.")
    title: str = Field(description="The front matter's title, else made from the file name.")
    summary: str | None = Field(description="The front matter's summary, else its description.")
    author: str | None
    tags: list[str] = Field(description="The front matter's tags, normalized (lower case).")
    published_at: Instant
    updated_at: str | None
    expires_at: Instant | None = Field(
        description="When readers stop seeing it (the front matter's expires_at, else Hugo's"
        " expiryDate or unpublishDate); null: never."
    )
    excerpt: str | None
    reading_time_minutes: int = Field(ge=0)
    word_count: int = Field(ge=0)
    front_matter: dict[str, Any] = Field(
        description="The whole front matter, exactly as written (YAML, TOML or JSON), as JSON."
    )


class Entry(EntrySummary):
    """A published entry with its sanitized HTML (``media:`` references resolved)."""

    html: str
    toc: list[TocItem]
    preview: bool | SkipJsonSchema[None] = omittable(
        description="Only in a preview (a preview key or link): true, the draft."
    )
    state: Literal["draft", "scheduled", "published", "expired"] | SkipJsonSchema[None] = omittable(
        description="Only in a preview: whether the entry is published, and when."
    )


class EntryPage(Out):
    items: list[EntrySummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: done.")
    preview: bool | SkipJsonSchema[None] = omittable(
        description="Only in a preview key's list of drafts: true."
    )


class SyncChange(Out):
    """One change: an upsert carries the entry's list fields, a delete only its key."""

    type: Literal["upsert", "delete"]
    collection: str
    slug: str
    changed_at: str
    title: str | None = None
    published_at: str | None = None
    updated_at: str | None = None
    tags: list[str] | None = None
    href: str | None = Field(default=None, description="The delivery URL of the entry.")


class SyncPage(Out):
    items: list[SyncChange]
    next_cursor: str = Field(description="Store it; the next sync passes it as ?cursor=.")
    has_more: bool


class Health(Out):
    status: Literal["ok"]
    backend: str


# --- media ----------------------------------------------------------------------------------


class FocalPoint(BaseModel):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


class MediaVariant(Out):
    name: str = Field(description="The file name for /v1/media/{id}/files/{name}, e.g. 640.webp.")
    width: int
    height: int
    format: Literal["webp", "jpg", "png"]
    content_type: str
    bytes: int
    url: str


class Srcset(Out):
    webp: str
    fallback: str
    sizes: str


class MediaAsset(Out):
    """A media asset as sites see it (ready ones only)."""

    id: str
    filename: str
    alt: str
    caption: str
    focal_point: FocalPoint | None
    tags: list[str]
    status: Literal["uploading", "processing", "ready", "failed"]
    kind: Literal["image", "file"]
    content_type: str | None
    bytes: int
    width: int | None
    height: int | None
    animated: bool
    placeholder: str | None = Field(description="A tiny data: URI to show while loading.")
    dominant_color: str | None
    created_at: str
    updated_at: str
    variants: list[MediaVariant]
    srcset: Srcset | None = Field(default=None, description="Present for images with variants.")
    url: str | None = Field(description="The file to link to (a PDF, the largest variant).")


class EditorMediaAsset(MediaAsset):
    """A media asset as editors see it: with its processing error."""

    error: str | None
    sha256: str | None = Field(description="The original's SHA-256 (hex), once known.")
    collection: str | None = Field(
        description="A page resource's collection (null for an ordinary upload)."
    )
    path: str | None = Field(
        description="A page resource's file in its collection, e.g. posts/hello/diagram.png."
    )


class UploadForm(Out):
    """POST a multipart/form-data form to ``url``: ``fields`` first, the file last."""

    method: Literal["POST"]
    url: str
    fields: dict[str, str]
    file_field: str
    expires_at: str
    max_bytes: int


class UploadStart(EditorMediaAsset):
    upload: UploadForm | None = Field(
        description="Where to post the file; null when the resource already has these bytes."
    )


class MediaPage(Out):
    items: list[EditorMediaAsset]
    next_cursor: str | None


class FocalPointInput(In):
    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)


# domain.media.validate_edits: text without NUL; tags as a list, or one comma-separated string
# whose non-blank parts are the tags; at most MAX_TAGS of them.
_TAG_PART = f"[^,{_CONTROL}]{{0,{MAX_TAG_LENGTH}}}"
TAGS_TEXT: JsonSchema = {
    "type": "string",
    "pattern": f"^{_TAG_PART}(?:,{_TAG_PART}){{0,{MAX_TAGS - 1}}}$",
    "description": f"Comma-separated tags, at most {MAX_TAGS}.",
}
TAG_LIST: JsonSchema = {
    "anyOf": [{"type": "array", "items": TAG, "maxItems": MAX_TAGS}, TAGS_TEXT, {"type": "null"}],
    "description": f"A list, or one comma-separated string; at most {MAX_TAGS} tags.",
}


def _text(max_length: int) -> Any:
    return Field(default=None, max_length=max_length, pattern=NO_NUL)


class MediaEdit(In):
    """The editable fields of a media asset; a null clears one."""

    filename: str | None = _text(MAX_FILENAME)
    alt: str | None = _text(MAX_ALT)
    caption: str | None = _text(MAX_CAPTION)
    focal_point: FocalPointInput | None = None
    tags: list[str] | str | None = Field(default=None, json_schema_extra=extra_schema(TAG_LIST))


_RESOURCE_FIELDS = ("collection", "path", "sha256")
UPLOAD_TYPES = ("application/pdf", "image/avif", "image/gif", "image/jpeg", "image/jpg")
UPLOAD_TYPES += ("image/png", "image/webp")


class MediaUploadRequest(MediaEdit):
    """A presigned upload: of a new asset, or with collection and path of a page resource
    (sha256 only with them)."""

    model_config = ConfigDict(
        json_schema_extra=extra_schema(
            {
                "anyOf": [
                    {"properties": {f: {"type": "null"} for f in _RESOURCE_FIELDS}},
                    {
                        "required": ["collection", "path"],
                        "properties": {
                            "collection": {"type": "string"},
                            "path": {"type": "string"},
                        },
                    },
                ]
            }
        )
    )

    content_type: Literal[UPLOAD_TYPES] = Field(  # type: ignore[valid-type]
        description="The file's type (a type's parameters and case are ignored)."
    )
    bytes: int | None = Field(default=None, ge=1, description="The file's size, if known.")
    collection: str | None = Field(
        default=None,
        description="With path: upload (or replace) this page resource.",
        json_schema_extra=extra_schema(nullable(COLLECTION_NAME)),
    )
    path: str | None = Field(default=None, json_schema_extra=extra_schema(nullable(RESOURCE_PATH)))
    sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-fA-F]{64}$",
        description="The file's SHA-256: no form is given if the resource has it already.",
    )


# --- entries for editors --------------------------------------------------------------------


class RenderState(Out):
    """How the latest save rendered; the rendered fields are present once it has."""

    status: Literal["pending", "rendered", "failed"]
    error: str | None
    html: str | None = None
    toc: list[TocItem] | None = None
    excerpt: str | None = None
    word_count: int | None = None
    reading_time_minutes: int | None = None


class MediaWarning(Out):
    media_id: str
    problem: str


class Publication(Out):
    state: Literal["draft", "published", "scheduled", "expired"]
    published_at: str | None
    expires_at: str | None = None
    render_status: str | None = None
    render_error: str | None = None
    revision: str | None = None


class EditorEntry(Out):
    """A draft: ``body`` and ``front_matter`` as stored; ``title`` once rendered."""

    """A draft as editors see it. Its ``etag`` goes into If-Match on writes."""

    collection: str
    slug: str = Field(description=PATH_DESCRIPTION)
    kind: EntryKind
    section: str
    file: str = Field(description="The entry's source file in the collection.")
    title: str | None = Field(description="The indexed title (null until rendered).")
    front_matter: dict[str, Any]
    body: str
    etag: str
    revision: str
    saved_at: str
    render: RenderState
    media_warnings: list[MediaWarning]
    publication: Publication


class DraftSummary(Out):
    slug: str = Field(description=PATH_DESCRIPTION)
    kind: EntryKind
    file: str
    title: str
    tags: list[str]
    updated_at: str | None
    etag: str | None
    render_status: Literal["pending", "rendered", "failed"]
    render_error: str | None
    state: Literal["draft", "scheduled", "published", "expired"] = Field(
        description="Where the entry stands in publishing: a draft only, or its published "
        "snapshot due later (scheduled), due (published) or past its end (expired)."
    )
    published_at: str | None = Field(description="When it is (or was) published; null: never.")
    expires_at: str | None = Field(
        description="When readers stop seeing the published snapshot; null: never."
    )


class DraftPage(Out):
    items: list[DraftSummary]
    next_after: str | None = Field(description="Pass as ?after= for the next page.")


# domain.frontmatter and api.http.entry_from_json: front matter and body, or a whole document
# (a null document is none).
DOCUMENT_OR_PARTS: JsonSchema = {
    "anyOf": [
        {"properties": {"document": {"type": "null"}}},
        {
            "required": ["document"],
            "properties": {"document": {"type": "string"}, "front_matter": False, "body": False},
        },
    ]
}
# services.entries.identity: a new entry's path comes from its file, its slug, or else the
# front matter's slug or title (a document's front matter too: no schema sees into it).
_NAMED = {"type": "string", "pattern": NON_BLANK}
NAMED_ENTRY: JsonSchema = {
    "anyOf": [
        {"required": [name], "properties": {name: {"type": "string"}}}
        for name in ("file", "slug", "document")
    ]
    + [
        {
            "required": ["front_matter"],
            "properties": {
                "front_matter": {
                    "anyOf": [
                        {"required": [name], "properties": {name: _NAMED}}
                        for name in ("title", "slug")
                    ]
                }
            },
        }
    ]
}
FRONT_MATTER_DESCRIPTION = (
    "Checked against the collection's fields (see its definition), else the built-in ones "
    "(title, slug, tags, summary, author, published_at, updated_at)."
)


class EntryInput(In):
    """An entry as JSON: front matter and body (stored as YAML front matter and the body), or
    a whole ``document`` stored byte for byte (the same as sending it as text/markdown)."""

    model_config = ConfigDict(json_schema_extra=extra_schema(DOCUMENT_OR_PARTS))

    front_matter: dict[str, Any] | SkipJsonSchema[None] = omittable(
        description=FRONT_MATTER_DESCRIPTION
    )
    body: str | SkipJsonSchema[None] = omittable()
    document: str | None = Field(
        default=None, description="A whole Markdown file; not with front_matter or body."
    )


class NewEntryInput(EntryInput):
    """A new entry. Its path: ``file`` (where it comes from in a site: 'docs/Intro.md'),
    else ``slug`` (a path), else made from the front matter's slug or title (one of them is
    then required)."""

    model_config = ConfigDict(
        json_schema_extra=extra_schema({"allOf": [DOCUMENT_OR_PARTS, NAMED_ENTRY]})
    )

    slug: str | None = Field(
        default=None,
        description=PATH_DESCRIPTION + " '/' or '~' between its segments.",
        json_schema_extra=extra_schema(nullable(entry_path("/~"))),
    )
    file: str | None = Field(default=None, json_schema_extra=extra_schema(nullable(MARKDOWN_FILE)))


class EntryPatch(In):
    """Front matter to merge (a null removes the field) and/or a new body."""

    front_matter: dict[str, Any] | None = Field(default=None, description=FRONT_MATTER_DESCRIPTION)
    body: str | SkipJsonSchema[None] = omittable()


class PublishOptions(In):
    publish_at: str | None = Field(
        default=None,
        description="An ISO 8601 date or date-time (UTC if it names no offset); a future "
        "one schedules the entry.",
        json_schema_extra=extra_schema(
            nullable({"anyOf": [{"format": "date-time"}, {"format": "date"}], "type": "string"})
        ),
    )


class PublishResult(Out):
    collection: str
    slug: str
    state: Literal["published", "scheduled", "expired"]
    published_at: str
    expires_at: str | None = Field(description="When readers stop seeing it; null: never.")
    draft_etag: str
    revision: str


class UnpublishResult(Out):
    collection: str
    slug: str
    state: Literal["draft"]


class Revision(Out):
    revision: str
    etag: str | None
    size: int
    saved_at: str
    current: bool
    deleted: bool


class RevisionList(Out):
    items: list[Revision]


class BatchItem(In):
    """One entry of a batch (an item that is not one fails alone, in its result)."""

    model_config = ConfigDict(json_schema_extra=extra_schema(DOCUMENT_OR_PARTS))

    file: str | None = Field(
        default=None,
        description="The entry's source file ('methods/page/Params.md').",
        json_schema_extra=extra_schema(nullable(MARKDOWN_FILE)),
    )
    slug: str | None = Field(
        default=None,
        description="The path; else from the file, or the front matter's slug or title.",
        json_schema_extra=extra_schema(nullable(entry_path("/~"))),
    )
    document: str | None = Field(default=None, description="A whole Markdown file, as it is.")
    front_matter: dict[str, Any] | SkipJsonSchema[None] = omittable(
        description=FRONT_MATTER_DESCRIPTION
    )
    body: str | SkipJsonSchema[None] = omittable()
    publish: bool | None = Field(
        default=None, description="true: publish; false: unpublish; absent: leave it."
    )
    if_match: str | None = Field(default=None, description="The ETag the draft must have.")


class BatchRequest(In):
    items: list[BatchItem | Any] = Field(
        min_length=1,
        max_length=100,
        description="BatchItems. Each item is checked (and fails) alone, in its result: "
        "one that is not a BatchItem too.",
    )


class BatchItemResult(Out):
    index: int
    slug: str | None
    file: str | None
    status: Literal["created", "updated", "unchanged", "failed"]
    etag: str | None = None
    publication: Literal["draft", "published", "scheduled", "expired"] | None = None
    error: Problem | None = Field(default=None, description="Why the item failed.")


class BatchSummary(Out):
    created: int
    updated: int
    unchanged: int
    failed: int


class BatchResult(Out):
    items: list[BatchItemResult]
    summary: BatchSummary


# --- collections ----------------------------------------------------------------------------


_NULL = {"type": "null"}
_SIZED = ("string", "text", "list")


def _field_kind(types: tuple[str, ...], **properties: JsonSchema) -> JsonSchema:
    kind: JsonSchema = {"properties": {"type": {"enum": list(types)}, **properties}}
    kind["required"] = [n for n, v in properties.items() if v is not _NULL]
    return kind


class FieldSpecInput(FieldSpec):
    """A custom field: ``values`` for an enum, ``collection`` for a reference (nothing else
    takes them); ``max_length`` for string, text and list fields only."""

    model_config = ConfigDict(
        title="FieldSpecInput",
        json_schema_extra=extra_schema(
            {
                "anyOf": [
                    _field_kind(
                        ("enum",),
                        values={"type": "array", "minItems": 1, "uniqueItems": True},
                        collection=_NULL,
                        max_length=_NULL,
                    ),
                    _field_kind(
                        ("reference",), collection=COLLECTION_NAME, values=_NULL, max_length=_NULL
                    ),
                    _field_kind(_SIZED, values=_NULL, collection=_NULL),
                    _field_kind(
                        ("number", "boolean", "datetime"),
                        values=_NULL,
                        collection=_NULL,
                        max_length=_NULL,
                    ),
                ]
            }
        ),
    )


class CollectionInput(In):
    """A collection's definition; without ``fields`` it takes any front matter."""

    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    fields: dict[str, FieldSpecInput] | None = Field(
        default=None,
        description="The custom fields by name (not a built-in one's). Absent or null: the "
        "collection takes any front matter.",
        max_length=MAX_FIELDS,
        json_schema_extra=lambda schema: schema["anyOf"][0].update(
            propertyNames={"pattern": FIELD_NAME_RE.pattern, "not": {"enum": list(BUILT_IN_FIELDS)}}
        ),
    )


class Collection(Out):
    name: str
    title: str | None
    description: str | None
    fields: dict[str, FieldSpec] | None
    created_at: str
    updated_at: str


class CollectionList(Out):
    items: list[Collection]


class RenderCounts(Out):
    pending: int
    rendered: int
    failed: int


class CollectionRenders(Out):
    """How many of a collection's live drafts and published snapshots are pending, rendered
    and failed."""

    collection: str
    draft: RenderCounts
    published: RenderCounts


# --- admin ----------------------------------------------------------------------------------


class ApiKeyInput(In):
    name: str = Field(min_length=1, max_length=100, pattern=NON_BLANK, description="Trimmed.")
    scopes: list[Scope] = Field(min_length=1)


class ApiKey(Out):
    id: str
    name: str
    scopes: list[str]
    created_at: str


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The secret, shown this once: 'Authorization: Bearer <key>'.")


class ApiKeyList(Out):
    items: list[ApiKey]


class ObjectError(Out):
    key: str
    error: str
    recorded_at: str


class ObjectErrors(Out):
    items: list[ObjectError]


class DeadLetter(Out):
    id: str
    error: str
    attempts: int
    failed_at: str
    message: dict[str, Any]


class DeadLetters(Out):
    items: list[DeadLetter]


class RedriveRequest(In):
    ids: list[str] | None = Field(default=None, description="Absent: every dead letter.")


class RedriveResult(Out):
    redriven: int


class ReindexReport(Out):
    collections: int
    entries: int
    media: int
    errors: list[str]
    seconds: float


# --- settings and webhooks ------------------------------------------------------------------

_SETTINGS_FIELDS: dict[str, Any] = {
    name: (info.annotation, info)
    for name, info in SiteSettings.model_fields.items()
    if name != "webhooks"
}
# domain.site: an http(s) URL without credentials, spaces, quotes or angle brackets; a base
# URL has no query or fragment either (and an empty one is none).
_URL_CHARS = "[^\\s\"'<>\\\\?#]"
_BASE_URL = {
    "anyOf": [
        {
            "type": "string",
            "maxLength": 500,
            "pattern": f"^(?:[hH][tT][tT][pP][sS]?://"
            f"[^\\s\"'<>\\\\?#/@\\[\\]]+(?:/{_URL_CHARS}*)?)?$",
        },
        {"type": "null"},
    ]
}
_ENTRY_URL = "^(?:[^{]|" + "|".join(f"\\{{{f[1:-1]}\\}}" for f in URL_FIELDS) + "|\\{[^}]*$)*$"


def _settings_rules(schema: JsonSchema) -> None:
    properties = schema["properties"]
    for name in ("base_url", "api_url"):
        properties[name].update(_BASE_URL)
    properties["entry_url"]["pattern"] = _ENTRY_URL


SettingsInput: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "SettingsInput",
    __config__=ConfigDict(extra="forbid", json_schema_extra=_settings_rules),
    __doc__="The site settings; omitted fields take their defaults.",
    **_SETTINGS_FIELDS,
)
Settings: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "Settings", __base__=Dumped, __doc__="The site settings.", **_SETTINGS_FIELDS
)


class WebhookInput(In):
    id: str | None = Field(default=None, pattern=WEBHOOK_ID_RE.pattern)
    url: str = Field(max_length=2000, description="An http(s) URL without credentials.")
    events: list[WebhookEvent] = Field(min_length=1)
    enabled: bool = True
    description: str = Field(default="", max_length=500)


class Webhook(Out):
    id: str
    url: str
    events: list[WebhookEvent]
    enabled: bool
    description: str


class WebhookCreated(Webhook):
    secret: str = Field(description="The signing secret, shown this once.")


class WebhookList(Out):
    items: list[Webhook]


class Delivery(Out):
    id: str
    webhook_id: str
    event: str
    url: str
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    response_status: int | None
    error: str | None
    created_at: str
    updated_at: str


class DeliveryDetail(Delivery):
    payload: str = Field(description="The exact JSON body that was (or will be) sent.")


class DeliveryList(Out):
    items: list[Delivery]
