"""The Chalice app class, with the request it is answering kept per thread.

Chalice keeps ``current_request`` (and ``lambda_context``) as plain attributes of the app
object. A Lambda execution environment answers one request at a time, but `chalice local`'s
server answers each connection in a thread of its own: two requests at once would then read
each other's request, body and ``Authorization`` header included. Here both attributes live
in a ``threading.local``, so each thread sees its own; on Lambda nothing changes.
"""

from __future__ import annotations

import threading
from typing import Any

from chalice import Chalice
from chalice.app import Request


class ThreadSafeChalice(Chalice):
    _per_thread = threading.local()

    @property  # type: ignore[override]
    def current_request(self) -> Request | None:
        return getattr(self._per_thread, "request", None)

    @current_request.setter
    def current_request(self, request: Request | None) -> None:
        self._per_thread.request = request

    @property  # type: ignore[override]
    def lambda_context(self) -> Any:
        return getattr(self._per_thread, "context", None)

    @lambda_context.setter
    def lambda_context(self, context: Any) -> None:
        self._per_thread.context = context
