"""Request and response models of the preview-link routes (OpenAPI only; the service checks
the same rules: chalicelib/services/previews.py)."""

from __future__ import annotations

from pydantic import Field

from ..services.previews import MAX_SECONDS, MIN_SECONDS
from .schemas import COLLECTION_NAME, In, Out, entry_path, extra_schema


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
