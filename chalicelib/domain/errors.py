"""Errors the domain and services raise; the API turns each into problem+json (RFC 9457)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where (a dotted path), what is wrong, and an error code."""

    field: str
    message: str
    code: str = "invalid"

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class CMSError(Exception):
    """Base of every expected error. ``code`` names the problem type."""

    detail: str
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


class BadRequest(CMSError):
    status = 400
    code = "bad-request"
    title = "Bad request"


class Unauthorized(CMSError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(CMSError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(CMSError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(CMSError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Gone(CMSError):
    status = 410
    code = "gone"
    title = "Gone"


class PreconditionFailed(CMSError):
    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


class PayloadTooLarge(CMSError):
    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class UnsupportedMediaType(CMSError):
    status = 415
    code = "unsupported-media-type"
    title = "Unsupported media type"


class ValidationFailed(CMSError):
    status = 422
    code = "validation-failed"
    title = "Validation failed"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, {"errors": [e.to_dict() for e in errors or []]})
        self.errors = list(errors or [])


class ServiceUnavailable(CMSError):
    status = 503
    code = "service-unavailable"
    title = "Service unavailable"


class RenderTooComplex(CMSError):
    """The renderer refused a document: over its CPU budget or nesting limit."""

    status = 422
    code = "render-too-complex"
    title = "Too complex to render"


class RenderFailed(CMSError):
    """The renderer could not render a document (its parser failed on it)."""

    status = 422
    code = "render-error"
    title = "Could not render"
