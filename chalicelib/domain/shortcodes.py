"""Hugo shortcodes in Markdown text: find them, pair them, replace them.

Pure functions on strings, no Markdown: ``markdown_dialect`` calls them from a preprocessor and
``shortcode_html`` turns each one into HTML.

Forms: ``{{< name args >}}``, ``{{% name args %}}``, self-closing ``{{< name />}}``, paired
``{{< name >}}inner{{< /name >}}``, and the comment form ``{{</* name args */>}}`` (shown as the
literal ``{{< name args >}}``, as Hugo's own docs use it). Arguments are positional (keys
``"0"``, ``"1"``...) or named (``key=value``); values are "double quoted" (with ``\\"``),
`back-ticked` (raw, may span lines) or unquoted. A tag may span lines.

Scanning is linear in the length of the text: every search for a closing delimiter starts
from a cached position (an opener with no closer after it proves there is none after any later
opener either), an opener is abandoned at the next ``{{``, and the argument grammar is matched
with possessive quantifiers, so no input makes the regular expressions backtrack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# --- the tokens ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shortcode:
    start: int  # offsets of the whole tag in the text
    end: int
    delim: str  # "<" or "%"
    name: str  # "" for the comment form
    args: dict[str, str]  # positional as "0", "1", ...; named by their key; in written order
    closing: bool = False  # {{< /name >}}
    self_closing: bool = False  # {{< name />}}
    comment: bool = False  # {{</* ... */>}}
    literal: str = ""  # how it shows in code: the source, or the comment form unwrapped


_OPENER = re.compile(r"\{\{([<%])")
_NAME = re.compile(r"\s*+(/?)\s*+([A-Za-z0-9_][\w./-]*+)")
_ARG = re.compile(
    r"""\s++(?:([A-Za-z_][\w-]*+)\s*+=\s*+)?+("(?:[^"\\]++|\\.)*+"|`[^`]*+`|[^\s"`=][^\s"`]*+)""",
    re.DOTALL,
)
_SPACE = re.compile(r"\s*+")
_ESCAPES = re.compile(r"\\(.)", re.DOTALL)

MAX_TAG_LENGTH = 16_384  # a longer "tag" is not one (bounds the work of a bad opener)


class _Finder:
    """``text.find(needle, start)`` for non-decreasing starts, each needle searched once per
    occurrence: linear in all."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.found: dict[str, int] = {}

    def find(self, needle: str, start: int) -> int:
        at = self.found.get(needle)
        if at is None or (at != -1 and at < start):
            at = self.text.find(needle, start)
            self.found[needle] = at
        return at


def _value(raw: str) -> str:
    if raw[0] == '"':
        return _ESCAPES.sub(r"\1", raw[1:-1])
    if raw[0] == "`":
        return raw[1:-1]
    return raw


def _parse(text: str, start: int, end: int, delim: str) -> Shortcode | None:
    """The tag ``text[start:end]`` (from ``{{<`` to ``>}}`` inclusive), or None if it is not
    one."""
    body_end = end - 3
    while body_end > start + 3 and text[body_end - 1].isspace():
        body_end -= 1
    self_closing = text[body_end - 1] == "/" and text[body_end - 2].isspace()
    if self_closing:
        body_end -= 1
    match = _NAME.match(text, start + 3, body_end)
    if match is None:
        return None
    closing, name = match.group(1) == "/", match.group(2)
    pos = match.end()
    args: dict[str, str] = {}
    positional = 0
    while True:
        arg = _ARG.match(text, pos, body_end)
        if arg is None:
            break
        key, value = arg.group(1), _value(arg.group(2))
        if key is None:
            args[str(positional)] = value
            positional += 1
        else:
            args[key] = value
        pos = arg.end()
    if _SPACE.fullmatch(text, pos, body_end) is None:
        return None
    if name.endswith("/") and not self_closing:  # {{< name/>}}
        name, self_closing = name[:-1], True
    if not name or (closing and (args or self_closing)):
        return None
    return Shortcode(start, end, delim, name, args, closing, self_closing, literal=text[start:end])


def scan(text: str) -> list[Shortcode]:
    """Every shortcode tag in ``text``, in order; anything that is not a well-formed tag (an
    unclosed ``{{<``, a stray ``>}}``) is left alone as text."""
    tags: list[Shortcode] = []
    finder = _Finder(text)
    resume = 0
    for match in _OPENER.finditer(text):
        start = match.start()
        if start < resume:
            continue
        delim = match.group(1)
        close = (">" if delim == "<" else "%") + "}}"
        if text.startswith("/*", start + 3):  # the comment form: {{</* ... */>}}
            end = finder.find(f"*/{close}", start + 5)
            if end == -1 or end - start > MAX_TAG_LENGTH:
                continue
            inner = text[start + 5 : end]
            literal = f"{{{{{delim}{inner}{close}"
            tags.append(Shortcode(start, end + 5, delim, "", {}, comment=True, literal=literal))
            resume = end + 5
            continue
        end = finder.find(close, start + 3)
        following = finder.find("{{", start + 3)
        if end == -1 or (following != -1 and following < end) or end - start > MAX_TAG_LENGTH:
            continue
        tag = _parse(text, start, end + 3, delim)
        if tag is not None:
            tags.append(tag)
            resume = tag.end
    return tags


def unescape_comments(text: str) -> str:
    """``text`` with each ``{{</* x */>}}`` shown as ``{{< x >}}`` (for code, where nothing else
    about shortcodes applies)."""
    if "{{" not in text:
        return text
    pieces: list[str] = []
    cursor = 0
    for tag in scan(text):
        if tag.comment:
            pieces.append(text[cursor : tag.start])
            pieces.append(tag.literal)
            cursor = tag.end
    pieces.append(text[cursor:])
    return "".join(pieces)


# --- pairing -------------------------------------------------------------------------------


def pair(tags: list[Shortcode], never_paired: frozenset[str]) -> dict[int, int]:
    """Openers matched with their closers: ``{opener index: closer index}``.

    A closer matches the nearest open tag of its name; tags opened after that one and still
    open are standalone (Hugo tells them apart by their templates, which this code does not
    have). Names in ``never_paired`` are always standalone. Linear: every tag is pushed and
    popped at most once.
    """
    pairs: dict[int, int] = {}
    stack: list[int] = []
    depth_of: dict[str, list[int]] = {}  # name -> stack depths where it is open
    for index, tag in enumerate(tags):
        if tag.comment or tag.self_closing:
            continue
        if not tag.closing:
            if tag.name not in never_paired:
                depth_of.setdefault(tag.name, []).append(len(stack))
                stack.append(index)
            continue
        depths = depth_of.get(tag.name)
        if not depths:
            continue  # a stray closer
        while len(stack) > depths[-1] + 1:
            depth_of[tags[stack.pop()].name].pop()
        depths.pop()
        pairs[stack.pop()] = index
    return pairs


# --- replacing -----------------------------------------------------------------------------

_LINE_PREFIX = re.compile(r"[ \t>]*")


class Handler(Protocol):
    """What ``substitute`` asks about each shortcode."""

    def stash(self, html: str, literal: str) -> str:
        """Text that stands for ``html`` in the Markdown (``literal``: the source it replaces,
        shown instead where the placeholder turns out to be in code)."""
        ...

    def html(self, tag: Shortcode, closer: Shortcode | None, alone: bool) -> tuple[str, str]:
        """HTML for an opening or standalone tag, and for its closer ("" if none)."""
        ...

    def is_block(self, html: str) -> bool:
        """Whether ``html`` starts with a block-level tag."""
        ...

    def is_code(self, tag: Shortcode) -> bool:
        """Whether a paired tag's inner text is code (``code`` renders tag, code and closer)."""
        ...

    def code(self, tag: Shortcode, inner: str) -> str: ...

    def is_raw(self, tag: Shortcode) -> bool:
        """Whether a paired tag's inner text is kept as text, not read as Markdown."""
        ...


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def substitute(text: str, tags: list[Shortcode], pairs: dict[int, int], handler: Handler) -> str:
    """``text`` with every tag replaced (one linear walk):

    - outside raw regions a tag becomes a placeholder (``handler.stash``) for its HTML, and a
      paired tag's inner Markdown stays in the text, between its two placeholders; a tag alone
      on its line whose HTML is a block (``handler.is_block``) gets blank lines around it, so
      it ends a paragraph or a list as an HTML block does;
    - a paired tag whose inner text is raw (``handler.is_raw``) starts a raw region up to its
      closer, replaced by one placeholder: its text escaped, the tags in it as HTML;
    - a paired tag whose inner text is code (``handler.is_code``) is rendered whole by
      ``handler.code``; tags in it are part of the code;
    - a comment tag shows as its literal text; a closer without an opener as nothing.
    """
    out: list[str] = []
    raw: list[str] | None = None  # the HTML of the raw region being built
    raw_start = raw_end = -1  # its first offset in the text, and its closer's index
    closers: dict[int, str] = {}  # closer index -> its HTML
    finder = _Finder(text)

    def placeholder(html: str, literal: str, prefix: str | None) -> str:
        """The placeholder, with blank lines around it if it stands for a block alone on its
        line (``out[-1]``, the text before it, ends with the line's ``prefix``)."""
        stashed = handler.stash(html, literal)
        if prefix is None or not handler.is_block(html):
            return stashed
        blank = prefix.rstrip()  # a blank line ("" or blockquote markers) for Python-Markdown
        out[-1] = out[-1][: len(out[-1]) - len(prefix)] + blank
        return f"\n{prefix}{stashed}\n{blank}"

    cursor = 0
    skip_to = -1
    for index, tag in enumerate(tags):
        if index <= skip_to:
            continue
        segment = text[cursor : tag.start]
        cursor = tag.end
        prefix = _line_prefix(text, tags, index, finder)
        if raw is not None:
            raw.append(_escape(segment))
        else:
            out.append(segment)
        if index in closers:
            if raw is None:
                out.append(placeholder(closers.pop(index), tag.literal, prefix))
            else:
                raw.append(closers.pop(index))
                if index == raw_end:
                    out.append(placeholder("".join(raw), text[raw_start : tag.end], prefix))
                    raw = None
            continue
        if tag.comment or tag.closing:  # a stray closer renders as nothing
            html = _escape(tag.literal) if tag.comment else ""
            if raw is None:
                out.append(placeholder(html, tag.literal, prefix))
            else:
                raw.append(html)
            continue
        closer_index = pairs.get(index)
        if closer_index is not None and handler.is_code(tag):
            closer = tags[closer_index]
            html = handler.code(tag, text[tag.end : closer.start])
            if raw is None:
                line_end = finder.find("\n", closer.end)
                if text[closer.end : len(text) if line_end == -1 else line_end].strip():
                    prefix = None  # more on the closer's line: not a block of its own
                out.append(placeholder(html, text[tag.start : closer.end], prefix))
            else:
                raw.append(html)
            cursor = closer.end
            skip_to = closer_index
            continue
        closer = tags[closer_index] if closer_index is not None else None
        opening, closing = handler.html(tag, closer, prefix is not None)
        if closer_index is not None:
            closers[closer_index] = closing
        if raw is not None:
            raw.append(opening)
        elif closer_index is not None and handler.is_raw(tag):
            raw = [opening]
            raw_start, raw_end = tag.start, closer_index
        else:
            out.append(placeholder(opening, tag.literal, prefix))
    out.append(text[cursor:])
    return "".join(out)


def _line_prefix(text: str, tags: list[Shortcode], index: int, finder: _Finder) -> str | None:
    """The indentation and blockquote markers before ``tags[index]`` if it is the only thing
    on its line(s), else None. Each line is read once: a tag with another tag before it on its
    line is not alone, so only the first tag of a line reads the text before it."""
    tag = tags[index]
    previous_end = tags[index - 1].end if index else 0
    line_end = finder.find("\n", tag.end)
    line_end = len(text) if line_end == -1 else line_end
    if index + 1 < len(tags) and tags[index + 1].start < line_end:
        return None
    if text[tag.end : line_end].strip():
        return None
    newline = text.rfind("\n", previous_end, tag.start)
    if newline == -1 and index:
        return None  # the previous tag is on this line
    if _LINE_PREFIX.fullmatch(text, newline + 1, tag.start) is None:
        return None
    return text[newline + 1 : tag.start]
