"""Markdown files as static site generators write them: front matter and image references.

YAML front matter between ``---`` lines (Hugo, Jekyll, Eleventy) and TOML between ``+++``
(Hugo). Dates stay ISO strings, as the server keeps them. Images: ``![alt](path "title")``
with a relative path.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoDatesLoader(_Loader):  # type: ignore[misc, valid-type]
    """SafeLoader that keeps timestamps as the strings they were written as."""


_NoDatesLoader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: str(loader.construct_scalar(node)),
)


class DocumentError(ValueError):
    """A file that is not a Markdown document with valid front matter."""


@dataclass(frozen=True)
class Document:
    front_matter: dict[str, Any]
    body: str


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _closing(lines: list[str], delimiter: str) -> int:
    ends = ("---", "...") if delimiter == "---" else ("+++",)
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r") in ends:
            return i
    raise DocumentError(f"the front matter opened with {delimiter!r} is never closed")


def parse_document(text: str) -> Document:
    """Front matter (a mapping; empty when absent) and body of a Markdown file."""
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    first = lines[0].rstrip("\r") if lines else ""
    if first not in ("---", "+++"):
        return Document({}, text)
    end = _closing(lines, first)
    raw, body = "\n".join(lines[1:end]), "\n".join(lines[end + 1 :])
    try:
        data = tomllib.loads(raw) if first == "+++" else yaml.load(raw, Loader=_NoDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"invalid YAML front matter{where}: {problem}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"invalid TOML front matter: {exc}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentError("the front matter must be a mapping of names to values")
    return Document(_jsonable(data), body)


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by '-' (accents dropped), as the server's slugs are."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:120].strip("-")


# ![alt](target "title") with an inline target; <target> form included
IMAGE_RE = re.compile(
    r"!\[(?P<alt>(?:[^\]\\]|\\.)*)\]\(\s*(?:<(?P<angle>[^>]*)>|(?P<path>[^)\s]+))"
    r"(?P<rest>(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*)\)"
)
EXTERNAL_RE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/|#)")


@dataclass(frozen=True)
class ImageRef:
    alt: str
    target: str  # as written (URL-decoded)


def local_images(body: str) -> list[ImageRef]:
    """Images the body refers to by a relative path (not URLs, absolute paths, media:)."""
    from urllib.parse import unquote

    found: list[ImageRef] = []
    for match in IMAGE_RE.finditer(body):
        target = match.group("angle") if match.group("angle") is not None else match.group("path")
        if target and not EXTERNAL_RE.match(target):
            found.append(ImageRef(match.group("alt"), unquote(target.split("#")[0].split("?")[0])))
    return found


def rewrite_images(body: str, replacement: dict[str, str]) -> str:
    """Each relative image whose target is in ``replacement`` points at its new target."""
    from urllib.parse import unquote

    def swap(match: re.Match[str]) -> str:
        target = match.group("angle") if match.group("angle") is not None else match.group("path")
        key = unquote(target.split("#")[0].split("?")[0]) if target else ""
        if key not in replacement:
            return match.group(0)
        return f"![{match.group('alt')}]({replacement[key]}{match.group('rest').rstrip()})"

    return IMAGE_RE.sub(swap, body)


MEDIA_RE = re.compile(r"\]\(\s*<?media:([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)")


def media_ids(body: str) -> list[str]:
    """The media ids a CMS body refers to (``media:ID``), in order, once each."""
    return list(dict.fromkeys(MEDIA_RE.findall(body)))


def dump_front_matter(front_matter: dict[str, Any], body: str) -> str:
    dumped = yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True)
    return f"---\n{dumped}---\n{body}"
