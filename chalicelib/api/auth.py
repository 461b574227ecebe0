"""Bearer API keys, checked in the app so it behaves the same under chalice local and Lambda."""

from __future__ import annotations

import os

from chalice.app import Request

from ..services import keys
from ..wiring import container


def require(request: Request, scope: str) -> keys.Principal:
    principal = keys.authenticate(
        container().backend,
        request.headers.get("authorization"),
        os.environ.get("CMS_ADMIN_KEY") or None,
    )
    principal.require(scope)
    return principal
