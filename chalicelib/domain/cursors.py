"""Opaque, tamper-evident page cursors: base64url(JSON payload + HMAC-SHA256 tag)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from .errors import BadRequest

TAG_BYTES = 16
MAX_CURSOR_LENGTH = 2048


def encode(payload: dict[str, Any], secret: bytes) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    tag = hmac.new(secret, body, hashlib.sha256).digest()[:TAG_BYTES]
    return base64.urlsafe_b64encode(tag + body).rstrip(b"=").decode("ascii")


def decode(cursor: str, secret: bytes) -> dict[str, Any]:
    """The payload of a cursor this server made; BadRequest for anything else."""
    invalid = BadRequest(
        "The cursor is invalid or was made for another query.", {"parameter": "cursor"}
    )
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise invalid from exc
    tag, body = raw[:TAG_BYTES], raw[TAG_BYTES:]
    expected = hmac.new(secret, body, hashlib.sha256).digest()[:TAG_BYTES]
    if len(tag) != TAG_BYTES or not hmac.compare_digest(tag, expected):
        raise invalid
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise invalid from exc
    if not isinstance(payload, dict):
        raise invalid
    return payload
