"""Code blocks as Pygments HTML with CSS classes (no inline styles), lines to highlight marked
``<span class="hll">``; an unknown or missing language is plain text (never guessed).

Creating a Pygments HTML formatter builds a stylesheet each time (about half a millisecond) and
looking a lexer up by name scans every lexer's aliases, so both are kept per thread: this is
most of what a code block costs otherwise. Imported lazily (it imports Pygments).
"""

from __future__ import annotations

import threading
from typing import Any

from pygments import highlight as pygmentize
from pygments.formatters import HtmlFormatter
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

CSS_CLASS = "highlight"
_MAX_LEXERS = 256  # languages are author-chosen names: keep the cache bounded
_local = threading.local()


def _lexers() -> dict[str, Any]:
    lexers: dict[str, Any] | None = getattr(_local, "lexers", None)
    if lexers is None or len(lexers) > _MAX_LEXERS:
        lexers = _local.lexers = {}
    return lexers


def _lexer(language: str) -> Any:
    name = (language or "").strip().lower()
    lexers = _lexers()
    lexer = lexers.get(name)
    if lexer is None:
        try:
            lexer = get_lexer_by_name(name) if name else TextLexer()
        except ClassNotFound:
            lexer = TextLexer()
        lexers[name] = lexer
    return lexer


def highlight(code: str, language: str, hl_lines: frozenset[int] = frozenset()) -> str:
    """``<div class="highlight"><pre><span></span><code>...</code></pre></div>``."""
    formatter: Any = getattr(_local, "formatter", None)
    if formatter is None:
        formatter = _local.formatter = HtmlFormatter(cssclass=CSS_CLASS, wrapcode=True)
    formatter.hl_lines = set(hl_lines)
    return str(pygmentize(code, _lexer(language), formatter)).rstrip("\n")


def line_numbers(spec: str, count: int) -> frozenset[int]:
    """``"2 4-6"`` (the form superfences validates) as line numbers, within 1..count."""
    lines: set[int] = set()
    for item in spec.split():
        first, _, last = item.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            lines.update(range(max(int(first), 1), min(int(last or first), count) + 1))
    return frozenset(lines)
