"""``media:{id}`` references in rendered HTML, resolved when the entry is delivered.

The stored HTML keeps ``<img src="media:ID" alt="...">`` as the sanitizer left it; delivery
replaces each with a ``<picture>`` (WebP and a fallback, ``srcset``, ``sizes``, ``width`` and
``height``, ``loading="lazy"``) built from the asset as it is now, so an image that finishes
processing, or is deleted, shows correctly without rendering the entry again. The markup is
built here, after sanitizing, with every value escaped.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable
from dataclasses import dataclass

from .media import MEDIA_ID_RE, MediaRecord, Variant

_IMG = re.compile(r'<img\b[^>]*?\bsrc="media:([^"]{0,200})"[^>]*>')
_LINK = re.compile(r'<a\b([^>]*?)\bhref="media:([^"]{0,200})"([^>]*)>')
_ATTR = re.compile(r'\b(alt|title)="([^"]*)"')
_MARKDOWN_REF = re.compile(r"\]\(\s*<?media:([^\s)>\"]{0,200})")

UrlFor = Callable[[MediaRecord, str], str]
MISSING = "cms-media-missing"
PENDING = "cms-media-pending"


def referenced_ids(html: str) -> list[str]:
    """The media ids an HTML fragment refers to, in order, once each."""
    if "media:" not in html:
        return []
    found = [m.group(1) for m in _IMG.finditer(html)]
    found += [m.group(2) for m in _LINK.finditer(html)]
    return list(dict.fromkeys(found))


def valid_ids(ids: list[str]) -> list[str]:
    """The ids worth looking up (anything else renders as a missing image)."""
    return [i for i in ids if MEDIA_ID_RE.fullmatch(i)]


def markdown_ids(body: str) -> list[str]:
    """The media ids a Markdown body refers to (``![alt](media:ID)`` or ``[x](media:ID)``)."""
    return list(dict.fromkeys(_MARKDOWN_REF.findall(body)))


@dataclass(frozen=True)
class Responsive:
    """The srcset pieces of a ready image."""

    width: int
    height: int
    webp: list[Variant]
    fallback: list[Variant]

    @classmethod
    def of(cls, record: MediaRecord) -> Responsive | None:
        variants = record.derived.variants
        if record.status != "ready" or record.derived.kind != "image" or not variants:
            return None
        webp = sorted((v for v in variants if v.format == "webp"), key=lambda v: v.width)
        fallback = sorted((v for v in variants if v.format != "webp"), key=lambda v: v.width)
        if fallback and [v.width for v in webp] != [v.width for v in fallback]:
            webp = []  # a WebP source without the large widths would be shown upscaled
        largest = (fallback or webp)[-1]
        return cls(largest.width, largest.height, webp, fallback)

    def srcset(self, variants: list[Variant], url: Callable[[Variant], str]) -> str:
        return ", ".join(f"{url(v)} {v.width}w" for v in variants)

    @property
    def sizes(self) -> str:
        return f"(max-width: {self.width}px) 100vw, {self.width}px"


def _attr(value: str) -> str:
    return html_lib.escape(value, quote=True)


def _picture(record: MediaRecord, alt: str, title: str | None, url_for: UrlFor) -> str | None:
    pieces = Responsive.of(record)
    if pieces is None:
        return None

    def url(v: Variant) -> str:
        return _attr(url_for(record, v.name))

    sizes = _attr(pieces.sizes)
    default = next(
        (v for v in pieces.fallback if v.width >= 1024), (pieces.fallback or pieces.webp)[-1]
    )
    parts = ["<picture>"]
    if pieces.fallback and pieces.webp:
        parts.append(
            f'<source type="image/webp" srcset="{pieces.srcset(pieces.webp, url)}" sizes="{sizes}">'
        )
    img_set = pieces.fallback or pieces.webp
    title_attr = f' title="{title}"' if title else ""
    parts.append(
        f'<img src="{url(default)}" srcset="{pieces.srcset(img_set, url)}" sizes="{sizes}"'
        f' width="{pieces.width}" height="{pieces.height}" alt="{alt}"{title_attr}'
        ' loading="lazy" decoding="async">'
    )
    parts.append("</picture>")
    return "".join(parts)


def _unavailable(media_id: str, alt: str, record: MediaRecord | None) -> str:
    if record is not None and record.status in ("uploading", "processing"):
        label, css = "image still processing", PENDING
    elif record is not None and record.status == "failed":
        label, css = "image failed to process", MISSING
    else:
        label, css = "missing image", MISSING
    shown = f": {alt}" if alt else ""
    media_id = _attr(media_id)
    return (
        f'<span class="{css}" data-media-id="{media_id}">[{label} media:{media_id}{shown}]</span>'
    )


def link_target(record: MediaRecord) -> str | None:
    """What ``[text](media:ID)`` links to: the file itself, or an image's largest variant."""
    if record.status != "ready":
        return None
    if record.derived.kind == "file":
        return "original"
    pieces = Responsive.of(record)
    if pieces is None:
        return None
    return (pieces.fallback or pieces.webp)[-1].name


def resolve(html: str, records: dict[str, MediaRecord], url_for: UrlFor) -> str:
    """``html`` with every media reference replaced (see the module docstring)."""
    if "media:" not in html:
        return html

    def image(match: re.Match[str]) -> str:
        media_id = match.group(1)
        attrs = dict(_ATTR.findall(match.group(0)))
        record = records.get(media_id)
        alt = attrs.get("alt") or (_attr(record.meta.alt) if record is not None else "")
        if record is not None:
            built = _picture(record, alt, attrs.get("title"), url_for)
            if built is not None:
                return built
            if record.status == "ready" and record.derived.kind == "file":
                label = alt or _attr(record.meta.filename)
                return f'<a href="{_attr(url_for(record, "original"))}">{label}</a>'
        return _unavailable(media_id, alt, record)

    def link(match: re.Match[str]) -> str:
        before, media_id, after = match.groups()
        record = records.get(media_id)
        target = link_target(record) if record is not None else None
        if record is None or target is None:
            return f'<a{before}class="{MISSING}" data-media-id="{_attr(media_id)}"{after}>'
        return f'<a{before}href="{_attr(url_for(record, target))}"{after}>'

    return _LINK.sub(link, _IMG.sub(image, html))
