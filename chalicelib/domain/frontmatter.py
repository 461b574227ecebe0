"""Markdown documents with YAML front matter: parse and serialize, losslessly for what we store."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import yaml

from .errors import FieldError, ValidationFailed

DELIMITER = "---"


_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _SafeLoaderNoDates(_BaseLoader):  # type: ignore[misc, valid-type]
    """YAML SafeLoader that keeps timestamps as ISO strings (JSON-safe, timezone kept)."""


def _timestamp_as_string(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_SafeLoaderNoDates.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_string)


def split(text: str) -> tuple[str | None, str]:
    """Split a document into its raw front matter (or None) and its body."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != DELIMITER:
        return None, text
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r") in (DELIMITER, "..."):
            raw = "\n".join(lines[1:i])
            return raw, "\n".join(lines[i + 1 :])
    raise ValidationFailed(
        "The front matter opened with '---' is never closed.",
        [FieldError("front_matter", "missing the closing '---' line", "unclosed-front-matter")],
    )


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
    try:
        data = yaml.load(raw, Loader=_SafeLoaderNoDates)  # a safe loader
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


def parse(text: str) -> tuple[dict[str, Any], str]:
    """Parse a Markdown document into (front matter mapping, body)."""
    raw, body = split(text)
    return (parse_yaml_mapping(raw) if raw is not None else {}), body


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
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
    dumped = yaml.dump(
        _jsonable(front_matter),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
    )
    return f"{DELIMITER}\n{dumped}{DELIMITER}\n{body}"
