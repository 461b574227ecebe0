"""Size and paging limits, with defaults that fit API Gateway and Lambda payloads."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import BadRequest
from .media import MediaSettings
from .render_budget import RenderBudget


def is_ascii_int(text: str) -> bool:
    """'12' yes; '-1', '', superscript or full-width digits no (str.isdigit takes those);
    nor more than 18 digits (int() refuses over 4300 digits, and no limit needs that many)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def json_integer(value: object) -> int | None:
    """``value`` as an integer if JSON says it is one (``3`` or ``3.0``; JSON has one number
    type and JSON Schema's ``integer`` takes both), else None (booleans are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse_page_size(raw: str | None, *, default: int, maximum: int) -> int:
    if raw is None or raw == "":
        return default
    if not is_ascii_int(raw) or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"limit must be an integer from 1 to {maximum}.", {"parameter": "limit"})
    return int(raw)


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576  # a whole request body
    max_markdown_bytes: int = 512_000  # one entry's Markdown body
    default_page_size: int = 20
    max_page_size: int = 100
    media: MediaSettings = field(default_factory=MediaSettings)
    render_budget: RenderBudget = field(default_factory=RenderBudget)
    sync_settle_seconds: float = 0.0  # see services.sync
