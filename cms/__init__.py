"""The client side of the CMS: a Python SDK (``cms.Client``) and the ``cms`` command.

Talks to the REST API only (``chalice local`` or a deployed stage); never imports the
server's ``chalicelib``.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .client import ChangeFeed, Client
from .errors import (
    ApiError,
    CMSClientError,
    ConnectionFailed,
    Gone,
    NotFound,
    PreconditionFailed,
    Problem,
    Unauthorized,
    ValidationFailed,
)

__all__ = [
    "ApiError",
    "CMSClientError",
    "ChangeFeed",
    "Client",
    "ConnectionFailed",
    "Gone",
    "NotFound",
    "PreconditionFailed",
    "Problem",
    "Unauthorized",
    "ValidationFailed",
    "__version__",
]
