"""Markdown that makes parsers work hard: Python-Markdown's quadratic inline patterns, deep
nesting, raw HTML that the sanitizer's parser nests deeply; each at the largest size the
body cap allows. Used by tests/test_render_budget.py and bench/render_budget.py."""

from __future__ import annotations

from chalicelib.domain.limits import Limits

CAP = Limits().max_markdown_bytes


def _fill(unit: str) -> str:
    return unit * (CAP // len(unit.encode()))


HOSTILE = {
    "brackets": _fill("["),
    "empty-links": _fill("[]"),
    "open-links": _fill("[a]("),
    "less-than": _fill("<"),
    "ampersands": _fill("&"),
    "open-images": _fill("!["),
    "open-footnotes": _fill("[^"),
    "open-tags": _fill("<a "),
    "emphasis": _fill("**a"),
    "underscores": _fill("_a_"),
    "backticks": _fill("`a"),
    "html-comments": _fill("<!--"),
    "nested-divs": _fill("<div>"),
    "closed-divs": _fill("<div>x</div>"),
    "reference-defs": _fill("[a]: <"),
    "shortcode-opens": _fill("{{< "),
    "heading-braces": "# " + _fill("{")[2:],
    "quotes-1000-deep": "\n".join(">" * depth + " x" for depth in range(1, 1001)),
    "list-500-deep": "\n".join("  " * depth + "- x" for depth in range(500)),
    "quote-list-mix": "\n".join("> " * (d % 40) + "- x" for d in range(4000)),
}
