"""Lambda handlers for S3 object events arriving through SQS (one message per invocation).

Two functions with their own memory and timeout: ``render`` for entries and collections,
``thumbnails`` for media (see ``domain.notifications`` for which key goes where).

A failure raises, so SQS makes the message visible again; after the queue's
``maxReceiveCount`` it moves to the dead-letter queue. On that last receive the failure is
also recorded on the entry, where editors see it.
"""

from __future__ import annotations

import logging
import os

from chalice import Blueprint
from chalice.app import SQSEvent

from ..domain.limits import is_ascii_int
from ..wiring import container

log = logging.getLogger(__name__)
bp = Blueprint(__name__)

EVENTS_QUEUE = os.environ.get("CMS_EVENTS_QUEUE", "headless-cms-dev-events")
MEDIA_QUEUE = os.environ.get("CMS_MEDIA_QUEUE", "headless-cms-dev-media")
WEBHOOKS_QUEUE = os.environ.get("CMS_WEBHOOKS_QUEUE", "headless-cms-dev-webhooks")
DEFAULT_MAX_RECEIVES = 3  # the queue's maxReceiveCount (provisioning and the template)


def max_receives() -> int:
    raw = os.environ.get("CMS_MAX_RECEIVES", "")
    return int(raw) if is_ascii_int(raw) else DEFAULT_MAX_RECEIVES


@bp.on_sqs_message(queue=EVENTS_QUEUE, batch_size=1, name="render")
def render(event: SQSEvent) -> None:
    """Entries and collections: render Markdown, fill the index."""
    handle(event)


@bp.on_sqs_message(queue=MEDIA_QUEUE, batch_size=1, name="thumbnails")
def thumbnails(event: SQSEvent) -> None:
    """Media originals and metadata: make the variants (Pillow loads here only)."""
    handle(event)


@bp.on_sqs_message(queue=WEBHOOKS_QUEUE, batch_size=1, name="webhooks")
def webhooks(event: SQSEvent) -> None:
    """Webhook deliveries: one signed POST each, retried with backoff through the queue."""
    handle(event)


def handle(event: SQSEvent) -> None:
    from .. import events  # the handlers' code loads in the event functions, not the API's

    c = container()
    for record in event:
        attributes = record.to_dict().get("attributes", {})
        receives = int(attributes.get("ApproximateReceiveCount", "1"))
        try:
            events.handle_message(c.backend, c.limits, record.body)
        except Exception as exc:
            limit = max_receives()
            log.exception("object event failed (receive %d of %d)", receives, limit)
            if receives >= limit:
                events.record_dead_letter(c.backend, record.body, f"{type(exc).__name__}: {exc}")
            raise
