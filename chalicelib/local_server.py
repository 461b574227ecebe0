"""`chalice local`'s HTTP server, made fit for kept-alive connections.

Its request handler writes a response's headers and body in two ``send`` calls. On a
kept-alive connection Nagle's algorithm then holds the body until the client acknowledges
the headers, and the client delays that ACK by up to 40 ms: every response took ~45 ms.
``TCP_NODELAY`` (socketserver's ``disable_nagle_algorithm``) sends each write at once.
Under Lambda ``chalice.local`` is never imported and this does nothing.
"""

from __future__ import annotations

import sys


def tune_chalice_local() -> None:
    local = sys.modules.get("chalice.local")
    if local is not None:
        local.ChaliceRequestHandler.disable_nagle_algorithm = True
