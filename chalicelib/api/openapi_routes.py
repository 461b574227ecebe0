"""What the route table cannot say about each route, declared once per (method, path).

``openapi_spec`` joins this table with the Chalice app's routes (paths, methods, path
parameters and request content types come from there). The problem responses of an
operation are its ``errors`` plus 401/403 for a scoped route, and 415 (a Content-Type the
route does not take) and 503 (storage unavailable) for every route.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ..domain.media import MEDIA_ID_RE
from ..domain.names import COLLECTION_RE
from ..domain.paths import MAX_PATH_LENGTH, SEGMENT_RE
from ..domain.site import WEBHOOK_ID_RE
from ..ports import SORT_ORDERS
from . import preview_schemas as ps
from . import schemas as s
from .editor import ASSETS

Schema = dict[str, Any]


@dataclass(frozen=True)
class Param:
    name: str
    schema: Schema
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Body:
    """A request body: a model for JSON; raw schemas for other media types."""

    model: type[BaseModel] | None = None
    other: dict[str, Schema] = field(default_factory=dict)
    required: bool = True
    description: str = ""


@dataclass(frozen=True)
class Reply:
    """A success (or 3xx) response: a JSON model, or raw content by media type."""

    description: str
    model: type[BaseModel] | None = None
    content: dict[str, Schema] = field(default_factory=dict)
    headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Op:
    summary: str
    tag: str
    replies: dict[int, Reply]
    errors: tuple[int, ...] = ()
    scope: str | None = None  # None: public
    description: str = ""
    query: tuple[Param, ...] = ()
    headers: tuple[str, ...] = ()  # names of PARAMETERS (If-Match, If-None-Match)
    path: dict[str, Param] = field(default_factory=dict)  # overrides of PATH_PARAMS
    body: Body | None = None


def text(pattern: str | None = None, max_length: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", "minLength": 1, **extra}
    if pattern:
        schema["pattern"] = pattern
    if max_length:
        schema["maxLength"] = max_length
    return schema


def page_size(maximum: int, default: int) -> Param:
    schema = {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}
    return Param("limit", schema, f"Page size, 1-{maximum}.")


BINARY: Schema = {}  # any bytes (OpenAPI 3.1: a body without a schema is binary)
COLLECTION = text(COLLECTION_RE.pattern, 64)
_SEGMENT = SEGMENT_RE.pattern.strip("^$")
ENTRY_URL_PATH = text(rf"^(?:{_SEGMENT}~)*(?:{_SEGMENT}|_index)$", MAX_PATH_LENGTH)
ENTRY_PATH = text(rf"^(?:{_SEGMENT}/)*(?:{_SEGMENT}|_index)$", MAX_PATH_LENGTH)
SECTION = Param(
    "section",
    text(rf"^{_SEGMENT}(?:[/~]{_SEGMENT})*$", MAX_PATH_LENGTH),
    "Only entries inside this folder and its subfolders ('functions/strings', or with '~').",
)
PATH_PARAMS: dict[str, Param] = {
    "collection": Param("collection", COLLECTION, "A collection name."),
    "name": Param("name", COLLECTION, "A collection name."),
    "slug": Param(
        "slug",
        ENTRY_URL_PATH,
        "An entry's path, one URL segment with '~' for each '/': methods~page~params,"
        " functions~_index; a top-level entry is just its slug.",
    ),
    "revision": Param("revision", text(r"^[A-Za-z0-9._+=-]{1,1024}$"), "A revision id."),
    "media_id": Param("media_id", text(MEDIA_ID_RE.pattern, 64), "A media asset id."),
    "key_id": Param("key_id", text(r"^[0-9a-f]{16}$"), "An API key id."),
    "webhook_id": Param("webhook_id", text(WEBHOOK_ID_RE.pattern, 64), "A webhook id."),
    "delivery_id": Param("delivery_id", text(max_length=64), "A webhook delivery id."),
    "preview_id": Param("preview_id", text(r"^[0-9a-f]{16}$"), "A preview link id."),
}
IF_MATCH = "If-Match"
IF_NONE_MATCH = "If-None-Match"
TAG = Param("tag", text(max_length=64), "Only items with this tag (case-insensitive).")
CURSOR = Param("cursor", text(max_length=2048), "The next_cursor of the previous page.")
MEDIA_QUERY = (
    Param("filename", text(max_length=255), "The file's name (else Content-Disposition)."),
    Param("alt", {"type": "string", "maxLength": 1000}, "Alt text."),
    Param("caption", {"type": "string", "maxLength": 4000}, "A caption."),
    Param("tags", {"type": "string"}, "Comma-separated tags."),
    Param("collection", COLLECTION, "With path: upload (or replace) this page resource."),
    Param(
        "path",
        {"type": "string", "minLength": 1, "maxLength": 600},
        "The file's path in the collection (relative, '/'-separated, percent-encoded).",
    ),
)
FILE_TYPES = ("image/webp", "image/jpeg", "image/png", "application/pdf")
OTHER_TYPES = "*"  # in Body.other: every content type of the route not named otherwise

ATOM = "application/atom+xml"
XML = "application/xml"
NOT_MODIFIED = Reply("Not modified: the If-None-Match ETag is current.", headers=("ETag",))
NO_CONTENT = Reply("Done; no content.")
ENTRY_WRITE = (400, 404, 409, 412, 413, 422)

DELIVERY, CONTENT, MEDIA, ADMIN, META = "delivery", "content", "media", "admin", "meta"


def _entry_body(model: type[BaseModel] = s.EntryInput) -> Body:
    markdown = {
        "type": "string",
        "description": "A Markdown file with YAML, TOML or JSON front matter, stored as it is.",
    }
    return Body(model, {"text/markdown": markdown, "text/plain": markdown})


def _editor_file(description: str, *types: str) -> dict[int, Reply]:
    """A file of the editor: its text, with the headers every one is served with."""
    headers = ("ETag", "Cache-Control", "Content-Security-Policy")
    content = {t: {"type": "string"} for t in types}
    return {200: Reply(description, content=content, headers=headers), 304: NOT_MODIFIED}


ROUTES: dict[tuple[str, str], Op] = {
    # --- delivery (public) ---------------------------------------------------------------
    ("GET", "/v1/content/{collection}"): Op(
        "List published entries",
        DELIVERY,
        {200: Reply("A page of published, due entries.", s.EntryPage, headers=("Cache-Control",))},
        (400, 404, 422),
        query=(
            TAG,
            Param("sort", {"type": "string", "enum": list(SORT_ORDERS)}, "Order of the list."),
            page_size(100, 20),
            CURSOR,
            SECTION,
        ),
        description="Unknown query parameters are refused (400). A key with the 'preview'"
        ' scope lists the collection\'s rendered drafts instead, marked "preview": true.',
    ),
    ("GET", "/v1/content/{collection}/{slug}"): Op(
        "Get a published entry",
        DELIVERY,
        {
            200: Reply("The entry with its HTML.", s.Entry, headers=("ETag", "Cache-Control")),
            304: NOT_MODIFIED,
        },
        (401, 403, 404, 409, 422),
        headers=(IF_NONE_MATCH,),
        query=(
            Param(
                "preview",
                text(max_length=2048),
                "A preview link's token: the entry's draft instead (401 once it has expired or"
                " was revoked, 403 for another entry's link).",
            ),
        ),
        description="Drafts, unpublished and not-yet-due entries answer 404 like missing ones."
        " A preview link (?preview=) or a key with the 'preview' scope reads the draft, marked"
        ' "preview": true with its "state", answered private, no-store (409: the draft has no'
        " rendering yet).",
    ),
    ("GET", "/v1/sync"): Op(
        "Changes since a cursor",
        DELIVERY,
        {200: Reply("Upserts and deletions in order.", s.SyncPage)},
        (400, 410),
        query=(CURSOR, page_size(500, 100)),
        description="410: the index was rebuilt after the cursor was made; sync from scratch.",
    ),
    ("GET", "/v1/feeds/{name}"): Op(
        "Atom feed of a collection",
        DELIVERY,
        {
            200: Reply(
                "The feed.", content={ATOM: {"type": "string"}}, headers=("ETag", "Cache-Control")
            ),
            304: NOT_MODIFIED,
        },
        (404, 409, 422),
        headers=(IF_NONE_MATCH,),
        path={"name": Param("name", text(r"^[a-z0-9][a-z0-9_-]*\.xml$"), "{collection}.xml")},
        description="409: the site settings have no base_url yet.",
    ),
    ("GET", "/sitemap.xml"): Op(
        "Sitemap of every published entry",
        DELIVERY,
        {
            200: Reply(
                "The sitemap.", content={XML: {"type": "string"}}, headers=("ETag", "Cache-Control")
            ),
            304: NOT_MODIFIED,
        },
        (409,),
        headers=(IF_NONE_MATCH,),
    ),
    ("GET", "/v1/media/{media_id}"): Op(
        "Get a ready media asset",
        DELIVERY,
        {200: Reply("The asset, its variants and srcsets.", s.MediaAsset)},
        (404, 422),
    ),
    ("GET", "/v1/media/{media_id}/files/{name}"): Op(
        "Get a file of a media asset",
        DELIVERY,
        {
            200: Reply(
                "The bytes.",
                content={t: BINARY for t in FILE_TYPES},
                headers=("ETag", "Cache-Control"),
            ),
            302: Reply("The file is elsewhere (the bucket, a CDN).", headers=("Location",)),
            304: NOT_MODIFIED,
        },
        (400, 404, 422),
        headers=(IF_NONE_MATCH,),
        path={"name": Param("name", text(r"^(?:[1-9][0-9]{0,4}\.(?:webp|jpg|png)|original)$"))},
        description="A variant (640.webp) or a PDF's original. Send an Accept header that "
        "matches the file's type (or */*), else 400.",
    ),
    ("GET", "/health"): Op("Health check", META, {200: Reply("The backend answers.", s.Health)}),
    ("GET", "/openapi.json"): Op(
        "This OpenAPI document",
        META,
        {200: Reply("OpenAPI 3.1.", content={"application/json": {"type": "object"}})},
    ),
    ("GET", "/docs"): Op(
        "This API's documentation as a page",
        META,
        {200: Reply("HTML.", content={"text/html": {"type": "string"}})},
    ),
    ("GET", "/admin"): Op(
        "The editor",
        META,
        _editor_file("The editor's page (it asks for a key and talks to this API).", "text/html"),
        headers=(IF_NONE_MATCH,),
        description="Plain HTML, CSS and JavaScript modules; no key needed (they hold no data).",
    ),
    ("GET", "/admin/{file}"): Op(
        "A stylesheet or script of the editor",
        META,
        _editor_file("The file.", "text/javascript", "text/css"),
        (404,),
        headers=(IF_NONE_MATCH,),
        path={"file": Param("file", {"type": "string", "enum": list(ASSETS)}, "A file name.")},
    ),
    ("POST", "/v1/uploads"): Op(
        "Local upload form target",
        MEDIA,
        {204: NO_CONTENT},
        (400, 404, 412, 413),
        body=Body(
            other={
                "multipart/form-data": {
                    "type": "object",
                    "properties": {
                        "key": {"type": "string"},
                        "Content-Type": {"type": "string"},
                        "policy": {"type": "string"},
                        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                    },
                    "required": ["key", "Content-Type", "policy", "file"],
                }
            }
        ),
        description="The local backend's stand-in for S3's presigned POST: post the form from "
        "POST /v1/manage/media/uploads here, the file last. 404 on AWS.",
    ),
    # --- collections ---------------------------------------------------------------------
    ("GET", "/v1/manage/collections"): Op(
        "List collections",
        CONTENT,
        {200: Reply("Every collection.", s.CollectionList)},
        scope="content:read",
    ),
    ("GET", "/v1/manage/collections/{name}"): Op(
        "Get a collection",
        CONTENT,
        {200: Reply("The collection.", s.Collection)},
        (404, 422),
        scope="content:read",
    ),
    ("GET", "/v1/manage/collections/{name}/renders"): Op(
        "Count a collection's renders",
        CONTENT,
        {200: Reply("Counts per stage and render status.", s.CollectionRenders)},
        (404, 422),
        scope="content:read",
        description="How many live drafts and published snapshots are pending, rendered or "
        "failed: one request, and no entry to decode, for a client waiting for its writes to "
        "render (`cms import` polls it). The failed ones are listed with "
        "`?status=failed` on the entry list, and in /v1/manage/errors.",
    ),
    ("PUT", "/v1/manage/collections/{name}"): Op(
        "Create or replace a collection",
        CONTENT,
        {
            200: Reply("Replaced.", s.Collection),
            201: Reply("Created.", s.Collection, headers=("Location",)),
        },
        (400, 413, 422),
        scope="admin",
        body=Body(s.CollectionInput),
    ),
    ("DELETE", "/v1/manage/collections/{name}"): Op(
        "Delete an empty collection", CONTENT, {204: NO_CONTENT}, (404, 409, 422), scope="admin"
    ),
    # --- entries -------------------------------------------------------------------------
    ("POST", "/v1/manage/content/{collection}"): Op(
        "Create an entry",
        CONTENT,
        {201: Reply("Created.", s.EditorEntry, headers=("ETag", "Location"))},
        ENTRY_WRITE,
        scope="content:write",
        body=_entry_body(s.NewEntryInput),
        query=(
            Param("slug", ENTRY_PATH, "With a Markdown body: the entry's path."),
            Param("file", text(max_length=600), "With a Markdown body: its source file."),
        ),
        description="The path: the file it comes from (file), else slug, else made from the "
        "front matter's slug or title. A document is stored byte for byte.",
    ),
    ("GET", "/v1/manage/content/{collection}/{slug}/source"): Op(
        "Get an entry's stored document",
        CONTENT,
        {
            200: Reply(
                "The Markdown file exactly as stored.",
                content={"text/markdown": {"type": "string"}},
                headers=("ETag", "X-CMS-File"),
            )
        },
        (400, 404, 422),
        scope="content:read",
        query=(
            Param(
                "stage",
                {"type": "string", "enum": ["draft", "published"], "default": "draft"},
                "The working copy, or the published snapshot.",
            ),
        ),
    ),
    ("POST", "/v1/manage/batch/{collection}"): Op(
        "Create or update many entries",
        CONTENT,
        {200: Reply("One result per item, in order; a bad item fails alone.", s.BatchResult)},
        (400, 404, 413, 422),
        scope="content:write",
        body=Body(s.BatchRequest),
        description="Up to 100 items (see the BatchItem schema), each created, replaced (with "
        "its if_match) and published or unpublished as asked; an item equal to the stored "
        "draft is left unchanged. Sending the same batch twice changes nothing. It answers "
        "once the items are stored; they render afterwards (render_status pending until then).",
    ),
    ("GET", "/v1/manage/content/{collection}"): Op(
        "List drafts",
        CONTENT,
        {200: Reply("A page of drafts (or published snapshots) by path.", s.DraftPage)},
        (400, 404, 422),
        scope="content:read",
        query=(
            Param(
                "status",
                {"type": "string", "enum": ["pending", "rendered", "failed"]},
                "Only entries whose render has this status.",
            ),
            Param(
                "stage",
                {"type": "string", "enum": ["draft", "published"], "default": "draft"},
                "The drafts, or the published snapshots (scheduled ones included).",
            ),
            Param(
                "state",
                {"type": "string", "enum": ["draft", "scheduled", "published", "expired"]},
                "Only drafts never published (or unpublished), scheduled, published, or past"
                " their end (expires_at, Hugo's expiryDate).",
            ),
            Param(
                "q",
                {"type": "string", "maxLength": 200},
                "Only entries whose title or path contains this (case-insensitive).",
            ),
            page_size(100, 50),
            Param("after", ENTRY_PATH, "The next_after of the previous page."),
            SECTION,
        ),
        description="With state or q, a page reads at most 1,000 entries of the index: it may "
        "hold fewer than limit items and still have a next_after.",
    ),
    ("GET", "/v1/manage/content/{collection}/{slug}"): Op(
        "Get a draft",
        CONTENT,
        {200: Reply("The draft, its render and publication.", s.EditorEntry, headers=("ETag",))},
        (404, 422),
        scope="content:read",
    ),
    ("PUT", "/v1/manage/content/{collection}/{slug}"): Op(
        "Replace (or create) a draft",
        CONTENT,
        {
            200: Reply("Replaced.", s.EditorEntry, headers=("ETag",)),
            201: Reply("Created.", s.EditorEntry, headers=("ETag", "Location")),
        },
        ENTRY_WRITE,
        scope="content:write",
        headers=(IF_MATCH,),
        body=_entry_body(),
    ),
    ("PATCH", "/v1/manage/content/{collection}/{slug}"): Op(
        "Patch a draft",
        CONTENT,
        {200: Reply("Patched.", s.EditorEntry, headers=("ETag",))},
        (400, 404, 412, 413, 422),
        scope="content:write",
        headers=(IF_MATCH,),
        body=Body(s.EntryPatch),
    ),
    ("DELETE", "/v1/manage/content/{collection}/{slug}"): Op(
        "Delete an entry",
        CONTENT,
        {204: NO_CONTENT},
        (404, 412, 422),
        scope="content:write",
        headers=(IF_MATCH,),
        description="The draft and its published snapshot; revisions stay restorable.",
    ),
    ("POST", "/v1/manage/content/{collection}/{slug}/publish"): Op(
        "Publish or schedule",
        CONTENT,
        {200: Reply("Published, or scheduled for publish_at.", s.PublishResult)},
        (400, 404, 412, 413, 422),
        scope="content:write",
        headers=(IF_MATCH,),
        body=Body(s.PublishOptions, required=False),
    ),
    ("POST", "/v1/manage/content/{collection}/{slug}/unpublish"): Op(
        "Unpublish",
        CONTENT,
        {200: Reply("Back to a draft only.", s.UnpublishResult)},
        (404, 409, 422),
        scope="content:write",
    ),
    ("GET", "/v1/manage/content/{collection}/{slug}/revisions"): Op(
        "List revisions",
        CONTENT,
        {200: Reply("Every saved revision, newest first.", s.RevisionList)},
        (404, 422),
        scope="content:read",
    ),
    ("POST", "/v1/manage/content/{collection}/{slug}/revisions/{revision}/restore"): Op(
        "Restore a revision",
        CONTENT,
        {200: Reply("The restored draft (a new revision).", s.EditorEntry, headers=("ETag",))},
        ENTRY_WRITE,
        scope="content:write",
        headers=(IF_MATCH,),
    ),
    # --- media ---------------------------------------------------------------------------
    ("POST", "/v1/manage/media"): Op(
        "Upload a file",
        MEDIA,
        {
            201: Reply(
                "Stored; variants follow.", s.EditorMediaAsset, headers=("ETag", "Location")
            ),
            200: Reply(
                "A page resource that existed: its original replaced (variants follow), or "
                "unchanged (the same bytes).",
                s.EditorMediaAsset,
                headers=("ETag",),
            ),
        },
        (400, 404, 412, 413, 422),
        scope="media:write",
        query=MEDIA_QUERY,
        body=Body(other={OTHER_TYPES: BINARY}, description="The file's bytes."),
        description="Up to CMS_MEDIA_MAX_DIRECT_BYTES; the type is sniffed from the bytes, and "
        "SVG, polyglots and mismatched types are refused (415).",
    ),
    ("POST", "/v1/manage/media/uploads"): Op(
        "Start a presigned upload",
        MEDIA,
        {
            201: Reply("The asset, and a form to post the file to.", s.UploadStart),
            200: Reply(
                "A page resource that existed: a form to replace its original, or none "
                "(upload: null) when it has the sha256 sent.",
                s.UploadStart,
            ),
        },
        (400, 404, 412, 413, 422),
        scope="media:write",
        body=Body(s.MediaUploadRequest),
    ),
    ("GET", "/v1/manage/media"): Op(
        "List media",
        MEDIA,
        {200: Reply("A page of assets, newest first; or a collection's, by path.", s.MediaPage)},
        (400,),
        scope="media:read",
        query=(
            TAG,
            Param("collection", COLLECTION, "Only this collection's page resources, by path."),
            page_size(100, 50),
            CURSOR,
        ),
    ),
    ("GET", "/v1/manage/media/{media_id}"): Op(
        "Get a media asset",
        MEDIA,
        {200: Reply("The asset.", s.EditorMediaAsset, headers=("ETag",))},
        (404, 422),
        scope="media:read",
    ),
    ("GET", "/v1/manage/media/{media_id}/original"): Op(
        "Download a media asset's original",
        MEDIA,
        {
            200: Reply(
                "The original's exact bytes (the local backend).",
                content={
                    t: BINARY
                    for t in (*FILE_TYPES, "image/gif", "image/avif", "application/octet-stream")
                },
                headers=("ETag", "Cache-Control"),
            ),
            304: NOT_MODIFIED,
            307: Reply(
                "A short-lived presigned URL of the bucket (AWS); follow it without the "
                "Authorization header.",
                headers=("Location", "ETag", "Cache-Control"),
            ),
        },
        (400, 404, 422),
        scope="media:read",
        headers=(IF_NONE_MATCH,),
        description="Never public (an image's original may carry GPS). Locally the bytes "
        "come only for an Accept header naming their type or */* (else 400).",
    ),
    ("PATCH", "/v1/manage/media/{media_id}"): Op(
        "Edit a media asset",
        MEDIA,
        {200: Reply("Edited.", s.EditorMediaAsset, headers=("ETag",))},
        (400, 404, 412, 413, 422),
        scope="media:write",
        headers=(IF_MATCH,),
        body=Body(s.MediaEdit),
    ),
    ("DELETE", "/v1/manage/media/{media_id}"): Op(
        "Delete a media asset",
        MEDIA,
        {204: NO_CONTENT},
        (404, 412, 422),
        scope="media:write",
        headers=(IF_MATCH,),
    ),
    # --- admin ---------------------------------------------------------------------------
    ("POST", "/v1/manage/keys"): Op(
        "Create an API key",
        ADMIN,
        {
            201: Reply(
                "The key, with its secret shown once.", s.ApiKeyCreated, headers=("Location",)
            )
        },
        (400, 413, 422),
        scope="admin",
        body=Body(s.ApiKeyInput),
    ),
    ("GET", "/v1/manage/keys"): Op(
        "List API keys",
        ADMIN,
        {200: Reply("Every key (no secrets).", s.ApiKeyList)},
        scope="admin",
    ),
    ("DELETE", "/v1/manage/keys/{key_id}"): Op(
        "Revoke an API key", ADMIN, {204: NO_CONTENT}, (404,), scope="admin"
    ),
    ("POST", "/v1/manage/reindex"): Op(
        "Rebuild the index from the objects",
        ADMIN,
        {200: Reply("What was indexed.", s.ReindexReport)},
        scope="admin",
        description="Synchronous; for a large bucket use `python -m chalicelib.devtools reindex`.",
    ),
    ("GET", "/v1/manage/errors"): Op(
        "Objects that could not be indexed",
        ADMIN,
        {200: Reply("Bad objects and why.", s.ObjectErrors)},
        scope="content:read",
    ),
    ("GET", "/v1/manage/events/dead-letters"): Op(
        "Dead-lettered events",
        ADMIN,
        {200: Reply("Events that failed.", s.DeadLetters)},
        scope="admin",
    ),
    ("POST", "/v1/manage/events/dead-letters/redrive"): Op(
        "Redrive dead-lettered events",
        ADMIN,
        {200: Reply("How many were sent again.", s.RedriveResult)},
        (400, 413, 422),
        scope="admin",
        body=Body(s.RedriveRequest, required=False),
    ),
    ("GET", "/v1/manage/settings"): Op(
        "Get the site settings", ADMIN, {200: Reply("The settings.", s.Settings)}, scope="admin"
    ),
    ("PUT", "/v1/manage/settings"): Op(
        "Replace the site settings",
        ADMIN,
        {200: Reply("The settings.", s.Settings)},
        (400, 413, 422),
        scope="admin",
        body=Body(s.SettingsInput),
    ),
    ("POST", "/v1/manage/webhooks"): Op(
        "Create a webhook",
        ADMIN,
        {201: Reply("The webhook, with its secret shown once.", s.WebhookCreated)},
        (400, 413, 422),
        scope="admin",
        body=Body(s.WebhookInput),
    ),
    ("GET", "/v1/manage/webhooks"): Op(
        "List webhooks", ADMIN, {200: Reply("Every webhook.", s.WebhookList)}, scope="admin"
    ),
    ("DELETE", "/v1/manage/webhooks/{webhook_id}"): Op(
        "Delete a webhook", ADMIN, {204: NO_CONTENT}, (404,), scope="admin"
    ),
    ("GET", "/v1/manage/webhooks/deliveries"): Op(
        "List webhook deliveries",
        ADMIN,
        {200: Reply("The latest deliveries.", s.DeliveryList)},
        (400,),
        scope="admin",
        query=(page_size(100, 50),),
    ),
    ("GET", "/v1/manage/webhooks/deliveries/{delivery_id}"): Op(
        "Get a webhook delivery",
        ADMIN,
        {200: Reply("The delivery and its payload.", s.DeliveryDetail)},
        (404,),
        scope="admin",
    ),
    ("POST", "/v1/manage/webhooks/deliveries/{delivery_id}/replay"): Op(
        "Replay a webhook delivery",
        ADMIN,
        {202: Reply("A new delivery of the same body, queued.", s.Delivery)},
        (404,),
        scope="admin",
    ),
    ("POST", "/v1/manage/render"): Op(
        "Render Markdown for a live preview",
        CONTENT,
        {200: Reply("The HTML; nothing is stored.", ps.RenderResult, headers=("Cache-Control",))},
        (400, 413, 422),
        scope="content:write",
        body=Body(ps.RenderInput),
        description="The editor's preview while typing: the renderer, budget and Markdown size "
        "limit of a saved entry (413 over the limit; 422 render-too-complex or render-error "
        "when the renderer refuses the document, with its reason). Answered no-store.",
    ),
    ("POST", "/v1/manage/previews"): Op(
        "Make a preview link to an entry's draft",
        CONTENT,
        {201: Reply("The link, with its token shown once.", ps.PreviewLinkCreated)},
        (400, 404, 413, 422),
        scope="content:read",
        body=Body(ps.PreviewLinkInput),
    ),
    ("GET", "/v1/manage/previews"): Op(
        "List preview links",
        CONTENT,
        {200: Reply("Every link not revoked, newest first.", ps.PreviewLinkList)},
        scope="content:read",
    ),
    ("DELETE", "/v1/manage/previews/{preview_id}"): Op(
        "Revoke a preview link", CONTENT, {204: NO_CONTENT}, (404,), scope="content:read"
    ),
}
