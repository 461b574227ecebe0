"""S3 event notifications -> service calls. The Lambda handlers and the local queue both
deliver here, with the same S3-shaped records."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from .domain import media
from .domain.entries import entry_of_key, removal
from .domain.errors import CMSError
from .domain.limits import Limits
from .domain.s3_events import MalformedEvent, ObjectEvent, iter_object_events
from .domain.webhooks import JOB_KIND
from .ports import Backend
from .services import collections, rendering, thumbnails, webhooks

log = logging.getLogger(__name__)

ENTRY_PREFIXES = ("content/", "published/")


def handle_object_event(backend: Backend, limits: Limits, event: ObjectEvent) -> None:
    if event.key.startswith(ENTRY_PREFIXES):
        rendering.on_entry_object(backend, limits, event)
    elif event.key.startswith(media.PREFIX):
        thumbnails.on_media_object(backend, limits.media, event)
    elif event.key.startswith(collections.PREFIX):
        try:
            collections.sync_from_object(backend, event.key)
        except CMSError as exc:
            backend.index.record_object_error(event.key, rendering.describe(exc), event.sequencer)
    else:
        log.debug("no handler for %s", event.key)


def _job(message: dict[str, Any] | str) -> dict[str, Any] | None:
    """The CMS's own message (a webhook delivery), or None for an S3 notification."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    if isinstance(message, dict) and message.get("cms") == JOB_KIND:
        return message
    return None


def handle_message(backend: Backend, limits: Limits, message: dict[str, Any] | str) -> int:
    """Any message of the queues: an S3 notification, or a webhook delivery."""
    job = _job(message)
    if job is not None:
        webhooks.deliver(backend, str(job.get("delivery", "")))
        return 1
    return handle_notification(backend, limits, message)


def handle_notification(backend: Backend, limits: Limits, message: dict[str, Any] | str) -> int:
    """Handle every record of one S3 notification (or SQS body); returns how many."""
    count = 0
    for event in iter_object_events(message):
        handle_object_event(backend, limits, event)
        count += 1
    return count


def record_dead_letter(backend: Backend, message: dict[str, Any] | str, error: str) -> None:
    """A message gave up after its retries: make the failure visible on what it was about."""
    job = _job(message)
    if job is not None:
        delivery = backend.webhook_log.get_delivery(str(job.get("delivery", "")))
        if delivery is not None and delivery.status == "pending":
            failed = replace(delivery, status="dead-lettered", error=f"Delivery crashed: {error}")
            backend.webhook_log.put_delivery(failed)
        return
    try:
        object_events = list(iter_object_events(message))
    except MalformedEvent:
        log.error("a malformed message went to the dead-letter queue: %s", error)
        return
    for event in object_events:
        detail = f"Processing failed after retries: {error}"
        media_key = media.parse_key(event.key)
        if media_key is not None and media_key[1] == media.ORIGINAL and not event.is_removal:
            try:
                backend.media.put_media_derived(
                    media_key[0],
                    media.MediaDerived(status="failed", source_etag=event.etag, error=detail),
                    sequencer=event.sequencer,
                )
                continue
            except Exception:
                log.exception("could not record the failure of %s", event.key)
        parsed = entry_of_key(event.key)
        if parsed is not None and event.is_removal:
            # A removal that could not be processed must not leave the entry public.
            stage, collection, file, path = parsed
            try:
                backend.index.apply_render(removal(collection, stage, path, file, event.sequencer))
            except Exception:
                log.exception("could not hide %s after its removal failed", event.key)
        elif parsed is not None:
            stage, collection, file, path = parsed
            try:
                backend.index.apply_failure(
                    collection,
                    stage,
                    path,
                    error=detail,
                    source_etag=event.etag,
                    version_id=event.version_id,
                    sequencer=event.sequencer,
                    file=file,
                )
                continue
            except Exception:  # the index itself may be what is failing
                log.exception("could not record the failure of %s", event.key)
        try:
            backend.index.record_object_error(event.key, detail, event.sequencer)
        except Exception:
            log.exception("could not record the failure of %s", event.key)
