"""The editor's live preview: Markdown rendered as it is being typed, stored nowhere.

A saved draft is rendered by the object event, after the write; a preview that follows the
keyboard needs the same renderer at once, on text that was never saved. It renders through
the Renderer port under the same budget and size limit as a saved entry, and resolves media
as delivery would, so the preview shows what the site will.
"""

from __future__ import annotations

from typing import Any

from ..domain import frontmatter
from ..domain.entries import EntryRecord, cap_toc
from ..domain.errors import FieldError, RenderFailed, RenderTooComplex, ValidationFailed
from ..domain.limits import Limits
from ..domain.media_html import UrlFor
from ..domain.names import validate_collection_name
from ..domain.paths import validate_path
from ..domain.render_budget import TOO_COMPLEX, RenderRefused
from ..ports import Backend
from .delivery import resolve_media
from .entries import check_markdown_size, media_warnings

FIELDS = frozenset({"body", "front_matter", "collection", "slug"})


def _entry(backend: Backend, data: dict[str, Any]) -> EntryRecord | None:
    """The draft whose page resources relative images name (``collection`` and ``slug``)."""
    collection, slug = data.get("collection"), data.get("slug")
    if collection is None and slug is None:
        return None
    if collection is None or slug is None:
        missing = "collection" if collection is None else "slug"
        raise ValidationFailed(
            "collection and slug go together: the entry whose page resources to show.",
            [FieldError(missing, "required with the other", "missing")],
        )
    validate_collection_name(collection)
    path = validate_path(slug.replace("~", "/") if isinstance(slug, str) else slug)
    record = backend.index.get_entry(collection, "draft", path)
    return None if record is None or record.deleted else record


def _input(data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    unknown = sorted(set(data) - FIELDS)
    errors = [FieldError(name, "unknown field", "unknown-field") for name in unknown]
    body, front_matter = data.get("body"), data.get("front_matter", {})
    if not isinstance(body, str) or not frontmatter.is_utf8(body):
        errors.append(FieldError("body", "must be a string of valid Unicode", "type"))
    if not isinstance(front_matter, dict):
        errors.append(FieldError("front_matter", "must be an object", "type"))
    if errors:
        raise ValidationFailed("The preview request is invalid.", errors)
    frontmatter.check_json_compatible(front_matter)
    return body, front_matter


def render(
    backend: Backend, limits: Limits, data: dict[str, Any], url_for: UrlFor
) -> dict[str, Any]:
    """``{"body": markdown, "front_matter": {...}}`` (optionally ``collection`` and ``slug``
    of the entry, for its page resources) as HTML, with its table of contents."""
    body, front_matter = _input(data)
    check_markdown_size(body, limits)
    record = _entry(backend, data)
    try:
        rendered = backend.renderer.render(
            body, summary=None, front_matter=front_matter, budget=limits.render_budget
        )
    except RenderRefused as refused:
        error = RenderTooComplex if refused.code == TOO_COMPLEX else RenderFailed
        raise error(str(refused), {"reason": refused.code}) from None
    return {
        "html": resolve_media(backend, rendered.html, url_for, record),
        "toc": cap_toc(rendered.toc),
        "word_count": rendered.word_count,
        "reading_time_minutes": rendered.reading_time_minutes,
        "media_warnings": media_warnings(backend, body),
        "preview": True,
    }
