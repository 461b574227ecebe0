"""HTTP middleware: problem+json for every error, and local event delivery around a request."""

from __future__ import annotations

from collections.abc import Callable

from chalice import Response
from chalice.app import Request

from ..wiring import container
from .problems import problem_middleware

__all__ = ["deliver_local_events", "problem_middleware"]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def deliver_local_events(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """On the local backend, the S3-shaped events of a write request are handled before its
    response goes out, so a client sees its write rendered; a bulk write leaves them to the
    background thread (``adapters/local/event_delivery.py``). On AWS this does nothing."""
    delivery = container().events
    if delivery is None:
        return get_response(event)
    with delivery.request(writes=event.method not in READ_METHODS):
        return get_response(event)
