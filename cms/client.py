"""The Python SDK: ``Client(url, key)`` over the CMS's REST API (chalice local or a stage).

- typed results (``cms.models``), iterators over paged lists and over the change feed;
- ``If-Match`` on updates; errors raise ``cms.errors.ApiError`` subclasses carrying the
  server's problem+json;
- 429 and 503 are retried, honouring ``Retry-After`` up to ``max_retry_wait`` seconds (a
  longer wait is not slept through: the error is raised with ``retry_after`` set); a refused
  connection is retried briefly, then ``ConnectionFailed``.

Thread-safe: each thread gets its own HTTP session, so one client can feed a thread pool.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from . import __version__
from .errors import ApiError, ConnectionFailed, Problem, error_for
from .models import (
    ApiKey,
    BatchItem,
    BatchResult,
    Change,
    Collection,
    DeadLetter,
    Draft,
    DraftSummary,
    EntrySummary,
    Json,
    MediaAsset,
    Publication,
    PublishedEntry,
    RenderCounts,
    Source,
    SyncPage,
    Webhook,
    WebhookDelivery,
)

WEBHOOKS = "/v1/manage/webhooks"
DIRECT_UPLOAD_LIMIT = 4 * 1024 * 1024  # the server's CMS_MEDIA_MAX_DIRECT_BYTES default
RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
JSON_TYPES = ("application/json", "application/problem+json")


def retry_after_seconds(header: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def sniff_content_type(data: bytes, filename: str = "") -> str:
    """The media type of a file from its first bytes (the server sniffs too; this is what a
    presigned upload must declare), else from its extension."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "image/avif"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


class Client:
    """A client of one CMS API. ``key`` is an API key (``Authorization: Bearer``); delivery
    calls work without one."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        timeout: float = 60.0,
        max_retries: int = 4,
        max_retry_wait: float = 30.0,
        connect_retries: int = 2,
        keep_alive: bool = True,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"the API URL must be http(s)://host[:port][/stage], not {url!r}")
        self.url = url.rstrip("/")
        self.key = key or None
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.connect_retries = connect_retries
        self.keep_alive = keep_alive
        self._sleep = sleep
        self._local = threading.local()

    # --- transport --------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"cms-python/{__version__}"
            self._local.session = session
        return session

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, url: str, **options: Any) -> requests.Response:
        if self.keep_alive:
            return self._session().request(method, url, timeout=self.timeout, **options)
        # one connection per request: the server closes it after answering, but without
        # saying so, and a pooled connection could be reused after the server closed it
        with requests.Session() as session:
            session.headers["User-Agent"] = f"cms-python/{__version__}"
            return session.request(method, url, timeout=self.timeout, **options)

    def _url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.url + path

    def _backoff(self, attempt: int) -> float:
        return min(self.max_retry_wait, 0.25 * 2**attempt) * (0.5 + random.random() / 2)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        data: bytes | dict[str, str] | None = None,
        files: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> requests.Response:
        """One API call with retries; raises ApiError for 4xx/5xx (304 is returned)."""
        url = self._url(path)
        sent = {"Accept": "application/json, application/problem+json;q=0.9, */*;q=0.1"}
        if auth and self.key:
            sent["Authorization"] = f"Bearer {self.key}"
        if not self.keep_alive:
            sent["Connection"] = "close"
        sent.update(headers or {})
        body = data
        if json_body is not None:
            text = json.dumps(json_body, ensure_ascii=False)
            try:  # UTF-8: what is not ASCII stays one to four bytes, not six to twelve
                body = text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: escaped, the server says what
                body = json.dumps(json_body).encode("ascii")
            sent.setdefault("Content-Type", "application/json")
        attempt = connects = 0
        while True:
            try:
                response = self._send(
                    method, url, params=params, data=body, files=files, headers=sent
                )
            except requests.ConnectionError as exc:
                # nothing was sent if the connection was never made: any method may retry
                never_sent = isinstance(exc, requests.ConnectTimeout) or "refused" in str(exc)
                if connects < self.connect_retries and (never_sent or method in IDEMPOTENT):
                    self._sleep(self._backoff(connects))
                    connects += 1
                    continue
                raise ConnectionFailed(self.url, _reason(exc)) from exc
            except requests.Timeout as exc:
                raise ConnectionFailed(self.url, f"no answer within {self.timeout:g} s") from exc
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                wait = self._backoff(attempt) if wait is None else wait
                if wait <= self.max_retry_wait:
                    self._sleep(wait)
                    attempt += 1
                    continue
            if response.status_code >= 400:
                raise self._error(response, method, url)
            return response

    @staticmethod
    def _error(response: requests.Response, method: str, url: str) -> ApiError:
        status = response.status_code
        data: Any = None
        if response.headers.get("Content-Type", "").split(";")[0].strip() in JSON_TYPES:
            try:
                data = response.json()
            except ValueError:
                data = None
        if isinstance(data, dict) and ("title" in data or "detail" in data):
            problem = Problem.from_dict(data, status)
        else:
            message = data.get("message") if isinstance(data, dict) else None
            text = message or response.text.strip()[:300]
            problem = Problem(status, response.reason or "Error", str(text or ""))
        error = error_for(problem, method, url)
        error.retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return error

    def _json(self, method: str, path: str, **options: Any) -> Any:
        response = self.request(method, path, **options)
        return response.json() if response.content else None

    # --- health, collections ----------------------------------------------------------------

    def health(self) -> Json:
        return dict(self._json("GET", "/health", auth=False))

    def list_collections(self) -> list[Collection]:
        data = self._json("GET", "/v1/manage/collections")
        return [Collection.from_dict(c) for c in data["items"]]

    def get_collection(self, name: str) -> Collection:
        return Collection.from_dict(self._json("GET", f"/v1/manage/collections/{_seg(name)}"))

    def render_counts(self, name: str) -> RenderCounts:
        """How many of a collection's entries are pending, rendered and failed, per stage."""
        path = f"/v1/manage/collections/{_seg(name)}/renders"
        return RenderCounts.from_dict(self._json("GET", path))

    def put_collection(
        self, name: str, title: str | None = None, fields: dict[str, Any] | None = None
    ) -> Collection:
        spec: Json = {"title": title or name.title()}
        if fields is not None:
            spec["fields"] = fields
        data = self._json("PUT", f"/v1/manage/collections/{_seg(name)}", json_body=spec)
        return Collection.from_dict(data)

    # --- entries (management) ---------------------------------------------------------------

    def _entry_path(self, collection: str, slug: str | None = None) -> str:
        path = f"/v1/manage/content/{_seg(collection)}"
        return path if slug is None else f"{path}/{entry_segment(slug)}"

    def create_entry(
        self,
        collection: str,
        front_matter: Json,
        body: str = "",
        *,
        slug: str | None = None,
        file: str | None = None,
    ) -> Draft:
        """A new entry at ``slug`` (a path such as 'guides/setup'), or named after the file
        it comes from, or after its front matter's slug or title."""
        payload: Json = {"front_matter": front_matter, "body": body}
        for name, value in (("slug", slug), ("file", file)):
            if value is not None:
                payload[name] = value
        return Draft.from_dict(self._json("POST", self._entry_path(collection), json_body=payload))

    def create_markdown(
        self, collection: str, document: str, *, slug: str | None = None, file: str | None = None
    ) -> Draft:
        """Create an entry from a whole Markdown document (YAML, TOML or JSON front matter),
        stored byte for byte."""
        params = {k: v for k, v in (("slug", slug), ("file", file)) if v is not None}
        data = self._json(
            "POST",
            self._entry_path(collection),
            params=params or None,
            data=document.encode("utf-8"),
            headers={"Content-Type": "text/markdown; charset=utf-8"},
        )
        return Draft.from_dict(data)

    def get_entry(self, collection: str, slug: str) -> Draft:
        return Draft.from_dict(self._json("GET", self._entry_path(collection, slug)))

    def get_source(self, collection: str, slug: str, *, stage: str = "draft") -> Source:
        """The stored document as it is (the published snapshot with ``stage='published'``)."""
        response = self.request(
            "GET",
            self._entry_path(collection, slug) + "/source",
            params={"stage": stage},
            headers={"Accept": "text/markdown"},
        )
        return Source(
            collection,
            slug,
            unquote(response.headers.get("X-CMS-File") or f"{slug}.md"),
            response.content,
            (response.headers.get("ETag") or "").strip('"'),
        )

    def replace_entry(
        self,
        collection: str,
        slug: str,
        front_matter: Json,
        body: str,
        *,
        if_match: str | None = None,
    ) -> Draft:
        """PUT; with ``if_match`` (an ETag) a concurrent change raises PreconditionFailed."""
        data = self._json(
            "PUT",
            self._entry_path(collection, slug),
            json_body={"front_matter": front_matter, "body": body},
            headers=_if_match(if_match),
        )
        return Draft.from_dict(data)

    def replace_markdown(
        self, collection: str, slug: str, document: str, *, if_match: str | None = None
    ) -> Draft:
        """PUT a whole Markdown document, stored byte for byte."""
        data = self._json(
            "PUT",
            self._entry_path(collection, slug),
            data=document.encode("utf-8"),
            headers={"Content-Type": "text/markdown; charset=utf-8", **(_if_match(if_match) or {})},
        )
        return Draft.from_dict(data)

    def update_entry(
        self,
        collection: str,
        slug: str,
        *,
        front_matter: Json | None = None,
        body: str | None = None,
        if_match: str | None = None,
    ) -> Draft:
        """PATCH: merge front matter (None values remove fields), optionally a new body."""
        changes: Json = {}
        if front_matter is not None:
            changes["front_matter"] = front_matter
        if body is not None:
            changes["body"] = body
        data = self._json(
            "PATCH",
            self._entry_path(collection, slug),
            json_body=changes,
            headers=_if_match(if_match),
        )
        return Draft.from_dict(data)

    def save(
        self, draft: Draft, front_matter: Json | None = None, body: str | None = None
    ) -> Draft:
        """Replace ``draft`` with new content, only if nobody changed it since it was read."""
        return self.replace_entry(
            draft.collection,
            draft.slug,
            draft.front_matter if front_matter is None else front_matter,
            draft.body if body is None else body,
            if_match=draft.etag,
        )

    def delete_entry(self, collection: str, slug: str, *, if_match: str | None = None) -> None:
        self.request("DELETE", self._entry_path(collection, slug), headers=_if_match(if_match))

    def publish(
        self,
        collection: str,
        slug: str,
        *,
        publish_at: str | None = None,
        if_match: str | None = None,
    ) -> Publication:
        options = {"publish_at": publish_at} if publish_at else None
        data = self._json(
            "POST",
            self._entry_path(collection, slug) + "/publish",
            json_body=options,
            headers=_if_match(if_match),
        )
        return Publication.from_dict(data)

    def unpublish(self, collection: str, slug: str) -> Publication:
        data = self._json("POST", self._entry_path(collection, slug) + "/unpublish")
        return Publication.from_dict(data)

    def drafts_page(
        self,
        collection: str,
        *,
        status: str | None = None,
        stage: str = "draft",
        limit: int = 100,
        after: str | None = None,
        section: str | None = None,
    ) -> tuple[list[DraftSummary], str | None]:
        """One page of a collection's drafts (or published snapshots) and the next ``after``."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if stage != "draft":
            params["stage"] = stage
        if after:
            params["after"] = after
        if section:
            params["section"] = section
        data = self._json("GET", self._entry_path(collection), params=params)
        return [DraftSummary.from_dict(d) for d in data["items"]], data.get("next_after")

    def iter_drafts(
        self,
        collection: str,
        *,
        status: str | None = None,
        stage: str = "draft",
        page_size: int = 100,
        section: str | None = None,
    ) -> Iterator[DraftSummary]:
        """Every draft (or published snapshot) of a collection, page by page."""
        after: str | None = None
        while True:
            items, after = self.drafts_page(
                collection,
                status=status,
                stage=stage,
                limit=page_size,
                after=after,
                section=section,
            )
            yield from items
            if not after:
                return

    def pending_renders(self, collection: str, *, up_to: int = 100) -> list[str]:
        """The slugs of a collection's drafts and published snapshots whose render is still
        pending, up to ``up_to`` per stage (a slug appears once per stage)."""
        return [
            draft.slug
            for stage in ("draft", "published")
            for draft in self.drafts_page(collection, status="pending", stage=stage, limit=up_to)[0]
        ]

    def batch_upsert(self, collection: str, items: Sequence[BatchItem]) -> list[BatchResult]:
        """Create or update up to 100 entries in one request (each result on its own)."""
        data = self._json(
            "POST",
            f"/v1/manage/batch/{_seg(collection)}",
            json_body={"items": [item.to_dict() for item in items]},
        )
        return [BatchResult.from_dict(r) for r in data["items"]]

    # --- delivery ---------------------------------------------------------------------------

    def iter_entries(
        self,
        collection: str,
        *,
        tag: str | None = None,
        sort: str | None = None,
        page_size: int = 100,
        section: str | None = None,
    ) -> Iterator[EntrySummary]:
        """Every published entry of a collection (``section``: inside that folder),
        following ``next_cursor``."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            pairs = (("tag", tag), ("sort", sort), ("cursor", cursor), ("section", section))
            for name, value in pairs:
                if value:
                    params[name] = value
            data = self._json("GET", f"/v1/content/{_seg(collection)}", params=params, auth=False)
            yield from (EntrySummary.from_dict(e) for e in data["items"])
            cursor = data.get("next_cursor")
            if not cursor:
                return

    def get_published(
        self, collection: str, slug: str, *, if_none_match: str | None = None
    ) -> PublishedEntry | None:
        """The published entry with its HTML; None when ``if_none_match`` still matches."""
        headers = {"If-None-Match": if_none_match} if if_none_match else None
        response = self.request(
            "GET",
            f"/v1/content/{_seg(collection)}/{entry_segment(slug)}",
            headers=headers,
            auth=False,
        )
        if response.status_code == 304:
            return None
        return PublishedEntry.from_response(response.json(), response.headers.get("ETag"))

    def sync_page(self, cursor: str | None = None, *, limit: int | None = None) -> SyncPage:
        params: dict[str, Any] = {}
        if cursor:
            params["cursor"] = cursor
        if limit:
            params["limit"] = limit
        data = self._json("GET", "/v1/sync", params=params, auth=False)
        return SyncPage(
            [Change.from_dict(c) for c in data["items"]],
            str(data["next_cursor"]),
            bool(data.get("has_more")),
        )

    def changes(self, cursor: str | None = None, *, page_size: int = 500) -> ChangeFeed:
        """Iterate the change feed from ``cursor`` (None: everything); afterwards
        ``feed.cursor`` is where the next sync starts. A stale cursor raises Gone (410)."""
        return ChangeFeed(self, cursor, page_size)

    # --- media ------------------------------------------------------------------------------

    def upload_media(
        self,
        data: bytes,
        filename: str,
        *,
        alt: str | None = None,
        caption: str | None = None,
        tags: Sequence[str] = (),
        content_type: str | None = None,
        collection: str | None = None,
        path: str | None = None,
    ) -> MediaAsset:
        """Upload a file: directly up to 4 MiB, else through the presigned upload form. With
        ``collection`` and ``path`` ('posts/hello/diagram.png') it is that collection's page
        resource at that path: created, or its original replaced."""
        declared = content_type or sniff_content_type(data, filename)
        place = {"collection": collection, "path": path} if collection and path else {}
        if len(data) <= DIRECT_UPLOAD_LIMIT:
            params: dict[str, Any] = {"filename": filename, **place}
            for name, value in (("alt", alt), ("caption", caption)):
                if value:
                    params[name] = value
            if tags:
                params["tags"] = ",".join(tags)
            record = self._json(
                "POST",
                "/v1/manage/media",
                params=params,
                data=data,
                headers={"Content-Type": declared},
            )
            return MediaAsset.from_dict(record)
        request: Json = {
            "filename": filename,
            "content_type": declared,
            "bytes": len(data),
            **place,
        }
        for name, value in (("alt", alt), ("caption", caption)):
            if value:
                request[name] = value
        if tags:
            request["tags"] = list(tags)
        started = self._json("POST", "/v1/manage/media/uploads", json_body=request)
        form = started["upload"]
        self.request(
            "POST",
            form["url"],
            data=form["fields"],
            files={form.get("file_field", "file"): (filename, data, declared)},
            auth=False,
        )
        return self.get_media(started["id"], manage=True)

    def get_media(self, media_id: str, *, manage: bool = False) -> MediaAsset:
        """The asset (public view: ready assets only; ``manage``: any state, needs a key)."""
        path = f"/v1/manage/media/{_seg(media_id)}" if manage else f"/v1/media/{_seg(media_id)}"
        return MediaAsset.from_dict(self._json("GET", path, auth=manage))

    def iter_media(
        self, *, tag: str | None = None, collection: str | None = None, page_size: int = 100
    ) -> Iterator[MediaAsset]:
        """Every asset (``tag``: with that tag; ``collection``: that collection's page
        resources), newest first."""
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if tag:
                params["tag"] = tag
            if collection:
                params["collection"] = collection
            if cursor:
                params["cursor"] = cursor
            data = self._json("GET", "/v1/manage/media", params=params)
            yield from (MediaAsset.from_dict(m) for m in data["items"])
            cursor = data.get("next_cursor")
            if not cursor:
                return

    def download_original(self, media_id: str) -> bytes:
        """The exact bytes that were uploaded (a key with media:read)."""
        path = f"/v1/manage/media/{_seg(media_id)}/original"
        return self.request("GET", path, headers={"Accept": "*/*"}).content

    def download(self, url: str) -> bytes:
        """The bytes at a media URL (absolute, or a path on this API); redirects followed."""
        return self.request("GET", url, headers={"Accept": "*/*"}, auth=False).content

    # --- admin ------------------------------------------------------------------------------

    def create_key(self, name: str, scopes: Sequence[str]) -> ApiKey:
        data = self._json(
            "POST", "/v1/manage/keys", json_body={"name": name, "scopes": list(scopes)}
        )
        return ApiKey.from_dict(data)

    def list_keys(self) -> list[ApiKey]:
        return [ApiKey.from_dict(k) for k in self._json("GET", "/v1/manage/keys")["items"]]

    def revoke_key(self, key_id: str) -> None:
        self.request("DELETE", f"/v1/manage/keys/{_seg(key_id)}")

    def reindex(self) -> Json:
        return dict(self._json("POST", "/v1/manage/reindex"))

    def create_webhook(self, url: str, events: Sequence[str], *, description: str = "") -> Webhook:
        """A webhook target; the answer carries its signing secret, shown this once."""
        body: Json = {"url": url, "events": list(events)}
        if description:
            body["description"] = description
        return Webhook.from_dict(self._json("POST", WEBHOOKS, json_body=body))

    def list_webhooks(self) -> list[Webhook]:
        return [Webhook.from_dict(w) for w in self._json("GET", WEBHOOKS)["items"]]

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"{WEBHOOKS}/{_seg(webhook_id)}")

    def webhook_deliveries(self, *, limit: int = 50) -> list[WebhookDelivery]:
        """The latest deliveries, newest first, with their outcome."""
        data = self._json("GET", f"{WEBHOOKS}/deliveries", params={"limit": limit})
        return [WebhookDelivery.from_dict(d) for d in data["items"]]

    def replay_delivery(self, delivery_id: str) -> WebhookDelivery:
        """Send a delivery's exact body again (a new delivery, returned)."""
        path = f"{WEBHOOKS}/deliveries/{_seg(delivery_id)}/replay"
        return WebhookDelivery.from_dict(self._json("POST", path))

    def dead_letters(self) -> list[DeadLetter]:
        data = self._json("GET", "/v1/manage/events/dead-letters")
        return [DeadLetter.from_dict(d) for d in data["items"]]

    def redrive(self, ids: Sequence[str] | None = None) -> int:
        body = {"ids": list(ids)} if ids else None
        data = self._json("POST", "/v1/manage/events/dead-letters/redrive", json_body=body)
        return int(data["redriven"])


class ChangeFeed:
    """An iterator over the change feed. ``cursor`` advances once a page has been fully
    iterated, so an interrupted loop resumes at the first page it did not finish."""

    def __init__(self, client: Client, cursor: str | None, page_size: int) -> None:
        self.client = client
        self.cursor = cursor
        self.page_size = page_size

    def pages(self) -> Iterator[SyncPage]:
        while True:
            page = self.client.sync_page(self.cursor, limit=self.page_size)
            yield page
            self.cursor = page.next_cursor
            if not page.has_more:
                return

    def __iter__(self) -> Iterator[Change]:
        for page in self.pages():
            yield from page.items


def _seg(value: str) -> str:
    return quote(value, safe="")


def entry_segment(path: str) -> str:
    """An entry's path as one URL segment: '/' is written '~' ('guides/setup' ->
    'guides~setup'), so no path can be taken for a route."""
    return quote(path.replace("/", "~"), safe="~")


def _if_match(etag: str | None) -> dict[str, str] | None:
    if not etag:
        return None
    return {"If-Match": etag if etag.startswith(('"', "W/")) or etag == "*" else f'"{etag}"'}


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out"):
        if marker.lower() in text.lower():
            return marker.lower()
    return text[:200]
