"""The ports: what services need from storage, the index, configuration and time.

Adapters (local: files + SQLite; AWS: S3 + DynamoDB + SSM) implement these Protocols.
Services import this module and the domain, never an adapter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .domain.changes import Change
from .domain.collections import Collection
from .domain.entries import EntryRecord, RenderStatus, Stage
from .domain.media import MediaDerived, MediaMeta, MediaRecord
from .domain.object_keys import InvalidObjectKey as InvalidObjectKey  # re-exported
from .domain.render_budget import RenderBudget, render_within
from .domain.rendering import Rendered
from .domain.webhooks import Delivery

# --- Object store (S3-shaped) -------------------------------------------------------------


class ObjectNotFound(Exception):
    """The key (or the version asked for) does not exist or is deleted."""


class ObjectPreconditionFailed(Exception):
    """A conditional write lost: the object changed (If-Match) or exists (If-None-Match)."""


class OtherFile(Exception):
    """An event write found the entry's row live with another source file (two files that
    make one path): the event handler decides which file the entry is."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        self.file = file


class StorageUnavailable(Exception):
    """The storage service failed after its own retries; the request may be retried later."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    version_id: str
    etag: str
    size: int
    last_modified: dt.datetime
    content_type: str = "application/octet-stream"
    metadata: Mapping[str, str] = field(default_factory=dict)
    is_latest: bool = True
    is_delete_marker: bool = False


@dataclass(frozen=True)
class StoredObject:
    info: ObjectInfo
    data: bytes


class ObjectStore(Protocol):
    def put(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
    ) -> ObjectInfo:
        """Write a new version. ``if_match``: only over that ETag; ``if_none_match``: only
        if the key has no current object. Raises ObjectPreconditionFailed otherwise."""
        ...

    def get(self, key: str, *, version_id: str | None = None) -> StoredObject: ...

    def head(self, key: str) -> ObjectInfo | None: ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Hide the current object behind a delete marker (versions are kept)."""
        ...

    def list_versions(self, key: str) -> list[ObjectInfo]:
        """Every version of one key, newest first, delete markers included."""
        ...

    def list_objects(self, prefix: str, *, shallow: bool = False) -> Iterator[ObjectInfo]:
        """The current (not deleted) objects under a prefix, in key order; ``shallow``: only
        those with no '/' after the prefix (one folder, as S3's delimiter lists it)."""
        ...

    def list_folders(self, prefix: str) -> list[str]:
        """The folders directly under a prefix ('content/docs/Guide/'), in key order: S3's
        common prefixes with the '/' delimiter."""
        ...


# --- Index --------------------------------------------------------------------------------

SortOrder = Literal["-published_at", "published_at", "title"]
SORT_ORDERS: tuple[SortOrder, ...] = ("-published_at", "published_at", "title")


@dataclass(frozen=True)
class PageQuery:
    """One page of published, due entries of a collection, after a keyset position."""

    collection: str
    now: str
    sort: SortOrder = "-published_at"
    tag: str | None = None
    limit: int = 20
    after: tuple[str, str] | None = None  # (sort value, slug) of the last item seen
    section: str | None = None  # only entries whose path is inside this folder


@dataclass(frozen=True)
class ManageQuery:
    """One page of an entry stage for editors: all entries, optionally by render status."""

    collection: str
    stage: Stage = "draft"
    status: str | None = None
    limit: int = 50
    after: str | None = None  # the last slug seen
    section: str | None = None  # only entries whose path is inside this folder


@dataclass(frozen=True)
class ObjectError:
    key: str
    error: str
    sequencer: str | None
    recorded_at: str


class Index(Protocol):
    # entries
    def get_entry(
        self, collection: str, stage: Stage, slug: str, *, consistent: bool = False
    ) -> EntryRecord | None:
        """One stage of an entry; ``consistent``: read after the latest write (DynamoDB)."""
        ...

    def stage_entry(self, record: EntryRecord, *, expected_etag: str | None) -> bool:
        """The API's write: apply iff the row's source ETag is ``expected_etag`` (None: no
        live row). New rows get every field; existing rows only the source fields and a
        pending status (the render event fills in the rest)."""
        ...

    def stage_removal(
        self, collection: str, stage: Stage, slug: str, *, expected_etag: str | None
    ) -> bool: ...

    def apply_render(self, record: EntryRecord, *, replace_file: bool = False) -> bool:
        """The event handler's write of a rendered (or removed: ``record.deleted``) entry,
        applied iff ``record.sequencer`` is newer than the row's (sequencers order the
        events of one key only: a row of another file is not compared); it also clears any
        object error recorded for the entry's key. Raises OtherFile if the row is live and
        of another file, unless ``replace_file``."""
        ...

    def apply_failure(
        self,
        collection: str,
        stage: Stage,
        slug: str,
        *,
        error: str,
        source_etag: str | None,
        version_id: str | None,
        sequencer: str,
        file: str | None = None,
        replace_file: bool = False,
    ) -> bool:
        """Mark a stage failed, keeping its last good rendering; iff the sequencer is newer.
        OtherFile as for ``apply_render``."""
        ...

    def list_published(self, query: PageQuery) -> list[EntryRecord]:
        """Up to ``query.limit`` rendered, published, due entries in the asked order."""
        ...

    def list_entries(self, query: ManageQuery) -> list[EntryRecord]: ...

    # collections
    def get_collection(self, name: str) -> Collection | None: ...

    def put_collection(self, collection: Collection) -> None: ...

    def delete_collection(self, name: str) -> None: ...

    def list_collections(self) -> list[Collection]: ...

    def count_entries(self, collection: str) -> int: ...

    def count_renders(self, collection: str) -> dict[Stage, dict[RenderStatus, int]]:
        """How many live drafts and published snapshots are pending, rendered and failed."""
        ...

    # objects that could not be indexed (unknown collection, bad key, ...)
    def record_object_error(self, key: str, error: str, sequencer: str | None) -> None: ...

    def clear_object_error(self, key: str) -> None: ...

    def list_object_errors(self, limit: int = 100) -> list[ObjectError]: ...

    # the change log (domain.changes): one row per published entry, its latest change
    def list_changes(self, after: str, until: str, limit: int) -> list[Change]:
        """Changes with ``after < position <= until``, in position order (one Query)."""
        ...

    def change_epoch(self, *, fresh: bool = False) -> str:
        """An id of this log's lifetime: ``clear`` ends it, so cursors from before a
        rebuild are recognised as such. An adapter may cache it; ``fresh`` reads it now."""
        ...

    # maintenance (never on a request path)
    def clear(self) -> None:
        """Remove everything: the first step of a rebuild from the object store."""
        ...


# --- Media index -------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaQuery:
    """One page of assets, newest first (ids sort by creation time), optionally by tag."""

    tag: str | None = None
    limit: int = 50
    after: str | None = None  # the last id seen
    collection: str | None = None  # its page resources instead, by path: after = last path


class MediaIndex(Protocol):
    def get_media(self, media_id: str) -> MediaRecord | None: ...

    def get_media_many(self, media_ids: list[str]) -> dict[str, MediaRecord]:
        """The rows of those ids that exist (one read for a whole entry's images)."""
        ...

    def list_media(self, query: MediaQuery) -> list[MediaRecord]: ...

    def put_media_meta(self, meta: MediaMeta, *, sequencer: str | None) -> bool:
        """Write the editor's metadata (``domain.media.merge_meta`` decides); creates the row."""
        ...

    def put_media_derived(
        self, media_id: str, derived: MediaDerived, *, sequencer: str | None
    ) -> bool:
        """Write what the original yielded (``domain.media.merge_derived`` decides)."""
        ...

    def delete_media(self, media_id: str) -> None: ...

    def clear(self) -> None: ...


# --- Links for direct transfers -----------------------------------------------------------


@dataclass(frozen=True)
class UploadForm:
    """A form a client POSTs (multipart) with the file as its last field, ``file``."""

    url: str  # absolute, or a path on this API (the local backend) to resolve per request
    fields: dict[str, str]
    expires_at: str
    max_bytes: int


class FileLinks(Protocol):
    def download_url(
        self, key: str, *, filename: str | None = None, cache_control: str | None = None
    ) -> str | None:
        """A URL that serves the object without this API (as an attachment named
        ``filename``, with ``cache_control``), or None: the API serves it."""
        ...

    def upload_form(
        self, key: str, *, content_type: str, max_bytes: int, expires_in: int
    ) -> UploadForm:
        """A presigned form: the store itself refuses another key, type or a larger file."""
        ...


# --- Configuration ------------------------------------------------------------------------


class ConfigStore(Protocol):
    """Settings and secrets by name ('settings/site', 'keys/<id>', 'secrets/cursor')."""

    def get(self, name: str) -> str | None: ...

    def put(self, name: str, value: str, *, secret: bool = False) -> None: ...

    def put_if_absent(self, name: str, value: str, *, secret: bool = False) -> str:
        """Store ``value`` unless the name exists; returns what is stored either way (two
        containers creating the same secret agree on one)."""
        ...

    def delete(self, name: str) -> None: ...

    def list(self, prefix: str) -> dict[str, str]: ...


# --- Event failures (the dead-letter queue) ------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    id: str
    body: dict[str, Any]
    error: str
    attempts: int
    failed_at: str


class DeadLetters(Protocol):
    def list(self, limit: int = 100) -> list[DeadLetter]: ...

    def redrive(self, ids: list[str] | None = None) -> int:
        """Send dead letters (all, or those ids) back to the queue; returns how many."""
        ...


# --- Webhooks: the delivery log and the outbox they are sent through ------------------------


class WebhookLog(Protocol):
    """Each delivery and its outcome; kept across index rebuilds (not derived from objects)."""

    def put_delivery(self, delivery: Delivery) -> None: ...

    def get_delivery(self, delivery_id: str) -> Delivery | None: ...

    def list_deliveries(self, limit: int = 100) -> list[Delivery]:
        """Newest first."""
        ...


class Outbox(Protocol):
    """Messages for the event handlers that are not S3 events (webhook deliveries): the
    local event queue, or an SQS queue with its dead-letter queue."""

    def send(self, message: dict[str, Any], *, delay_seconds: int = 0) -> None: ...


# --- Time ---------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class Renderer(Protocol):
    """Renders one entry's Markdown under a budget; ``RenderRefused`` when it will not."""

    def render(
        self,
        body: str,
        *,
        summary: str | None,
        front_matter: dict[str, Any] | None,
        budget: RenderBudget,
    ) -> Rendered: ...


class InProcessRenderer:
    """In the calling thread: the CPU budget holds where signals reach (a Lambda handler, a
    process's main thread); the local backend renders in worker processes instead."""

    def render(
        self,
        body: str,
        *,
        summary: str | None,
        front_matter: dict[str, Any] | None,
        budget: RenderBudget,
    ) -> Rendered:
        return render_within(budget, body, summary=summary, front_matter=front_matter)


@dataclass
class Backend:
    """Everything a service may touch, bundled once per container."""

    objects: ObjectStore
    index: Index
    config: ConfigStore
    dead_letters: DeadLetters
    media: MediaIndex
    links: FileLinks
    webhook_log: WebhookLog
    outbox: Outbox
    clock: Clock = field(default_factory=SystemClock)
    renderer: Renderer = field(default_factory=InProcessRenderer)
