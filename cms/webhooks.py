"""The receiving end of the CMS's webhooks: check a delivery's signature, and a small
receiver for development (`cms webhooks listen`).

A delivery is a POST with a JSON body ``{"id", "event", "occurred_at", "data"}`` and the
headers ``X-CMS-Event``, ``X-CMS-Delivery`` and ``X-CMS-Signature: t=<unix seconds>,v1=<hex>``,
where the hex is HMAC-SHA256 of ``"<t>.<body>"`` under the webhook's secret. Verify the raw
body bytes, before parsing them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNATURE_HEADER = "X-CMS-Signature"
MAX_BODY_BYTES = 1024 * 1024
_DIGITS = re.compile(r"[0-9]{1,12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


def verify(
    secret: str, header: str | None, body: bytes, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """True if ``header`` is a valid signature of ``body`` made less than ``tolerance``
    seconds from ``now`` (default: the current time); constant time in the signature."""
    if not header:
        return False
    try:
        parts = dict(part.strip().split("=", 1) for part in header.split(","))
    except ValueError:
        return False
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not _DIGITS.fullmatch(stamp) or not _HEX64.fullmatch(given):
        return False
    timestamp = int(stamp)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(digest.hexdigest(), given)


@dataclass(frozen=True)
class Received:
    """One delivery as the receiver saw it."""

    event: str
    delivery_id: str
    verified: bool | None  # None: no secret to check against
    payload: Any  # the parsed JSON body (None if it was not JSON)
    body: bytes = field(repr=False)


class Receiver:
    """A local HTTP server that takes webhook deliveries on any path, checks each signature
    (when it has the secret) and hands every delivery to ``on_delivery``, with ``verified``
    saying what the check found. It answers 204 to a good delivery, 401 to a bad signature
    (so the CMS records a failure and retries), 411/400 without a valid Content-Length and
    413 to a body over 1 MiB."""

    def __init__(
        self,
        on_delivery: Callable[[Received], None],
        *,
        secret: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # seconds per read: a client that stalls is dropped

            def do_POST(self) -> None:
                declared = self.headers.get("Content-Length")
                if declared is None:
                    status = 411
                elif not _DIGITS.fullmatch(declared.strip()):
                    status = 400
                elif int(declared) > MAX_BODY_BYTES:
                    status = 413
                else:
                    body = self.rfile.read(int(declared))
                    status = receiver.take(dict(self.headers.items()), body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.on_delivery = on_delivery
        self.secret = secret
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}/"

    def take(self, headers: dict[str, str], body: bytes) -> int:
        """Check and hand over one delivery; returns the HTTP status to answer."""
        lower = {name.lower(): value for name, value in headers.items()}
        verified = (
            None
            if self.secret is None
            else verify(self.secret, lower.get(SIGNATURE_HEADER.lower()), body)
        )
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        self.on_delivery(
            Received(
                event=lower.get("x-cms-event", ""),
                delivery_id=lower.get("x-cms-delivery", ""),
                verified=verified,
                payload=payload,
                body=body,
            )
        )
        return 401 if verified is False else 204

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def start(self) -> Receiver:
        """Serve in a background thread (tests, scripts); ``stop`` ends it."""
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
