"""CommonMark's block layout (Hugo's Goldmark, GitHub) re-indented the way Python-Markdown reads it.

One pass over the lines, before any Markdown parsing, that changes indentation and fence
lines only:

- List items: CommonMark aligns an item's continuation (paragraphs, code fences, nested
  lists) with the item's text, 2 columns in for ``- item``, 3 for ``1. item``; Python-Markdown
  wants 4 per level. Lines inside an item are moved from the item's content column to
  ``4 * depth``, keeping any deeper indentation. A less indented line after a paragraph line
  is a lazy continuation and stays as it is.
- Code fences (outside blockquotes, whose fences pymdownx.superfences finds by itself): the
  opening line's ``{...}`` attribute block in Hugo's syntax (``{file="x" linenos=false}``,
  ``{hl_lines=[2,3]}``, ``{.class}``) keeps only ``hl_lines``, in the form superfences reads;
  a closing fence longer than the opening one (CommonMark allows it) is written as long as
  the opening one; content lines lose the opening line's indentation, as in CommonMark; a fence
  in a list item that the item ends before it is closed gets its closing line. Lines inside a
  fence are never read as list items.
- ``{{< highlight LANG "OPTIONS" >}}`` and ``{{< /highlight >}}`` each alone on a line become
  a code fence (longer than any backtick run inside), so the code inside is code from here on.
- A Goldmark attribute block (``{.table}``) on the line after a table ends the table instead
  of becoming a row of it (its attributes would not pass the sanitizer anyway).

It is not a Markdown parser: it only tracks list items and fences, so Python-Markdown and
superfences see the same structure CommonMark would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .shortcode_html import hl_lines
from .shortcodes import scan

_MARKER = re.compile(r"(?:[-*+]|[0-9]{1,9}\.)(?: +|$)")
_THEMATIC_BREAK = re.compile(r"([-*_])(?: *\1){2,} *$")
_FENCE = re.compile(r"(`{3,}|~{3,})(.*)$")
_INFO = re.compile(r"\s*([^\s{]*)\s*(?:\{(.*)\}\s*)?$")
_HIGHLIGHT_CLOSER = re.compile(r"\{\{([<%])\s*/\s*highlight\s*[>%]\}\}\s*$")
_BACKTICKS = re.compile(r"`{3,}")
_LANGUAGE = re.compile(r"[\w+#.-]*")
_SPECIAL = frozenset(" -*+0123456789`~#>{_")  # what a line must start with to be more than text
_ATTRIBUTES = re.compile(r"\{[^{}\n]*\}\s*")
_INTERRUPTS = re.compile(r"#{1,6}(?:[ \t]|$)|>")  # an ATX heading or a blockquote


@dataclass(slots=True)
class _Item:
    column: int  # where its content starts in the source
    target: int  # where it starts for Python-Markdown: 4 * depth


@dataclass(slots=True)
class _Fence:
    chars: str  # the opening fence, which closes it too
    strip: int  # indentation removed from content lines (the opening line's)
    indent: int  # indentation written before each line
    container: int  # content column of the list item holding it; -1 at top level
    closer: int = -1  # the line of a highlight shortcode's closer (-1: an ordinary fence)


def _info(info: str) -> str:
    """The info string of an opening fence, its ``{...}`` block reduced to ``hl_lines``."""
    match = _INFO.match(info)
    if match is None or match.group(2) is None:
        return info
    language, attributes = match.group(1), match.group(2)
    lines = hl_lines(attributes)
    return language + (f' {{hl_lines="{lines}"}}' if lines else "")


def _highlight_fences(lines: list[str]) -> dict[int, tuple[int, str, str]]:
    """``{opening line: (closing line, fence, info string)}`` for highlight shortcodes alone on
    their lines, each opener paired with the next closer."""
    found: dict[int, tuple[int, str, str]] = {}
    opener = -1
    for number, line in enumerate(lines):
        if "highlight" not in line or "{{" not in line:
            continue
        stripped = line.strip()
        if _HIGHLIGHT_CLOSER.match(stripped):
            if opener >= 0:
                code = "\n".join(lines[opener + 1 : number])
                longest = max((len(run) for run in _BACKTICKS.findall(code)), default=2)
                fence = "`" * (longest + 1)
                tag = scan(lines[opener].strip())[0]
                language = tag.args.get("0", "")
                options = hl_lines(tag.args.get("1", ""))
                extra = f' {{hl_lines="{options}"}}' if options else ""
                found[opener] = (number, fence, f"{language}{extra}")
                opener = -1
            continue
        tags = scan(stripped)
        if (
            len(tags) == 1
            and tags[0].name == "highlight"
            and not tags[0].closing
            and tags[0].start == 0
            and tags[0].end == len(stripped)
            and _LANGUAGE.fullmatch(tags[0].args.get("0", ""))
        ):
            opener = number
    return found


class _Layout:
    def __init__(self, lines: list[str]) -> None:
        self.highlights = _highlight_fences(lines)
        self.out: list[str] = []
        self.items: list[_Item] = []
        self.fence: _Fence | None = None
        self.lazy = False  # the previous line was paragraph text
        self.block_indent = 0  # indentation of the first line of the current block, as written

    def emit(self, indent: int, text: str, interrupts: bool = False) -> None:
        """Write a line; a line that ends the list item of the block it is in starts a block of
        its own (Python-Markdown gives a block that starts in a list item to that item whole)."""
        out = self.out
        if out and out[-1]:
            if interrupts and indent < self.block_indent:
                out.append("")
                self.block_indent = indent
        else:
            self.block_indent = indent
        out.append(" " * indent + text)

    def fence_line(self, number: int, line: str, indent: int, stripped: str) -> bool:
        """Handle a line while a fence is open; False if the line ended the fence without being
        part of it (the caller handles it as any other line)."""
        fence = self.fence
        assert fence is not None
        if fence.closer >= 0:  # a highlight shortcode: its closer is known
            if number == fence.closer:
                self.out.append(" " * fence.indent + fence.chars)
                self.fence = None
            else:
                self.out.append(" " * fence.indent + line[min(indent, fence.strip) :])
            return True
        if not stripped:
            self.out.append("")
            return True
        if indent < fence.container:  # the list item ends, and the fence with it
            self.out.append(" " * fence.indent + fence.chars)
            self.fence = None
            return False
        if (
            indent - fence.strip < 4
            and stripped.startswith(fence.chars)
            and not stripped.lstrip(fence.chars[0]).strip()
        ):
            self.out.append(" " * fence.indent + fence.chars)
            self.fence = None
            self.lazy = False
            return True
        self.out.append(" " * fence.indent + line[min(indent, fence.strip) :])
        return True

    def line(self, number: int, line: str) -> None:
        if self.fence is None and not self.items and line and line[0] not in _SPECIAL:
            self.emit(0, line)  # the common case: a paragraph line at the top level
            self.lazy = True
            return
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if self.fence is not None and self.fence_line(number, line, indent, stripped):
            return
        if not stripped:
            self.out.append("")
            self.lazy = False
            return
        if (
            stripped[0] == "{"
            and self.out
            and self.out[-1].lstrip().startswith("|")
            and _ATTRIBUTES.fullmatch(stripped)
        ):  # Goldmark's {.class} after a table: not a row (and nh3 would drop the class)
            self.out.append("")
            self.lazy = False
            return
        items = self.items
        opening = _FENCE.match(stripped)
        if opening and opening.group(1)[0] == "`" and "`" in opening.group(2):
            opening = None  # ```js` is inline code, not a fence
        rule = _THEMATIC_BREAK.match(stripped) is not None
        marker = None if rule else _MARKER.match(stripped)
        starts_code = opening is not None or number in self.highlights
        interrupts = starts_code or marker is not None or rule or _INTERRUPTS.match(stripped)
        in_list = bool(items)
        if interrupts or not self.lazy:
            while items and indent < items[-1].column:
                items.pop()
            interrupts = interrupts or (in_list and not items)
        elif items and indent < items[-1].column:
            self.out.append(line)  # a lazy continuation line
            return
        column = items[-1].column if items else 0
        target = items[-1].target if items else 0
        relative = indent - column
        if relative < 4 and starts_code:
            if opening is not None:
                chars = opening.group(1)
                self.emit(target, chars + _info(opening.group(2)), True)
                self.fence = _Fence(chars, indent, target, column if items else -1)
            else:
                closer, chars, info = self.highlights[number]
                self.emit(target, chars + info, True)
                self.fence = _Fence(chars, indent, target, -1, closer)
            self.lazy = False
            return
        if relative < 4 and marker is not None:
            width = len(marker.group(0))
            bare = len(marker.group(0).rstrip(" "))
            if width - bare > 4 or width == len(stripped):
                width = bare + 1  # indented code, or nothing, after the marker
            elif not in_list and self.lazy and stripped.startswith(("-", "*", "+", "1.")):
                self.out.append("")  # a list interrupts a paragraph (CommonMark)
            depth = len(items) + 1
            self.emit(indent if depth == 1 else target, stripped, True)
            items.append(_Item(indent + width, 4 * depth))
            self.lazy = True
            return
        if items:
            self.emit(target + relative, stripped, bool(interrupts))
        else:
            self.emit(indent, stripped, bool(interrupts))
        self.lazy = not (rule or stripped.startswith("#"))


def normalize(lines: list[str]) -> list[str]:
    """The lines re-indented for Python-Markdown (see the module docstring)."""
    layout = _Layout(lines)
    for number, line in enumerate(lines):
        layout.line(number, line)
    return layout.out
