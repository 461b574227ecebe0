"""Rules for collection names, slugs and tags: validated, normalized, never a path escape.
Entry paths (slugs joined by '/') are in ``paths``."""

from __future__ import annotations

import re
import unicodedata

from .errors import FieldError, ValidationFailed

COLLECTION_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$")
MAX_SLUG_LENGTH = 120
MAX_TAG_LENGTH = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _describe_bad_name(value: str) -> str:
    if not value:
        return "must not be empty"
    if "\x00" in value or _CONTROL.search(value):
        return "must not contain NUL or control characters"
    if ".." in value or "/" in value or "\\" in value:
        return "must not contain '..', '/' or '\\'"
    return "may use only a-z, 0-9 and '-' (and '_' in collection names)"


def validate_collection_name(name: str) -> str:
    if not isinstance(name, str) or not COLLECTION_RE.fullmatch(name):
        detail = f"Collection name {name!r} {_describe_bad_name(str(name))}."
        raise ValidationFailed(detail, [FieldError("collection", detail, "invalid-name")])
    return name


def slugify(text: str) -> str:
    """An ASCII-safe slug from any Unicode title ('Ünïcode & Café' -> 'unicode-cafe')."""
    from slugify import slugify as _transliterating_slugify  # python-slugify

    slug = _transliterating_slugify(
        unicodedata.normalize("NFKC", text), max_length=MAX_SLUG_LENGTH, word_boundary=True
    )
    if not slug:
        raise ValidationFailed(
            "Cannot derive a slug from the title; give a slug explicitly.",
            [FieldError("slug", "no letters or digits to build a slug from", "invalid-slug")],
        )
    return slug


def normalize_tag(tag: str) -> str:
    """Tags compare case-insensitively: stored trimmed, lower-cased, inner spaces kept single."""
    normalized = " ".join(unicodedata.normalize("NFKC", tag).split()).lower()
    if not normalized or _CONTROL.search(normalized) or len(normalized) > MAX_TAG_LENGTH:
        raise ValueError(f"a tag must be 1-{MAX_TAG_LENGTH} printable characters")
    return normalized
