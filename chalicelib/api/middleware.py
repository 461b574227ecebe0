"""HTTP middleware: problem+json for every error, authentication before content negotiation,
and local event delivery around a request."""

from __future__ import annotations

from collections.abc import Callable

from chalice import Response
from chalice.app import Request

from ..wiring import container
from .auth import principal_of
from .problems import problem_middleware

KEYED_PREFIX = "/v1/manage/"
UNSUPPORTED_MEDIA_TYPE = 415

__all__ = ["authenticate_before_415", "deliver_local_events", "problem_middleware"]

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


def authenticate_before_415(
    event: Request, get_response: Callable[[Request], Response]
) -> Response:
    """Chalice answers a Content-Type a route does not take with 415 before the view (and its
    key check) runs. A caller without a valid key must learn that first, not which types a
    management route takes: on that answer the key is checked, and a missing or bad one is
    401. Only a 415 pays for the extra check."""
    response = get_response(event)
    if response.status_code == UNSUPPORTED_MEDIA_TYPE and event.path.startswith(KEYED_PREFIX):
        principal_of(event)  # raises Unauthorized
    return response
