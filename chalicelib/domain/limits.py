"""Size and paging limits, with defaults that fit API Gateway and Lambda payloads."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1_048_576  # a whole request body
    max_markdown_bytes: int = 512_000  # one entry's Markdown body
    default_page_size: int = 20
    max_page_size: int = 100
