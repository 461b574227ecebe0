"""Site settings (stored as ``settings/site`` in the config store): what feeds, the sitemap
and webhooks need to know about the site that the CMS feeds."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from .errors import FieldError, ValidationFailed
from .paths import page_url_path

WebhookEvent = Literal["entry.published", "entry.unpublished", "entry.deleted", "media.ready"]
WEBHOOK_EVENTS: tuple[str, ...] = (
    "entry.published",
    "entry.unpublished",
    "entry.deleted",
    "media.ready",
)
WEBHOOK_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
SETTINGS_NAME = "settings/site"
URL_FIELDS = ("{base_url}", "{collection}", "{slug}")


def _http_url(value: str, *, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username:
        raise ValueError(f"{name} must be an http(s) URL without credentials")
    if any(c in value for c in " \t\r\n\"'<>\\"):
        raise ValueError(f"{name} must not contain spaces, quotes or angle brackets")
    return value


class Webhook(BaseModel):
    """A target for change notifications; its signing secret is kept apart (a secret)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    id: Annotated[str, Field(pattern=WEBHOOK_ID_RE.pattern)]
    url: Annotated[str, Field(max_length=2000)]
    events: Annotated[list[WebhookEvent], Field(min_length=1)]
    enabled: bool = True
    description: Annotated[str, Field(max_length=500)] = ""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value, name="url")

    @field_validator("events")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class SiteSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    title: Annotated[str, Field(min_length=1, max_length=200)] = "Headless CMS"
    description: Annotated[str, Field(max_length=1000)] = ""
    base_url: Annotated[str | None, Field(max_length=500)] = None
    api_url: Annotated[str | None, Field(max_length=500)] = None  # this API, for media links
    language: Annotated[str, Field(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")] = "en"
    author: Annotated[str | None, Field(max_length=200)] = None
    entry_url: Annotated[str, Field(max_length=500)] = "{base_url}/{collection}/{slug}/"
    feed_size: Annotated[int, Field(ge=1, le=1000)] = 50
    webhooks: list[Webhook] = []

    @field_validator("base_url", "api_url")
    @classmethod
    def _base(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value:
            return None
        name = str(info.field_name)
        if "?" in value or "#" in value:
            raise ValueError(f"{name} must be a base URL, without a query or fragment")
        return _http_url(value, name=name).rstrip("/")

    @field_validator("entry_url")
    @classmethod
    def _template(cls, value: str) -> str:
        unknown = set(re.findall(r"\{[^}]*\}", value)) - set(URL_FIELDS)
        if unknown:
            raise ValueError(f"entry_url may use only {', '.join(URL_FIELDS)}")
        return value

    @field_validator("webhooks")
    @classmethod
    def _distinct(cls, value: list[Webhook]) -> list[Webhook]:
        ids = [w.id for w in value]
        if len(ids) != len(set(ids)):
            raise ValueError("webhook ids must be unique")
        return value

    def entry_link(self, collection: str, slug: str) -> str:
        """The page's URL on the site: ``{slug}`` is the entry's path as a site generator
        turns it into a URL ('docs/_index' -> 'docs', 'posts/a/index' -> 'posts/a')."""
        assert self.base_url is not None
        page = page_url_path(slug)
        template = self.entry_url if page else self.entry_url.replace("/{slug}/", "/")
        return (
            template.replace("{base_url}", self.base_url)
            .replace("{collection}", collection)
            .replace("{slug}", page)
        )

    def targets(self, event: str) -> list[Webhook]:
        return [w for w in self.webhooks if w.enabled and event in w.events]


def parse_settings(data: object) -> SiteSettings:
    try:
        return SiteSettings.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "", e["msg"], e["type"])
            for e in exc.errors()
        ]
        raise ValidationFailed("The site settings are invalid.", errors) from exc
