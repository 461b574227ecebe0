"""Object keys every store accepts: relative, '/'-separated, no '..', NUL or controls, so
no input ever becomes a path outside its prefix."""

from __future__ import annotations

import re


class InvalidObjectKey(ValueError):
    """A key that is empty, absolute, has '..' segments, NUL or control characters."""


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_KEY_BYTES = 1024


def check_key(key: str) -> str:
    if not key or len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidObjectKey(f"object key must be 1-{MAX_KEY_BYTES} bytes")
    if _CONTROL.search(key):
        raise InvalidObjectKey("object key must not contain NUL or control characters")
    if key.startswith("/") or "\\" in key or re.match(r"^[A-Za-z]:", key):
        raise InvalidObjectKey("object key must be relative")
    if any(part in ("", ".", "..") for part in key.split("/")[:-1]) or key.split("/")[-1] in (
        ".",
        "..",
    ):
        raise InvalidObjectKey("object key must not have empty, '.' or '..' segments")
    return key
