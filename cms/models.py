"""Typed results of the SDK: frozen dataclasses built from the API's JSON.

Each keeps the whole JSON object in ``raw`` too, so a field the server adds later is never
lost to a client that does not know it yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Json = dict[str, Any]


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class Collection:
    name: str
    title: str | None
    fields: dict[str, Any] | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> Collection:
        fields = data.get("fields")
        return cls(
            data["name"],
            _str_or_none(data.get("title")),
            fields if isinstance(fields, dict) else None,
            data,
        )


@dataclass(frozen=True)
class RenderCounts:
    """How many of a collection's drafts and published snapshots are pending, rendered and
    failed (``GET /v1/manage/collections/{name}/renders``)."""

    draft: dict[str, int]
    published: dict[str, int]
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> RenderCounts:
        return cls(dict(data["draft"]), dict(data["published"]), data)

    @property
    def pending(self) -> int:
        """Renders still to come, of either stage (an entry may count twice)."""
        return int(self.draft.get("pending", 0)) + int(self.published.get("pending", 0))


@dataclass(frozen=True)
class Draft:
    """An entry as editors see it (``GET /v1/manage/content/{c}/{slug}``): the Markdown."""

    collection: str
    slug: str  # the entry's path in its collection ('guides/setup/index')
    front_matter: Json
    body: str
    etag: str
    revision: str | None
    render_status: str
    render_error: str | None
    publication_state: str
    published_at: str | None
    raw: Json = field(repr=False, compare=False)
    file: str = ""  # its source file ('guides/setup/index.md')
    kind: str = "page"  # page, section (_index) or bundle (index)
    title: str | None = None

    @classmethod
    def from_dict(cls, data: Json) -> Draft:
        render = data.get("render") or {}
        publication = data.get("publication") or {}
        return cls(
            file=str(data.get("file") or f"{data['slug']}.md"),
            kind=str(data.get("kind", "page")),
            title=_str_or_none(data.get("title")),
            collection=data["collection"],
            slug=data["slug"],
            front_matter=dict(data.get("front_matter") or {}),
            body=str(data.get("body", "")),
            etag=str(data.get("etag", "")),
            revision=_str_or_none(data.get("revision")),
            render_status=str(render.get("status", "pending")),
            render_error=_str_or_none(render.get("error")),
            publication_state=str(publication.get("state", "draft")),
            published_at=_str_or_none(publication.get("published_at")),
            raw=data,
        )


@dataclass(frozen=True)
class Source:
    """A stored document, byte for byte (``GET .../{path}/source``)."""

    collection: str
    slug: str
    file: str  # its place in the collection ('methods/page/Params.md')
    data: bytes
    etag: str


@dataclass(frozen=True)
class DraftSummary:
    slug: str
    title: str
    tags: list[str]
    updated_at: str | None
    etag: str | None
    render_status: str
    raw: Json = field(repr=False, compare=False)
    file: str = ""
    kind: str = "page"

    @classmethod
    def from_dict(cls, data: Json) -> DraftSummary:
        return cls(
            data["slug"],
            str(data.get("title", "")),
            _strs(data.get("tags")),
            _str_or_none(data.get("updated_at")),
            _str_or_none(data.get("etag")),
            str(data.get("render_status", "")),
            data,
            str(data.get("file") or f"{data['slug']}.md"),
            str(data.get("kind", "page")),
        )


@dataclass(frozen=True)
class EntrySummary:
    """A published entry in a delivery list page."""

    collection: str
    slug: str
    title: str
    tags: list[str]
    published_at: str | None
    updated_at: str | None
    summary: str | None
    excerpt: str | None
    front_matter: Json
    raw: Json = field(repr=False, compare=False)
    kind: str = "page"
    expires_at: str | None = None  # when readers stop seeing it

    @classmethod
    def from_dict(cls, data: Json) -> EntrySummary:
        return cls(
            kind=str(data.get("kind", "page")),
            expires_at=_str_or_none(data.get("expires_at")),
            collection=str(data.get("collection", "")),
            slug=data["slug"],
            title=str(data.get("title", "")),
            tags=_strs(data.get("tags")),
            published_at=_str_or_none(data.get("published_at")),
            updated_at=_str_or_none(data.get("updated_at")),
            summary=_str_or_none(data.get("summary")),
            excerpt=_str_or_none(data.get("excerpt")),
            front_matter=dict(data.get("front_matter") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class PublishedEntry(EntrySummary):
    """``GET /v1/content/{c}/{slug}``: the summary plus sanitized HTML, toc and ETag."""

    html: str = ""
    toc: list[Any] = field(default_factory=list)
    etag: str | None = None

    @classmethod
    def from_response(cls, data: Json, etag: str | None) -> PublishedEntry:
        base = EntrySummary.from_dict(data)
        toc = data.get("toc")
        return cls(
            **{name: getattr(base, name) for name in EntrySummary.__dataclass_fields__},
            html=str(data.get("html", "")),
            toc=toc if isinstance(toc, list) else [],
            etag=etag,
        )


@dataclass(frozen=True)
class Publication:
    collection: str
    slug: str
    state: str  # "published", "scheduled", "expired" or "draft"
    published_at: str | None
    raw: Json = field(repr=False, compare=False)
    expires_at: str | None = None  # when readers stop seeing it

    @classmethod
    def from_dict(cls, data: Json) -> Publication:
        return cls(
            str(data.get("collection", "")),
            str(data.get("slug", "")),
            str(data.get("state", "")),
            _str_or_none(data.get("published_at")),
            data,
            _str_or_none(data.get("expires_at")),
        )


@dataclass(frozen=True)
class Change:
    """One item of the change feed ``GET /v1/sync``."""

    type: Literal["upsert", "delete"]
    collection: str
    slug: str
    changed_at: str
    title: str | None
    published_at: str | None
    updated_at: str | None
    tags: list[str]
    href: str | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> Change:
        kind = data.get("type")
        return cls(
            type="delete" if kind == "delete" else "upsert",
            collection=str(data["collection"]),
            slug=str(data["slug"]),
            changed_at=str(data.get("changed_at", "")),
            title=_str_or_none(data.get("title")),
            published_at=_str_or_none(data.get("published_at")),
            updated_at=_str_or_none(data.get("updated_at")),
            tags=_strs(data.get("tags")),
            href=_str_or_none(data.get("href")),
            raw=data,
        )


@dataclass(frozen=True)
class SyncPage:
    items: list[Change]
    next_cursor: str
    has_more: bool


@dataclass(frozen=True)
class Variant:
    name: str
    width: int | None
    height: int | None
    format: str | None
    content_type: str | None
    url: str

    @classmethod
    def from_dict(cls, data: Json) -> Variant:
        return cls(
            str(data["name"]),
            data.get("width") if isinstance(data.get("width"), int) else None,
            data.get("height") if isinstance(data.get("height"), int) else None,
            _str_or_none(data.get("format")),
            _str_or_none(data.get("content_type")),
            str(data.get("url", "")),
        )


@dataclass(frozen=True)
class MediaAsset:
    id: str
    status: str  # "processing", "uploading", "ready", "failed"
    filename: str | None
    alt: str | None
    kind: str | None
    content_type: str | None
    width: int | None
    height: int | None
    variants: list[Variant]
    url: str | None
    error: str | None
    raw: Json = field(repr=False, compare=False)
    collection: str | None = None  # a page resource: its collection and path
    path: str | None = None

    @classmethod
    def from_dict(cls, data: Json) -> MediaAsset:
        variants = data.get("variants")
        return cls(
            collection=_str_or_none(data.get("collection")),
            path=_str_or_none(data.get("path")),
            id=str(data["id"]),
            status=str(data.get("status", "")),
            filename=_str_or_none(data.get("filename")),
            alt=_str_or_none(data.get("alt")),
            kind=_str_or_none(data.get("kind")),
            content_type=_str_or_none(data.get("content_type")),
            width=data.get("width") if isinstance(data.get("width"), int) else None,
            height=data.get("height") if isinstance(data.get("height"), int) else None,
            variants=[Variant.from_dict(v) for v in variants] if isinstance(variants, list) else [],
            url=_str_or_none(data.get("url")),
            error=_str_or_none(data.get("error")),
            raw=data,
        )

    def best_file(self, max_width: int = 1280) -> tuple[str, str] | None:
        """(name, url) of the file a static site should copy: the widest JPEG/PNG/GIF
        variant not wider than ``max_width`` (else the narrowest), or the asset's link."""
        fallback = [v for v in self.variants if v.format not in ("webp", "avif") and v.url]
        if fallback:
            fitting = [v for v in fallback if (v.width or 0) <= max_width]
            chosen = (
                max(fitting, key=lambda v: v.width or 0)
                if fitting
                else min(fallback, key=lambda v: v.width or 0)
            )
            return chosen.name, chosen.url
        if self.url:
            return (self.url.rstrip("/").rsplit("/", 1)[-1] or "file"), self.url
        return None


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    scopes: list[str]
    created_at: str | None
    secret: str | None = None  # only when just created: the key itself, shown once
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> ApiKey:
        return cls(
            str(data["id"]),
            str(data.get("name", "")),
            _strs(data.get("scopes")),
            _str_or_none(data.get("created_at")),
            _str_or_none(data.get("key")),
            data,
        )


@dataclass(frozen=True)
class DeadLetter:
    id: str
    error: str | None
    attempts: int | None
    failed_at: str | None
    message: Any
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> DeadLetter:
        attempts = data.get("attempts")
        return cls(
            str(data["id"]),
            _str_or_none(data.get("error")),
            attempts if isinstance(attempts, int) else None,
            _str_or_none(data.get("failed_at")),
            data.get("message"),
            data,
        )


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: list[str]
    enabled: bool
    description: str
    secret: str | None = None  # only when just created: the signing secret, shown once
    raw: Json = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> Webhook:
        return cls(
            str(data["id"]),
            str(data.get("url", "")),
            _strs(data.get("events")),
            bool(data.get("enabled", True)),
            str(data.get("description", "")),
            _str_or_none(data.get("secret")),
            data,
        )


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    webhook_id: str
    event: str
    url: str
    status: str  # pending, succeeded, failed
    attempts: int
    response_status: int | None
    error: str | None
    created_at: str | None
    updated_at: str | None
    raw: Json = field(repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Json) -> WebhookDelivery:
        attempts, status = data.get("attempts"), data.get("response_status")
        return cls(
            str(data["id"]),
            str(data.get("webhook_id", "")),
            str(data.get("event", "")),
            str(data.get("url", "")),
            str(data.get("status", "")),
            attempts if isinstance(attempts, int) else 0,
            status if isinstance(status, int) else None,
            _str_or_none(data.get("error")),
            _str_or_none(data.get("created_at")),
            _str_or_none(data.get("updated_at")),
            data,
        )


@dataclass(frozen=True)
class BatchItem:
    """What to write in a batch upsert: ``publish`` True publishes, False unpublishes.
    ``document`` (a whole Markdown file, stored byte for byte) replaces front matter and
    body; ``file`` is the file's place in the collection, which names the entry."""

    front_matter: Json | None = None
    body: str = ""
    slug: str | None = None
    publish: bool | None = None
    if_match: str | None = None
    file: str | None = None
    document: str | None = None

    def to_dict(self) -> Json:
        item: Json = (
            {"document": self.document}
            if self.document is not None
            else {"front_matter": self.front_matter or {}, "body": self.body}
        )
        for name in ("slug", "file", "publish", "if_match"):
            if getattr(self, name) is not None:
                item[name] = getattr(self, name)
        return item


@dataclass(frozen=True)
class BatchResult:
    index: int
    slug: str | None
    status: str  # created, updated, unchanged, failed
    publication: str | None
    etag: str | None
    problem: Json | None
    file: str | None = None

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @classmethod
    def from_dict(cls, data: Json) -> BatchResult:
        problem = data.get("error")
        return cls(
            int(data.get("index", 0)),
            _str_or_none(data.get("slug")),
            str(data.get("status", "failed")),
            _str_or_none(data.get("publication")),
            _str_or_none(data.get("etag")),
            problem if isinstance(problem, dict) else None,
            _str_or_none(data.get("file")),
        )
