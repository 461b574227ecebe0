"""Pydantic models of what the HTTP API takes and returns, for the OpenAPI document only.

The views build their bodies as dicts (see the services' ``view``/``to_dict``/``summary``);
these models describe those bodies truthfully: every field a view always sends is required,
a field that can be null is nullable, a field sent only sometimes is optional. Response
models allow extra properties (clients must ignore what they do not know); request models
refuse them where the API does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..domain.collections import FieldSpec
from ..domain.site import WEBHOOK_ID_RE, SiteSettings, WebhookEvent

Scope = Literal["content:read", "content:write", "media:read", "media:write", "admin"]
Instant = Annotated[
    str, Field(description="An RFC 3339 instant in UTC, e.g. 2025-06-01T12:00:00Z.")
]


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


class EntryPage(Out):
    items: list[EntrySummary]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: done.")


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


class MediaUploadRequest(In):
    content_type: str = Field(description="One of the accepted types, e.g. image/png.")
    filename: str | None = None
    bytes: int | None = Field(default=None, ge=1, description="The file's size, if known.")
    alt: str | None = Field(default=None, max_length=1000)
    caption: str | None = Field(default=None, max_length=4000)
    focal_point: FocalPoint | None = None
    tags: list[str] | None = Field(default=None, max_length=20)
    collection: str | None = Field(
        default=None, description="With path: upload (or replace) this page resource."
    )
    path: str | None = Field(
        default=None,
        max_length=600,
        description="The file's path in the collection (relative, '/'-separated).",
    )
    sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-fA-F]{64}$",
        description="The file's SHA-256: no form is given if the resource has it already.",
    )


class MediaEdit(In):
    filename: str | None = Field(default=None, max_length=255)
    alt: str | None = Field(default=None, max_length=1000)
    caption: str | None = Field(default=None, max_length=4000)
    focal_point: FocalPoint | None = None
    tags: list[str] | str | None = Field(
        default=None, description="A list, or one comma-separated string."
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
    state: Literal["draft", "published", "scheduled"]
    published_at: str | None
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


class DraftPage(Out):
    items: list[DraftSummary]
    next_after: str | None = Field(description="Pass as ?after= for the next page.")


class EntryInput(In):
    """An entry as JSON: front matter and body (stored as YAML front matter and the body), or
    a whole ``document`` stored byte for byte (the same as sending it as text/markdown)."""

    front_matter: dict[str, Any] | None = None
    body: str | None = None
    document: str | None = Field(
        default=None, description="A whole Markdown file; not with front_matter or body."
    )


class NewEntryInput(EntryInput):
    """A new entry. Its path: ``file`` (where it comes from in a site: 'docs/Intro.md'),
    else ``slug`` (a path), else made from the front matter's slug or title (one of them is
    then required)."""

    slug: str | None = Field(default=None, description=PATH_DESCRIPTION)
    file: str | None = Field(
        default=None, description="A relative Markdown file name; the path is made from it."
    )


class EntryPatch(In):
    """Front matter to merge (a null removes the field) and/or a new body."""

    front_matter: dict[str, Any] | None = None
    body: str | None = None


class PublishOptions(In):
    publish_at: str | None = Field(
        default=None, description="An ISO 8601 date-time; a future one schedules the entry."
    )


class PublishResult(Out):
    collection: str
    slug: str
    state: Literal["published", "scheduled"]
    published_at: str
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
    file: str | None = Field(
        default=None, description="The entry's source file ('methods/page/Params.md')."
    )
    slug: str | None = Field(
        default=None,
        description="The path; else from the file, or the front matter's slug or title.",
    )
    document: str | None = Field(default=None, description="A whole Markdown file, as it is.")
    front_matter: dict[str, Any] | None = None
    body: str | None = None
    publish: bool | None = Field(
        default=None, description="true: publish; false: unpublish; absent: leave it."
    )
    if_match: str | None = Field(default=None, description="The ETag the draft must have.")


class BatchRequest(In):
    items: list[BatchItem] = Field(
        min_length=1, max_length=100, description="Each item is checked (and fails) alone."
    )


class BatchItemResult(Out):
    index: int
    slug: str | None
    file: str | None
    status: Literal["created", "updated", "unchanged", "failed"]
    etag: str | None = None
    publication: Literal["draft", "published", "scheduled"] | None = None
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


class CollectionInput(In):
    """A collection's definition; without ``fields`` it takes any front matter."""

    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    fields: dict[str, FieldSpec] | None = None


class Collection(Out):
    name: str
    title: str | None
    description: str | None
    fields: dict[str, FieldSpec] | None
    created_at: str
    updated_at: str


class CollectionList(Out):
    items: list[Collection]


# --- admin ----------------------------------------------------------------------------------


class ApiKeyInput(In):
    name: str = Field(min_length=1, max_length=100)
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
SettingsInput: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "SettingsInput",
    __config__=In.model_config,
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
