"""Request and response models of the preview routes, links and the live preview (OpenAPI
only; the services check the same rules: chalicelib/services/previews.py, live_preview.py)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from ..services.previews import MAX_SECONDS, MIN_SECONDS
from .schemas import (
    COLLECTION_NAME,
    In,
    MediaWarning,
    Out,
    TocItem,
    entry_path,
    extra_schema,
    nullable,
    omittable,
)


class PreviewLinkInput(In):
    collection: str = Field(
        description="The entry's collection.", json_schema_extra=extra_schema(COLLECTION_NAME)
    )
    slug: str = Field(
        description="The entry's path ('posts/hello' or 'posts~hello').",
        json_schema_extra=extra_schema(entry_path("/~")),
    )
    expires_in: int | None = Field(
        24 * 3600,
        ge=MIN_SECONDS,
        le=MAX_SECONDS,
        description="Seconds the link stays valid (absent or null: a day).",
    )


class PreviewLink(Out):
    id: str
    collection: str
    slug: str
    expires_at: str
    created_at: str
    created_by: str = Field(description="The id of the key that made it.")


class PreviewLinkCreated(PreviewLink):
    token: str = Field(description="The signed token, shown this once.")
    url: str = Field(description="The delivery URL that opens the draft: ...?preview=<token>.")


class PreviewLinkList(Out):
    items: list[PreviewLink]


# services.live_preview: collection and slug go together, or neither is sent (or null).
_ENTRY_OR_NONE = {
    "anyOf": [
        {"properties": {"collection": {"type": "null"}, "slug": {"type": "null"}}},
        {
            "required": ["collection", "slug"],
            "properties": {"collection": {"type": "string"}, "slug": {"type": "string"}},
        },
    ]
}


class RenderInput(In):
    """Markdown being edited, rendered as it is; nothing is stored."""

    model_config = ConfigDict(json_schema_extra=extra_schema(_ENTRY_OR_NONE))

    body: str = Field(description="The Markdown body (the same size limit as an entry's).")
    front_matter: dict[str, Any] | SkipJsonSchema[None] = omittable(
        description="The front matter as it stands (shortcodes may read it); not validated."
    )
    collection: str | None = Field(
        default=None,
        description="With slug: the entry, whose page resources relative images name.",
        json_schema_extra=extra_schema(nullable(COLLECTION_NAME)),
    )
    slug: str | None = Field(
        default=None,
        description="With collection: the entry's path.",
        json_schema_extra=extra_schema(nullable(entry_path("/~"))),
    )


class RenderResult(Out):
    html: str = Field(description="Sanitized HTML, media resolved as delivery resolves them.")
    toc: list[TocItem]
    word_count: int
    reading_time_minutes: int
    media_warnings: list[MediaWarning]
    preview: Literal[True]
