"""The Chalice app class, with the request it is answering kept per thread.

Chalice keeps ``current_request`` (and ``lambda_context``) as plain attributes of the app
object. A Lambda execution environment answers one request at a time, but `chalice local`'s
server answers each connection in a thread of its own: two requests at once would then read
each other's request, body and ``Authorization`` header included. Here both attributes live
in a ``threading.local``, so each thread sees its own; on Lambda nothing changes.

Chalice also refuses (400) a binary response to a request whose ``Accept`` names no binary
type, because API Gateway would hand such a client base64 text. ``binary_needs_accept`` says
whether that rule holds: the local backend's server sends bytes as they are, so there a
client that sends no ``Accept`` (urllib, Go's http client, Hugo's ``resources.GetRemote``)
gets its file.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from chalice import Chalice
from chalice.app import CaseInsensitiveMapping, Request, RestAPIEventHandler


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

    binary_needs_accept: Callable[[], bool] = staticmethod(lambda: True)

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        """Chalice's own REST entry point, with a handler that asks ``binary_needs_accept``."""
        self.lambda_context = context
        handler = _RestHandler(
            self.routes,
            self.api,
            self.log,
            self.debug,
            middleware_handlers=self._get_middleware_handlers("http"),
        )
        handler.binary_needs_accept = self.binary_needs_accept
        self.current_request = handler.create_request_object(event, context)
        return handler(event, context)  # type: ignore[no-any-return]


class _RestHandler(RestAPIEventHandler):
    binary_needs_accept: Callable[[], bool]

    def _validate_binary_response(
        self, request_headers: CaseInsensitiveMapping, response_headers: CaseInsensitiveMapping
    ) -> bool:
        if not self.binary_needs_accept():
            return True
        return bool(super()._validate_binary_response(request_headers, response_headers))
