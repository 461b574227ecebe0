"""A strict multipart/form-data reader for the local upload form (Chalice has none)."""

from __future__ import annotations

import re

from ..domain.errors import BadRequest

_BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
_NAME = re.compile(rb'\bname="([^"]*)"', re.IGNORECASE)


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, str], bytes | None]:
    """(text fields, the bytes of the ``file`` field) of a multipart/form-data body."""
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise BadRequest("multipart/form-data needs a boundary.")
    if not match.group(1).isascii():
        raise BadRequest("The multipart boundary must be ASCII (RFC 2046).")
    delimiter = b"--" + match.group(1).encode("ascii")
    sections = body.split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise BadRequest("The multipart body is malformed or truncated.")
    fields: dict[str, str] = {}
    file: bytes | None = None
    for section in sections[1:-1]:
        if not section.startswith(b"\r\n") or not section.endswith(b"\r\n"):
            raise BadRequest("The multipart body is malformed.")
        head, sep, content = section[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise BadRequest("A multipart part has no header end.")
        name_match = _NAME.search(head)
        if name_match is None:
            raise BadRequest("A multipart part has no name.")
        name = name_match.group(1).decode("utf-8", "replace")
        if name == "file":
            file = content
        else:
            if file is not None:
                raise BadRequest("The file must be the last field of the form, as S3 wants.")
            try:
                fields[name] = content.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadRequest(f"Form field {name!r} is not UTF-8.") from exc
    return fields, file
