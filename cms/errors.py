"""Exceptions of the SDK. An API error carries the server's problem+json (RFC 9457)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class CMSClientError(Exception):
    """Base of everything the SDK raises."""


class ConnectionFailed(CMSClientError):
    """The server could not be reached (refused, DNS, timeout) after the allowed retries."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class FieldProblem:
    """One entry of a validation problem's ``errors`` list."""

    field: str
    message: str
    code: str = "invalid"

    @classmethod
    def from_dict(cls, data: Any) -> FieldProblem:
        if not isinstance(data, dict):
            return cls("", str(data))
        return cls(
            str(data.get("field", "")),
            str(data.get("message", "")),
            str(data.get("code", "invalid")),
        )


@dataclass
class Problem:
    """A problem+json document as the server sent it (extension members in ``extra``)."""

    status: int
    title: str
    detail: str = ""
    type: str = "about:blank"
    instance: str | None = None
    errors: list[FieldProblem] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    KNOWN = frozenset({"type", "title", "status", "detail", "instance", "errors"})

    @classmethod
    def from_dict(cls, data: dict[str, Any], status: int) -> Problem:
        errors = data.get("errors")
        return cls(
            status=int(data.get("status", status))
            if str(data.get("status", "")).isdigit()
            else status,
            title=str(data.get("title", "")),
            detail=str(data.get("detail", "")),
            type=str(data.get("type", "about:blank")),
            instance=data.get("instance") if isinstance(data.get("instance"), str) else None,
            errors=[FieldProblem.from_dict(e) for e in errors] if isinstance(errors, list) else [],
            extra={k: v for k, v in data.items() if k not in cls.KNOWN},
        )

    def describe(self) -> str:
        """One line for people: '422 Validation failed: The entry is invalid. (title: ...)'."""
        text = f"{self.status} {self.title}".strip()
        if self.detail:
            text += f": {self.detail}"
        if self.errors:
            text += (
                " ("
                + "; ".join(
                    f"{e.field}: {e.message}" if e.field else e.message for e in self.errors
                )
                + ")"
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.instance is not None:
            body["instance"] = self.instance
        if self.errors:
            body["errors"] = [
                {"field": e.field, "message": e.message, "code": e.code} for e in self.errors
            ]
        return {**body, **self.extra}


class ApiError(CMSClientError):
    """The server answered with an error status; ``problem`` is its problem+json."""

    def __init__(self, problem: Problem, method: str = "", url: str = "") -> None:
        super().__init__(problem.describe())
        self.problem = problem
        self.method = method
        self.url = url
        self.retry_after: float | None = None  # seconds, when the server said (429/503)

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def type(self) -> str:
        return self.problem.type

    @property
    def title(self) -> str:
        return self.problem.title

    @property
    def detail(self) -> str:
        return self.problem.detail

    @property
    def errors(self) -> list[FieldProblem]:
        return self.problem.errors


class BadRequest(ApiError):
    """400"""


class Unauthorized(ApiError):
    """401: no key, or the key is not valid."""


class Forbidden(ApiError):
    """403: the key lacks the scope (or, behind API Gateway, the route does not exist)."""


class NotFound(ApiError):
    """404"""


class Conflict(ApiError):
    """409: e.g. the slug is taken."""


class Gone(ApiError):
    """410: a change-feed cursor from before an index rebuild; sync again from scratch."""


class PreconditionFailed(ApiError):
    """412: If-Match did not match; read again and reapply the change."""


class PayloadTooLarge(ApiError):
    """413"""


class UnsupportedMediaType(ApiError):
    """415"""


class ValidationFailed(ApiError):
    """422: ``errors`` lists the fields."""


class RateLimited(ApiError):
    """429 after the allowed retries."""


class ServiceUnavailable(ApiError):
    """503 after the allowed retries."""


class ServerError(ApiError):
    """Any other 5xx."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationFailed,
    429: RateLimited,
    503: ServiceUnavailable,
}


def error_for(problem: Problem, method: str = "", url: str = "") -> ApiError:
    cls = BY_STATUS.get(problem.status) or (ServerError if problem.status >= 500 else ApiError)
    return cls(problem, method, url)
