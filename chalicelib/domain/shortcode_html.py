"""HTML for Hugo shortcodes: the common built-in ones, and an inert element for the others.

Every value from a shortcode's arguments is HTML-escaped here, and the result still goes
through the renderer's sanitizer (so ``src="javascript:..."`` loses its ``src`` there).
Pygments is imported lazily (only the ``highlight`` shortcode needs it).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any
from urllib.parse import quote

from .shortcodes import Shortcode

# Shortcodes that never take a closing tag (a stray closer of these renders as nothing).
STANDALONE: frozenset[str] = frozenset({"figure", "youtube", "vimeo", "ref", "relref", "param"})
# Paired shortcodes whose inner text is code, not Markdown.
CODE_INNER: frozenset[str] = frozenset({"highlight"})
KNOWN: frozenset[str] = STANDALONE | CODE_INNER | {"details"}

INERT_CLASS = "cms-shortcode"
EMBED_CLASS = "cms-embed"

_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_VIMEO_ID = re.compile(r"[0-9]{1,20}")
_DIMENSION = re.compile(r"[0-9]{1,5}")
_HL_LINES = re.compile(
    r"""hl_lines\s*=\s*(\[[^\]]*\]|"[^"]*"|'[^']*'|[^,}\s]*(?:\s+[0-9][^,}\s]*)*)"""
)
_LINE_RANGE = re.compile(r"[0-9]{1,6}(?:-[0-9]{1,6})?")
_TRUE = frozenset({"true", "1", "yes", "open"})


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _arg(tag: Shortcode, *names: str) -> str:
    for name in names:
        value = tag.args.get(name)
        if value is not None:
            return value
    return ""


def hl_lines(options: str) -> str:
    """Hugo's ``hl_lines`` from a highlight options string or a code fence attribute block
    (``hl_lines=[2,3]``, ``hl_lines=["2-3",5]``, ``hl_lines="2-3 5"``, ``hl_lines=2-3 5``) as
    the space-separated form Python-Markdown's highlighter takes (``"2 3"``); "" if absent."""
    match = _HL_LINES.search(options)
    if match is None:
        return ""
    return " ".join(_LINE_RANGE.findall(match.group(1)))


# --- the inert element ---------------------------------------------------------------------


def args_json(args: dict[str, str]) -> str:
    """The arguments as compact JSON, with ``<``, ``>`` and ``&`` as JSON escapes so that the
    attribute value holds no markup characters at all."""
    data = json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    return data.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def raw_inner(tag: Shortcode) -> bool:
    """Whether a paired shortcode's inner text is kept as it is written (escaped text in the
    inert element) rather than rendered as Markdown: Hugo hands the inner text of a
    ``{{< name >}}`` call to its template unrendered, and renders that of ``{{% name %}}``. The
    built-in ``details`` renders its inner Markdown either way."""
    return tag.delim == "<" and tag.name not in KNOWN


def inert(tag: Shortcode, element: str = "span") -> tuple[str, str]:
    """The opening and closing tags of the element that stands for a shortcode this renderer
    does not know: a site renders it itself from ``data-shortcode`` and ``data-args``."""
    opening = (
        f'<{element} class="{INERT_CLASS}" data-shortcode="{_e(tag.name)}" '
        f'data-args="{_e(args_json(tag.args))}">'
    )
    return opening, f"</{element}>"


# --- the built-in shortcodes ---------------------------------------------------------------


def _figure(tag: Shortcode) -> str:
    src = _arg(tag, "src", "0")
    if not src:
        return "".join(inert(tag))
    caption, title, attr = _arg(tag, "caption"), _arg(tag, "title"), _arg(tag, "attr")
    alt = tag.args.get("alt", caption)
    img = f'<img src="{_e(src)}" alt="{_e(alt)}"'
    for name in ("width", "height"):
        value = tag.args.get(name, "")
        if _DIMENSION.fullmatch(value):
            img += f' {name}="{value}"'
    img += ">"
    link = _arg(tag, "link")
    if link:
        img = f'<a href="{_e(link)}">{img}</a>'
    parts = [f"<figure>{img}"]
    if title or caption or attr:
        parts.append("<figcaption>")
        if title:
            parts.append(f"<h4>{_e(title)}</h4>")
        parts.append(_e(caption))
        if attr:
            attrlink = _arg(tag, "attrlink")
            credit = f'<a href="{_e(attrlink)}">{_e(attr)}</a>' if attrlink else _e(attr)
            parts.append(f" {credit}" if caption else credit)
        parts.append("</figcaption>")
    parts.append("</figure>")
    return "".join(parts)


def _video(tag: Shortcode, site: str) -> str:
    video_id = _arg(tag, "id", "0")
    if site == "youtube":
        if not _YOUTUBE_ID.fullmatch(video_id):
            return "".join(inert(tag))
        url, label = f"https://www.youtube.com/watch?v={video_id}", "YouTube video"
    else:
        if not _VIMEO_ID.fullmatch(video_id):
            return "".join(inert(tag))
        url, label = f"https://vimeo.com/{video_id}", "Vimeo video"
    title = _arg(tag, "title") or label
    return f'<a class="{EMBED_CLASS} {EMBED_CLASS}-{site}" href="{url}">{_e(title)}</a>'


def permalink(reference: str) -> str:
    """Hugo's default permalink for a content path: ``docs/foo.md#x`` -> ``/docs/foo/#x``.

    ``.md``/``.markdown``, a trailing ``index``/``_index`` and ``.``/``..`` segments go (a
    relative path is read from the site root: the page's own path is not known here); the
    path is lower-cased, spaces become ``-``, and anything not safe in a URL path is
    percent-encoded. A bare ``#anchor`` stays as it is.
    """
    path, hashmark, anchor = reference.strip().partition("#")
    anchor_part = f"#{quote(anchor, safe='-._~!$&*+,;=:@%')}" if hashmark and anchor else ""
    path = path.strip().replace("\\", "/").lower()
    if not path:
        return anchor_part or "/"
    for ending in (".md", ".markdown"):
        if path.endswith(ending):
            path = path[: -len(ending)]
    parts = ["-".join(part.split()) for part in path.split("/")]
    parts = [part for part in parts if part and part not in {".", ".."}]
    if parts and parts[-1] in {"index", "_index"}:
        parts.pop()
    url = "/" + "".join(f"{part}/" for part in parts)
    return quote(url, safe="/-._~!$&*+,;=:@%") + anchor_part


def _format(value: Any) -> str:
    """A front matter value as Hugo prints it: text, true/false, numbers, lists as [a b]."""
    if value is None or isinstance(value, dict):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + " ".join(_format(item) for item in value) + "]"
    return str(value)


_MISSING = object()


def _lookup(node: Any, name: str) -> Any:
    for key in name.split("."):
        if not isinstance(node, dict):
            return _MISSING
        if key in node:
            node = node[key]
            continue
        folded = key.lower()
        matches = [value for k, value in node.items() if isinstance(k, str) and k.lower() == folded]
        if not matches:
            return _MISSING
        node = matches[0]
    return node


def param(front_matter: dict[str, Any] | None, name: str) -> str:
    """The front matter value at ``name`` (dotted for nested maps; keys compared exactly, then
    case-insensitively as Hugo does; then under ``params``, where newer Hugo versions keep a
    page's own parameters), as text; "" if absent (the site's parameters are not known here)."""
    if not name:
        return ""
    value = _lookup(front_matter or {}, name)
    if value is _MISSING:
        value = _lookup((front_matter or {}).get("params"), name)
    return "" if value is _MISSING else _format(value)


def highlight(tag: Shortcode, code: str) -> str:
    """``{{< highlight LANG "OPTIONS" >}}code{{< /highlight >}}`` as a Pygments block with CSS
    classes (``hl_lines`` honoured, line numbers not); an unknown language is plain text."""
    from .code_highlight import highlight as pygmentize
    from .code_highlight import line_numbers

    code = code.strip("\n")
    lines = line_numbers(hl_lines(_arg(tag, "1", "options")), code.count("\n") + 1)
    return pygmentize(code + "\n", _arg(tag, "0", "lang"), lines)


def render(
    tag: Shortcode, closer: Shortcode | None, alone: bool, front_matter: dict[str, Any] | None
) -> tuple[str, str]:
    """HTML for an opening or standalone tag and for its closer ("" if it has none)."""
    name = tag.name
    if name == "figure":
        return _figure(tag), ""
    if name in {"youtube", "vimeo"}:
        return _video(tag, name), ""
    if name in {"ref", "relref"}:
        path = _arg(tag, "0", "path")
        return (_e(permalink(path)) if path else "".join(inert(tag))), ""
    if name == "param":
        return _e(param(front_matter, _arg(tag, "0", "name"))), ""
    if name == "details":
        summary = _e(_arg(tag, "summary") or "Details")
        is_open = " open" if _arg(tag, "open").lower() in _TRUE else ""
        opening = f"<details{is_open}><summary>{summary}</summary>"
        return (opening, "</details>") if closer is not None else (opening + "</details>", "")
    if closer is None:
        return "".join(inert(tag)), ""
    return inert(tag, "div" if alone else "span")
