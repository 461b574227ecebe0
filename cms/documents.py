"""Markdown files as static site generators write them: front matter and the images they use.

Front matter is YAML between ``---`` lines (Hugo, Jekyll, Eleventy), TOML between ``+++``
(Hugo) or a JSON object (Hugo). Dates stay the strings they were written as. The files are
never rewritten: these functions only read them, to decide what to publish and to check that
the images a page refers to are there.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

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


_JSON_TOKENS = re.compile(r'\\.|["{}]', re.DOTALL)
_BLANK = " \t\r\n"


def _json_end(text: str, start: int) -> int:
    """Just past the '}' closing the JSON object that opens at ``start`` (braces outside
    strings counted, as Hugo's lexer does)."""
    depth, in_string = 0, False
    for token in _JSON_TOKENS.finditer(text, start):
        char = token.group()
        if char == '"':
            in_string = not in_string
        elif not in_string and len(char) == 1:
            depth += 1 if char == "{" else -1
            if depth == 0:
                return token.end()
    raise DocumentError("the front matter opened with '{' is never closed")


def _split(text: str) -> tuple[str | None, str, str]:
    """(front matter text, body, opener), the way the server splits a document: after any
    blank space, YAML from a line '---' to a line '---' or '...', TOML between '+++' lines,
    or a JSON object (a '{' whose next non-blank character is '"' or '}') to its matching
    brace and a line break right after it; (None, text, '') without front matter."""
    start = len(text) - len(text.lstrip(_BLANK))
    rest = text[start:]
    if rest.startswith("{") and rest[1:].lstrip(_BLANK)[:1] in ('"', "}"):
        end = _json_end(text, start)
        newline = "\r\n" if text.startswith("\r\n", end) else "\n"
        return text[start:end], text[end:].removeprefix(newline), "{"
    lines = rest.split("\n")
    opener = lines[0].rstrip()
    if opener not in ("---", "+++"):
        return None, text, ""
    ends = ("---", "...") if opener == "---" else ("+++",)
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ends:
            raw = "\n".join(line.rstrip("\r") for line in lines[1:i])
            return raw, "\n".join(lines[i + 1 :]), opener
    raise DocumentError(f"the front matter opened with {opener!r} is never closed")


def _parse(raw: str, opener: str) -> Any:
    try:
        if opener == "+++":
            return tomllib.loads(raw)
        if opener == "{":
            return json.loads(raw)
        return yaml.load(raw, Loader=_NoDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"invalid YAML front matter{where}: {problem}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DocumentError(f"invalid TOML front matter: {exc}") from exc
    except RecursionError as exc:
        raise DocumentError("the front matter is nested too deeply") from exc
    except ValueError as exc:  # JSON's errors; a number too long to convert in any format
        raise DocumentError(f"invalid front matter: {exc}") from exc


def parse_document(text: str) -> Document:
    """Front matter (a mapping; empty when absent) and body of a Markdown file, the way the
    server reads them."""
    raw, body, opener = _split(text.removeprefix("\ufeff"))
    if raw is None:
        return Document({}, body)
    data = _parse(raw, opener)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DocumentError("the front matter must be a mapping of names to values")
    return Document(_jsonable(data), body)


# --- the images a page refers to ------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_ESCAPED_SHORTCODE = re.compile(r"\{\{[<%]/\*.*?\*/[>%]\}\}", re.DOTALL)
# ![alt](target "title"), the <target> form included
_IMAGE = re.compile(
    r"!\[(?:[^\]\\]|\\.)*\]\(\s*(?:<(?P<angle>[^>]*)>|(?P<path>[^)\s]+))"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)"
)
# a link reference definition whose target is an image file ([logo]: img/logo.png), which
# ``![alt][logo]`` may use; not a footnote ([^1]: text)
_REFERENCE = re.compile(
    r"^ {0,3}\[(?!\^)[^\]]+\]:\s*<?(?P<path>[^\s>]+\.(?:png|jpe?g|gif|webp|avif|svg))>?",
    re.MULTILINE | re.IGNORECASE,
)
_SHORTCODE_SRC = re.compile(
    r"\{\{[<%]\s*(?:figure|img|image)\b[^}]*?\bsrc\s*=\s*(?:\"(?P<q>[^\"]*)\"|`(?P<b>[^`]*)`)",
    re.DOTALL,
)
_HTML_SRC = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"'](?P<src>[^\"']+)[\"']", re.IGNORECASE)
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|/|#|\{\{)")
_GLOB = re.compile(r"[*?\[]")  # Hugo's resources[].src may be a pattern ('*.png')
FRONT_MATTER_IMAGES = ("images", "image", "cover", "featured_image", "thumbnail", "resources")


def prose(body: str) -> str:
    """The body with fenced and indented code blocks, code spans and escaped shortcodes
    blanked out, line for line: what is left is what a page shows as Markdown."""
    kept: list[str] = []
    fence: str | None = None
    previous_blank = True
    for line in body.split("\n"):
        stripped = line.lstrip(" >").lstrip()  # fences inside lists and quotes too
        if fence is not None:
            if stripped.startswith(fence) and not stripped[len(fence) :].strip(fence[0]).strip():
                fence = None
            kept.append("")
            continue
        opened = _FENCE.match(stripped)
        if opened:
            fence = opened.group(1)
            kept.append("")
            continue
        if previous_blank and _INDENTED.match(line) and not line.lstrip().startswith(("-", "*")):
            kept.append("")
            continue
        previous_blank = not line.strip()
        kept.append(line)
    text = "\n".join(kept)
    text = _ESCAPED_SHORTCODE.sub("", text)
    return _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)


def _front_matter_paths(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [p for item in value for p in _front_matter_paths(item)]
    if isinstance(value, dict):  # cover: {image: x.jpg}; resources: [{src: x.png}]
        return [p for k in ("image", "src") for p in _front_matter_paths(value.get(k))]
    return []


def image_references(document: Document) -> list[str]:
    """The relative paths of the images a page uses, as written (URL-decoded): in Markdown
    images and link definitions, HTML ``<img>``, figure shortcodes and front matter
    (``images``, ``cover`` ...). Never from code: examples are not images."""
    text = prose(document.body)
    found = [m.group("angle") or m.group("path") for m in _IMAGE.finditer(text)]
    found += [m.group("path") for m in _REFERENCE.finditer(text)]
    found += [m.group("q") or m.group("b") for m in _SHORTCODE_SRC.finditer(text)]
    found += [m.group("src") for m in _HTML_SRC.finditer(text)]
    for name in FRONT_MATTER_IMAGES:
        found += _front_matter_paths(document.front_matter.get(name))
    relative = []
    for target in found:
        if target and not _EXTERNAL.match(target) and not _GLOB.search(target):
            relative.append(unquote(target.split("#")[0].split("?")[0]))
    return [r for r in dict.fromkeys(relative) if r]
