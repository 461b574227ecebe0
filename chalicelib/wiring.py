"""Builds the backend once per container (Lambda execution environment or local process)."""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .domain.limits import Limits
from .domain.media import MediaSettings
from .domain.render_budget import RenderBudget
from .ports import Backend

if TYPE_CHECKING:
    from .adapters.local.render_workers import RenderWorkers

log = logging.getLogger(__name__)

_lock = threading.Lock()
_container: Container | None = None


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    return float(raw) if raw.replace(".", "", 1).isdigit() else default


def limits_from_env(*, settle_default: float = 0.0) -> Limits:
    base = Limits()
    return Limits(
        sync_settle_seconds=_float_env("CMS_SYNC_SETTLE_SECONDS", settle_default),
        max_body_bytes=_int_env("CMS_MAX_BODY_BYTES", base.max_body_bytes),
        max_markdown_bytes=_int_env("CMS_MAX_MARKDOWN_BYTES", base.max_markdown_bytes),
        media=MediaSettings.from_env(),
        render_budget=RenderBudget(
            cpu_seconds=_float_env("CMS_RENDER_BUDGET_SECONDS", RenderBudget.cpu_seconds),
            max_depth=_int_env("CMS_RENDER_MAX_DEPTH", RenderBudget.max_depth),
        ),
    )


@dataclass
class Container:
    backend: Backend
    limits: Limits
    backend_name: str
    events: Any = None  # local backend: a LocalEventDelivery (S3-shaped events in process)
    closers: list[Any] = field(default_factory=list, repr=False)
    _cursor_secret: bytes | None = field(default=None, repr=False)

    @property
    def cursor_secret(self) -> bytes:
        if self._cursor_secret is None:
            name = "secrets/cursor-signing-key"
            value = self.backend.config.get(name)
            if value is None:
                value = self.backend.config.put_if_absent(name, secrets.token_hex(32), secret=True)
            self._cursor_secret = bytes.fromhex(value)
        return self._cursor_secret

    def close(self) -> None:
        for close in self.closers:
            close()

    def process_events(self) -> int:
        """Local backend: deliver pending object events now. AWS: Lambda does it."""
        return int(self.events.deliver_all()) if self.events is not None else 0

    def defer_events(self, lane: str = "") -> None:
        """Local backend: this request's events go to the background threads (bulk writes),
        taking turns with other lanes (one per importing key)."""
        if self.events is not None:
            self.events.defer(lane)


def upload_secret(config: Any) -> bytes:
    """The key that signs local upload policies (the local stand-in for S3's signature)."""
    name = "secrets/upload-signing-key"
    value = config.get(name) or config.put_if_absent(name, secrets.token_hex(32), secret=True)
    return bytes.fromhex(value)


def build_local(data_dir: Path, limits: Limits) -> Container:
    from . import events
    from .adapters.local import event_queue, object_store, sqlite_index, sqlite_media
    from .adapters.local.config_file import JsonConfigStore
    from .adapters.local.event_delivery import LocalEventDelivery
    from .adapters.local.sqlite import Database
    from .adapters.local.upload_links import LocalFileLinks
    from .adapters.local.webhook_log import SCHEMA as WEBHOOK_SCHEMA
    from .adapters.local.webhook_log import LocalWebhookLog

    objects_db = Database(
        data_dir / "objects.sqlite3", object_store.SCHEMA + event_queue.SCHEMA + WEBHOOK_SCHEMA
    )
    index_db, index_is_new = sqlite_index.open_index_database(
        data_dir / "index.sqlite3", sqlite_index.SCHEMA + sqlite_media.SCHEMA
    )
    queue = event_queue.EventQueue(objects_db)
    config = JsonConfigStore(data_dir / "config.json")
    workers = render_workers(lambda: (delivery.serving_request(), queue.claimed_lane()))
    backend = Backend(
        objects=object_store.LocalObjectStore(
            objects_db,
            data_dir / "blobs",
            events=queue,
            fsync=os.environ.get("CMS_LOCAL_FSYNC", "0") == "1",
        ),
        index=sqlite_index.SqliteIndex(index_db, now=lambda: backend.clock.now()),
        config=config,
        dead_letters=event_queue.LocalDeadLetters(objects_db, queue),
        media=sqlite_media.SqliteMediaIndex(index_db),
        links=LocalFileLinks(lambda: upload_secret(config), lambda: backend.clock.now()),
        webhook_log=LocalWebhookLog(objects_db),
        outbox=event_queue.LocalOutbox(queue),
    )
    if workers is not None:
        backend.renderer = workers

    def drain(**scope: Any) -> int:
        return queue.drain(
            lambda message: events.handle_message(backend, limits, message),
            on_dead_letter=lambda message, error: events.record_dead_letter(
                backend, message, error
            ),
            **scope,
        )

    # Renders in worker processes run on other cores: a bulk write's events are handled
    # beside the requests, by two threads a worker (one waits on it while the other does the
    # bookkeeping of its last render). Rendering in this process, they wait for a pause.
    delivery = LocalEventDelivery(
        queue,
        drain,
        max_delay_seconds=_float_env("CMS_LOCAL_DEFER_SECONDS", 10.0),
        threads=2 * workers.count if workers is not None else 1,
        bulk_beside_requests=workers is not None,
    )
    if index_is_new:  # an index of an earlier version: rebuilt from the objects, once
        from .services.reindex import reindex

        log.warning("the index in %s is of an earlier version: rebuilding it", data_dir)
        reindex(backend, limits)
        sqlite_index.mark_rebuilt(index_db)
    closers = [delivery.stop, queue.close, objects_db.close, index_db.close]
    if workers is not None:
        workers.start()
        closers.insert(1, workers.close)
    return Container(
        backend=backend, limits=limits, backend_name="local", events=delivery, closers=closers
    )


def render_workers(priority: Callable[[], tuple[bool, str]]) -> RenderWorkers | None:
    """``CMS_RENDER_WORKERS`` local render processes (one per core by default); 0 renders in
    the calling thread, where the CPU budget holds in the main thread only."""
    from .adapters.local.render_workers import RenderWorkers, default_worker_count

    count = _int_env("CMS_RENDER_WORKERS", default_worker_count())
    return RenderWorkers(count, priority=priority) if count > 0 else None


def build_aws(limits: Limits) -> Container:
    from .adapters.aws import clients
    from .adapters.aws.dynamodb_index import DynamoIndex
    from .adapters.aws.dynamodb_media import DynamoMediaIndex
    from .adapters.aws.s3_store import S3ObjectStore, S3Presigner
    from .adapters.aws.settings import AwsSettings
    from .adapters.aws.sqs_dead_letters import SqsDeadLetters
    from .adapters.aws.sqs_outbox import SqsOutbox
    from .adapters.aws.ssm_config import SsmConfigStore
    from .adapters.aws.webhook_log import DynamoWebhookLog

    settings = AwsSettings.from_env()
    index = DynamoIndex(
        clients.LazyClient("dynamodb"), settings.table, now=lambda: backend.clock.now()
    )
    backend = Backend(
        objects=S3ObjectStore(clients.LazyClient("s3"), settings.bucket),
        index=index,
        media=DynamoMediaIndex(index),
        links=S3Presigner(clients.LazyClient("s3"), settings.bucket),
        webhook_log=DynamoWebhookLog(index),
        outbox=SqsOutbox(clients.LazyClient("sqs"), settings.webhooks_queue),
        config=SsmConfigStore(
            clients.LazyClient("ssm"), settings.ssm_prefix, ttl_seconds=settings.config_ttl_seconds
        ),
        dead_letters=SqsDeadLetters(
            clients.LazyClient("sqs"), settings.dead_letter_queue, settings.queues
        ),
    )
    return Container(backend=backend, limits=limits, backend_name="aws")


def container() -> Container:
    """The container of this process, built on first use from the environment."""
    global _container
    if _container is None:
        with _lock:
            if _container is None:
                backend = os.environ.get("CMS_BACKEND", "local")
                if backend == "aws":
                    built = build_aws(limits_from_env(settle_default=5.0))
                elif backend == "local":
                    data_dir = Path(os.environ.get("CMS_DATA_DIR", ".cms-data")).resolve()
                    built = build_local(data_dir, limits_from_env())
                    if built.events.pending():  # left by an earlier process: in the
                        built.events.kick()  # background, so the first request need not wait
                else:
                    raise RuntimeError(f"CMS_BACKEND must be 'local' or 'aws', not {backend!r}")
                _container = built
    return _container


def reset() -> None:
    """Forget the container (tests; a changed environment)."""
    global _container
    with _lock:
        if _container is not None:
            _container.close()
        _container = None
