"""HTTP middleware: problem+json for every error, and local event delivery after a request."""

from __future__ import annotations

import logging
from collections.abc import Callable

from chalice import Response
from chalice.app import Request

from ..wiring import container
from .problems import problem_middleware

__all__ = ["deliver_local_events", "problem_middleware"]

log = logging.getLogger(__name__)


def deliver_local_events(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """On the local backend, S3-shaped events of this request's writes are handled before the
    response goes out, so a client sees its write rendered. On AWS this does nothing."""
    response = get_response(event)
    if event.method not in ("GET", "HEAD", "OPTIONS"):
        try:
            container().process_events()
        except Exception:  # the write is durable and its events stay queued for the next drain
            log.exception("delivering local events failed")
    return response
