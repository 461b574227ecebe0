"""Atom feeds per collection and the sitemap: published, due entries only, every page read
(never cut at the API's page size), with a strong ETag over the document."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from ..domain.entries import EntryRecord
from ..domain.errors import Conflict
from ..domain.site import SiteSettings
from ..domain.timeutil import to_iso
from ..ports import Backend, PageQuery
from .collections import require_collection

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
SITEMAP_MAX_URLS = 50_000  # the protocol's limit for one file
PAGE = 100
HtmlOf = Callable[[EntryRecord], str]  # an entry's HTML as delivered (media resolved)


@dataclass(frozen=True)
class Document:
    body: str
    etag: str


def _document(root: ET.Element) -> Document:
    body = ET.tostring(root, encoding="unicode", xml_declaration=False)
    text = '<?xml version="1.0" encoding="utf-8"?>\n' + body
    return Document(text, '"' + hashlib.sha256(text.encode()).hexdigest()[:40] + '"')


def published(backend: Backend, collection: str, limit: int) -> Iterator[EntryRecord]:
    """Newest first, page after page, up to ``limit``."""
    now = to_iso(backend.clock.now())
    after: tuple[str, str] | None = None
    remaining = limit
    while remaining > 0:
        size = min(PAGE, remaining)
        page = backend.index.list_published(
            PageQuery(collection=collection, now=now, limit=size, after=after)
        )
        yield from page
        remaining -= len(page)
        if len(page) < size:
            return
        after = (page[-1].published_at or "", page[-1].slug)


def _need_base_url(settings: SiteSettings) -> str:
    if not settings.base_url:
        raise Conflict(
            "Set base_url in the site settings (PUT /v1/manage/settings) to publish feeds"
            " and the sitemap.",
            {"setting": "base_url"},
        )
    return settings.base_url


def atom_feed(
    backend: Backend, settings: SiteSettings, collection: str, html_of: HtmlOf
) -> Document:
    spec = require_collection(backend, collection)
    base = _need_base_url(settings)
    records = list(published(backend, collection, settings.feed_size))
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": settings.language})
    title = spec.title or collection
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}/{collection}/"
    ET.SubElement(feed, f"{{{ATOM}}}title").text = f"{settings.title}: {title}"
    if settings.description:
        ET.SubElement(feed, f"{{{ATOM}}}subtitle").text = settings.description
    updated = max((r.updated_at or r.published_at or "" for r in records), default="")
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = updated or "1970-01-01T00:00:00Z"
    ET.SubElement(
        feed, f"{{{ATOM}}}link", {"rel": "alternate", "type": "text/html", "href": f"{base}/"}
    )
    ET.SubElement(
        feed,
        f"{{{ATOM}}}link",
        {"rel": "self", "type": "application/atom+xml", "href": f"{base}/{collection}.xml"},
    )
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    ET.SubElement(author, f"{{{ATOM}}}name").text = settings.author or settings.title
    ET.SubElement(feed, f"{{{ATOM}}}generator").text = "headless-cms"
    for record in records:
        link = settings.entry_link(collection, record.slug)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        ET.SubElement(entry, f"{{{ATOM}}}id").text = link
        ET.SubElement(entry, f"{{{ATOM}}}title").text = record.title
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = record.updated_at or record.published_at
        ET.SubElement(entry, f"{{{ATOM}}}published").text = record.published_at
        ET.SubElement(entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": link})
        writer = record.front_matter.get("author")
        if isinstance(writer, str) and writer:
            ET.SubElement(
                ET.SubElement(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name"
            ).text = writer
        for tag in record.tags:
            ET.SubElement(entry, f"{{{ATOM}}}category", {"term": tag})
        if record.excerpt:
            ET.SubElement(entry, f"{{{ATOM}}}summary").text = record.excerpt
        ET.SubElement(entry, f"{{{ATOM}}}content", {"type": "html"}).text = html_of(record)
    return _document(feed)


def sitemap(backend: Backend, settings: SiteSettings) -> Document:
    _need_base_url(settings)
    ET.register_namespace("", SITEMAP)
    urlset = ET.Element(f"{{{SITEMAP}}}urlset")
    count = 0
    for collection in backend.index.list_collections():
        for record in published(backend, collection.name, SITEMAP_MAX_URLS - count):
            url = ET.SubElement(urlset, f"{{{SITEMAP}}}url")
            ET.SubElement(url, f"{{{SITEMAP}}}loc").text = settings.entry_link(
                collection.name, record.slug
            )
            ET.SubElement(url, f"{{{SITEMAP}}}lastmod").text = (
                record.updated_at or record.published_at
            )
            count += 1
    return _document(urlset)
