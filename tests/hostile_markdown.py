"""Markdown that makes parsers work hard: Python-Markdown's quadratic inline patterns, deep
nesting, raw HTML that the sanitizer's parser nests deeply; each at the largest size the
body cap allows. Used by tests/test_render_budget.py and bench/render_budget.py."""

from __future__ import annotations

from chalicelib.domain.limits import Limits

CAP = Limits().max_markdown_bytes


def _fill(unit: str) -> str:
    return unit * (CAP // len(unit.encode()))


def _numbered(template: str, head: str = "", count: int | None = None) -> str:
    """``template`` with 0, 1, 2, ... in turn, ``count`` times or as many as the cap holds."""
    parts, size, number = [head], len(head), 0
    while number != count and size + len(unit := template.format(number)) <= CAP:
        parts.append(unit)
        size += len(unit)
        number += 1
    return "".join(parts)


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
    # the sanitizer's parser re-creates every formatting element left open at each new one:
    # alike ones are capped at three, so each differs
    "reopened-bold": _numbered('<p><b title="{}"></x></p>', "<div>"),
    "reopened-bold-2000": _numbered('<p><b title="{}"></x></p>', "<div>", 2000),  # 52 KB
    "stray-end-tags": _fill("<div></x>"),  # end tags that close nothing hide no depth
    # a heading closes the heading it opens in: 1,000 of them, then 1,000 '<div><div></h1>',
    # of which only the first closes anything (estimated 1,002 deep before: nh3 took 10.9 s)
    "headings-in-headings": _fill("<h1>" * 1000 + "<div><div></h1>" * 1000),
    "no-break-spaces": _fill("a\u00a0"),
}
