"""Feeds and the sitemap for sites and readers; site settings for admins."""

from __future__ import annotations

from chalice import Blueprint, Response

from ..domain.entries import EntryRecord
from ..domain.errors import NotFound
from ..services import delivery, feeds, site
from ..wiring import container
from .auth import require
from .http import JSON, json_object, json_response, none_match, route
from .media import urls

bp = Blueprint(__name__)
ATOM_TYPE = "application/atom+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
CACHE = "public, max-age=300"


def _xml(document: feeds.Document, content_type: str) -> Response:
    headers = {"ETag": document.etag, "Cache-Control": CACHE}
    if none_match(bp.current_request, document.etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(
        body=document.body, status_code=200, headers={"Content-Type": content_type, **headers}
    )


@route(bp, "/v1/feeds/{name}", methods=["GET"])
def feed(name: str) -> Response:
    collection, dot, extension = name.rpartition(".")
    if not dot or extension != "xml":
        raise NotFound("Feeds are at /v1/feeds/{collection}.xml (Atom).")
    c = container()
    resolve = urls(c, bp.current_request).stable

    def html_of(record: EntryRecord) -> str:
        entry = delivery.PublishedEntry(record, delivery.entity_tag(record))
        return delivery.delivered_html(c.backend, entry, resolve)

    settings = site.get_settings(c.backend)
    return _xml(feeds.atom_feed(c.backend, settings, collection, html_of), ATOM_TYPE)


@route(bp, "/sitemap.xml", methods=["GET"])
def sitemap() -> Response:
    c = container()
    return _xml(feeds.sitemap(c.backend, site.get_settings(c.backend)), XML_TYPE)


@route(bp, "/v1/manage/settings", methods=["GET"])
def get_settings() -> Response:
    require(bp.current_request, "admin")
    settings = site.get_settings(container().backend)
    return json_response(site.public_view(settings), headers={"Cache-Control": "no-store"})


@route(bp, "/v1/manage/settings", methods=["PUT"], content_types=[JSON])
def put_settings() -> Response:
    require(bp.current_request, "admin")
    settings = site.put_settings(container().backend, json_object(bp.current_request))
    return json_response(site.public_view(settings), headers={"Cache-Control": "no-store"})
