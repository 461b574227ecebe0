"""Bearer API keys, checked in the app so it behaves the same under chalice local and Lambda."""

from __future__ import annotations

import os

from chalice.app import Request

from ..services import keys
from ..wiring import container


def principal_of(request: Request) -> keys.Principal:
    """Who sent the request (its key), or Unauthorized."""
    return keys.authenticate(
        container().backend,
        request.headers.get("authorization"),
        os.environ.get("CMS_ADMIN_KEY") or None,
    )


def require(request: Request, scope: str) -> keys.Principal:
    principal = principal_of(request)
    principal.require(scope)
    return principal
