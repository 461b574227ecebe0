"""Markdown documents with front matter: YAML between '---' lines, TOML between '+++' lines,
or a JSON object, as Hugo, Jekyll and Eleventy write them. Parsed to validate and index;
the CMS stores the document as it was sent, so what comes out is what went in."""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import FieldError, ValidationFailed
from .sized_lru import SizedLru

if TYPE_CHECKING:
    import yaml

DELIMITER = "---"


@functools.cache
def _yaml() -> tuple[Any, Any, Any]:
    """PyYAML, its loader that keeps timestamps as ISO strings (JSON-safe, timezone kept) and
    its dumper; libyaml's when present (~10x). Loaded on first use: the API function's
    delivery routes never parse YAML, and need not pay for it at cold start."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class SafeLoaderNoDates(base):  # type: ignore[misc, valid-type]
        pass

    def timestamp_as_string(loader: yaml.SafeLoader, node: yaml.Node) -> str:
        return str(loader.construct_scalar(node))  # type: ignore[arg-type]

    SafeLoaderNoDates.add_constructor("tag:yaml.org,2002:timestamp", timestamp_as_string)
    return yaml, SafeLoaderNoDates, getattr(yaml, "CSafeDumper", yaml.SafeDumper)


FrontMatterFormat = Literal["yaml", "toml", "json"]
_CLOSERS: dict[str, tuple[str, ...]] = {"---": ("---", "..."), "+++": ("+++",), "{": ("}",)}
_FORMATS: dict[str, FrontMatterFormat] = {"---": "yaml", "+++": "toml", "{": "json"}


@dataclass(frozen=True)
class Split:
    """A document cut in two, losslessly: ``head`` + ``body`` is the text (a BOM aside)."""

    raw: str | None  # the front matter's own text, without its delimiter lines
    body: str
    format: FrontMatterFormat | None
    head: str  # everything before the body: delimiters and front matter, as written


_JSON_TOKENS = re.compile(r'\\.|["{}]', re.DOTALL)


def _json_end(text: str, start: int) -> int | None:
    """The index just past the '}' that closes the JSON object opening at ``start``, counting
    braces outside strings as Hugo's lexer does; None if it is never closed."""
    depth, in_string = 0, False
    for token in _JSON_TOKENS.finditer(text, start):
        char = token.group()
        if char == '"':
            in_string = not in_string
        elif in_string or len(char) > 1:  # an escaped character counts for nothing
            continue
        else:
            depth += 1 if char == "{" else -1
            if depth == 0:
                return token.end()
    return None


def _unclosed(opener: str) -> ValidationFailed:
    closer = _CLOSERS[opener][0]
    return ValidationFailed(
        f"The front matter opened with {opener!r} is never closed.",
        [
            FieldError(
                "front_matter", f"missing the closing {closer!r} line", "unclosed-front-matter"
            )
        ],
    )


def split_document(text: str) -> Split:
    """Split a document into front matter and body as Hugo reads them: after any blank
    space, YAML from a line '---' (trailing blanks allowed) to a line '---' or '...', TOML
    between '+++' lines, or a JSON object (a '{' whose next non-blank character is '"' or
    '}') to its matching brace and a line break right after it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    start = len(text) - len(text.lstrip(" \t\r\n"))
    rest = text[start:]
    if rest.startswith("{") and rest[1:].lstrip(" \t\r\n")[:1] in ('"', "}"):
        end = _json_end(text, start)
        if end is None:
            raise _unclosed("{")
        newline = "\r\n" if text.startswith("\r\n", end) else "\n"
        cut = end + len(newline) if text.startswith(newline, end) else end
        return Split(text[start:end], text[cut:], "json", text[:cut])
    first_end = rest.find("\n")
    opener = (rest if first_end < 0 else rest[:first_end]).rstrip()
    if opener not in ("---", "+++"):
        return Split(None, text, None, "")
    lines = rest.split("\n")
    for i in range(1, len(lines)):
        if lines[i].rstrip() in _CLOSERS[opener]:
            raw = "\n".join(line.rstrip("\r") for line in lines[1:i])
            head = text[:start] + "\n".join(lines[: i + 1]) + ("\n" if i + 1 < len(lines) else "")
            return Split(raw, "\n".join(lines[i + 1 :]), _FORMATS[opener], head)
    raise _unclosed(opener)


def split(text: str) -> tuple[str | None, str]:
    """Split a document into its raw front matter (or None) and its body."""
    parts = split_document(text)
    return parts.raw, parts.body


MAX_NODES = 10_000  # values in one front matter, counted after aliases expand


def _invalid(detail: str, code: str = "invalid-yaml") -> ValidationFailed:
    return ValidationFailed(detail, [FieldError("front_matter", detail, code)])


MAX_DEPTH = 20  # nesting of mappings and lists


def check_json_compatible(data: Any) -> None:
    """Front matter is stored and served as JSON: only mappings with string keys, lists,
    UTF-8 strings, finite numbers, booleans and null, at most MAX_DEPTH deep; YAML aliases may
    not expand past MAX_NODES values."""
    budget = MAX_NODES
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        budget -= 1
        if budget < 0:
            raise _invalid(f"The front matter has more than {MAX_NODES} values.", "too-large")
        if depth > MAX_DEPTH:
            raise _invalid(f"The front matter is nested more than {MAX_DEPTH} levels deep.")
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise _invalid("Front matter keys must be strings.")
            stack.extend((k, depth + 1) for k in value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str) and not is_utf8(value):
            raise _invalid("Front matter text must be valid Unicode (no lone surrogates).")
        elif isinstance(value, float) and not math.isfinite(value):
            raise _invalid("Front matter numbers must be finite (no .inf or .nan).")
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise _invalid(
                "Front matter values must be text, numbers, booleans, lists or mappings, "
                f"not {type(value).__name__}."
            )


def _describe(exc: yaml.YAMLError, raw: str) -> str:
    """Where and what, in lines of the whole document (the front matter starts on line 2).
    A construct still open at the end (a '[' never closed) is reported where it starts."""
    problem = getattr(exc, "problem", None) or str(exc)
    mark = getattr(exc, "problem_mark", None)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    at_end = mark is None or mark.line >= len(raw.splitlines())
    if at_end and context and context_mark is not None:
        mark, problem = context_mark, f"{context}, {problem}"
    if mark is not None:
        return f" (line {mark.line + 2}, column {mark.column + 1}): {problem}"
    return f": {problem}"


def is_utf8(text: str) -> bool:
    """False for text with lone surrogates (JSON can carry them; UTF-8 cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_yaml_mapping(raw: str) -> dict[str, Any]:
    yaml, loader, _ = _yaml()
    try:
        data = yaml.load(raw, Loader=loader)  # a safe loader
    except RecursionError as exc:
        raise _invalid("The front matter is nested too deeply.") from exc
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise _invalid(f"The front matter has a value YAML cannot hold: {exc}.") from exc
    except yaml.YAMLError as exc:
        detail = f"The front matter is not valid YAML{_describe(exc, raw)}."
        errors = [FieldError("front_matter", detail, "invalid-yaml")]
        raise ValidationFailed(detail, errors) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise _invalid(
            "The front matter must be a YAML mapping of names to values.", "not-a-mapping"
        )
    check_json_compatible(data)
    return data


def _parse_toml(raw: str) -> dict[str, Any]:
    import tomllib

    try:
        data = tomllib.loads(raw)
    except tomllib.TOMLDecodeError as exc:
        raise _invalid(f"The front matter is not valid TOML: {exc}.", "invalid-toml") from exc
    except RecursionError as exc:
        raise _invalid("The front matter is nested too deeply.") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise _invalid(f"The front matter has a value TOML cannot hold: {exc}.") from exc
    data = _jsonable(data)
    check_json_compatible(data)
    return data


def _parse_json(raw: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _invalid(f"The front matter is not valid JSON: {exc}.", "invalid-json") from exc
    if not isinstance(data, dict):
        raise _invalid("The front matter must be a JSON object.", "not-a-mapping")
    check_json_compatible(data)
    return data


# A document's front matter is parsed when it is written, when it is published and by the
# events of both stages: parsed once, the rest are JSON copies of it (~20x cheaper than YAML).
_parsed: SizedLru[tuple[str, str | None], str] = SizedLru(
    8 << 20, lambda snapshot: 2 * len(snapshot), max_item=256 << 10
)


def parse_raw(raw: str | None, fmt: FrontMatterFormat | None) -> dict[str, Any]:
    if raw is None:
        return {}
    snapshot = _parsed.get((raw, fmt))
    if snapshot is not None:
        copy: dict[str, Any] = json.loads(snapshot)  # its own: callers may change it
        return copy
    if fmt == "toml":
        data = _parse_toml(raw)
    elif fmt == "json":
        data = _parse_json(raw)
    else:
        data = parse_yaml_mapping(raw)
    _parsed.put((raw, fmt), json.dumps(data))
    return data


def parse(text: str) -> tuple[dict[str, Any], str]:
    """Parse a Markdown document into (front matter mapping, body)."""
    parts = split_document(text)
    return parse_raw(parts.raw, parts.format), parts.body


def with_body(text: str, body: str) -> str:
    """The document with another body and its front matter exactly as written."""
    parts = split_document(text)
    if parts.format is None:
        return body
    return parts.head + body


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def serialize(front_matter: dict[str, Any], body: str) -> str:
    """A document in the canonical form the CMS stores: '---', YAML, '---', body."""
    if not front_matter:
        return f"{DELIMITER}\n{DELIMITER}\n{body}"
    yaml, _, dumper = _yaml()
    dumped = yaml.dump(
        _jsonable(front_matter),
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return f"{DELIMITER}\n{dumped}{DELIMITER}\n{body}"
