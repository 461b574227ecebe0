"""Image references in rendered HTML, resolved when the entry is delivered.

The stored HTML keeps ``<img src="media:ID" alt="...">`` as the sanitizer left it; delivery
replaces each with a ``<picture>`` (WebP and a fallback, ``srcset``, ``sizes``, ``width`` and
``height``, ``loading="lazy"``) built from the asset as it is now, so an image that finishes
processing, or is deleted, shows correctly without rendering the entry again. The markup is
built here, after sanitizing, with every value escaped.

A relative reference (``<img src="diagram.png">``, as an imported site wrote it) names a page
resource: ``resource_path`` turns it into the file's path in the collection, delivery looks up
``media.resource_id(collection, path)``, and ``resolve`` writes the same ``<picture>`` for it
when the asset is ready; otherwise the ``<img>`` stays exactly as written (the site may serve
that file itself).
"""

from __future__ import annotations

import html as html_lib
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import ValidationFailed
from .media import MEDIA_ID_RE, MediaRecord, Variant, validate_resource_path

_IMG = re.compile(r'<img\b[^>]*?\bsrc="media:([^"]{0,200})"[^>]*>')
_ANY_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\ssrc="([^"]*)"')
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_URL_SPACE = " \t\n\r\f"  # stripped from both ends of a URL attribute, as browsers do
MAX_SRC = 2048
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


def _src(tag: str) -> str | None:
    """The URL an ``<img>`` tag's ``src`` holds (entities decoded, spaces trimmed)."""
    found = _SRC.search(tag)
    if found is None:
        return None
    return html_lib.unescape(found.group(1)).strip(_URL_SPACE)


def _is_relative(src: str) -> bool:
    return (
        0 < len(src) <= MAX_SRC
        and not src.startswith(("/", "#", "?", "\\"))
        and not _SCHEME.match(src)
    )


def relative_images(html: str) -> list[str]:
    """The relative ``src`` values of the ``<img>`` tags in sanitized HTML (no scheme, so
    neither ``media:`` nor ``https:``; not starting with '/', '//', '#' or '?'), in order,
    once each, as URLs: entities decoded, surrounding spaces trimmed. These are the keys of
    ``resolve``'s ``resources``."""
    if "<img" not in html:
        return []
    found = (_src(tag.group(0)) for tag in _ANY_IMG.finditer(html))
    return list(dict.fromkeys(src for src in found if src is not None and _is_relative(src)))


def resource_path(entry_file: str, src: str) -> str | None:
    """The collection-relative path of the file ``src`` points at from the entry's file
    (``posts/hello/index.md`` + ``images/a.png`` -> ``posts/hello/images/a.png``), or None:
    not a relative reference, a path that climbs out of the collection, or one that is not
    a valid resource path once percent-decoded. Query and fragment are dropped."""
    src = src.strip(_URL_SPACE)
    if not _is_relative(src):
        return None
    reference = re.split(r"[?#]", src, maxsplit=1)[0]
    try:
        decoded = unquote(reference, errors="strict")
    except UnicodeDecodeError:
        return None
    if not decoded or decoded.startswith("/") or "\\" in decoded:
        return None
    folder = posixpath.dirname(entry_file)
    segments: list[str] = []
    for segment in [*folder.split("/"), *decoded.split("/")] if folder else decoded.split("/"):
        if segment == ".":
            continue
        if segment == "..":
            if not segments:
                return None  # above the collection's root
            segments.pop()
            continue
        segments.append(segment)  # an empty one (a//b) is refused below
    try:
        return validate_resource_path("/".join(segments))
    except ValidationFailed:
        return None


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


def resolve(
    html: str,
    records: dict[str, MediaRecord],
    url_for: UrlFor,
    resources: dict[str, str] | None = None,
) -> str:
    """``html`` with every media reference replaced (see the module docstring).

    ``records``: the assets by id (those of ``media:`` references and of resources);
    ``resources``: relative ``src`` (as ``relative_images`` gives it) -> media id. A relative
    image whose asset is not in ``records`` or not a ready image is left as it is."""
    if "media:" not in html and not resources:
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

    def relative(tag: str) -> str:
        src = _src(tag)
        media_id = resources.get(src) if resources and src is not None else None
        record = records.get(media_id) if media_id is not None else None
        if record is None:
            return tag
        attrs = dict(_ATTR.findall(tag))
        alt = attrs.get("alt") or _attr(record.meta.alt)
        return _picture(record, alt, attrs.get("title"), url_for) or tag

    def any_image(match: re.Match[str]) -> str:
        tag = match.group(0)
        reference = _IMG.fullmatch(tag)
        if reference is not None:
            return image(reference)
        return relative(tag) if resources else tag

    def link(match: re.Match[str]) -> str:
        before, media_id, after = match.groups()
        record = records.get(media_id)
        target = link_target(record) if record is not None else None
        if record is None or target is None:
            return f'<a{before}class="{MISSING}" data-media-id="{_attr(media_id)}"{after}>'
        return f'<a{before}href="{_attr(url_for(record, target))}"{after}>'

    resolved = _ANY_IMG.sub(any_image, html)
    return _LINK.sub(link, resolved) if "media:" in html else resolved
