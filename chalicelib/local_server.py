"""`chalice local`'s HTTP server, made fit for real clients.

- **Kept-alive connections.** Its request handler writes a response's headers and body in
  two ``send`` calls. On a kept-alive connection Nagle's algorithm then holds the body until
  the client acknowledges the headers, and the client delays that ACK by up to 40 ms: every
  response took ~45 ms. ``TCP_NODELAY`` (socketserver's ``disable_nagle_algorithm``) sends
  each write at once.
- **Unknown paths.** Like API Gateway, its gateway answers a path no route matches with
  ``403 {"message": "Missing Authentication Token"}``. Here it is a problem+json 404, the
  same answer the stack's gateway responses give on AWS (``deploy/build_template.py``).
  One difference stays: API Gateway answers a method a known path lacks the same way (so
  404 on AWS), where Chalice's own router answers 405 locally.

Under Lambda ``chalice.local`` is never imported and this does nothing.
"""

from __future__ import annotations

import json
import sys
from typing import Any

NO_ROUTE_DETAIL = "No route of this API matches the request's path (or, on AWS, its method)."
NO_ROUTE = json.dumps(
    {"type": "/problems/not-found", "title": "Not found", "status": 404, "detail": NO_ROUTE_DETAIL}
).encode()


def tune_chalice_local() -> None:
    local = sys.modules.get("chalice.local")
    if local is None:
        return
    local.ChaliceRequestHandler.disable_nagle_algorithm = True
    gateway = local.LocalGateway
    if getattr(gateway._generate_lambda_event, "answers_404", False):
        return

    class RouteNotFound(local.LocalGatewayException):  # type: ignore[misc, name-defined]
        CODE = 404

    generate = gateway._generate_lambda_event

    def generate_or_404(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return generate(self, method, path, headers, body)
        except ValueError:  # the route matcher found no route for the path
            headers = {"Content-Type": "application/problem+json"}
            raise RouteNotFound(headers, NO_ROUTE) from None

    generate_or_404.answers_404 = True  # type: ignore[attr-defined]
    gateway._generate_lambda_event = generate_or_404
