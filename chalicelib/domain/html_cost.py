"""What an HTML fragment will cost the sanitizer's parser, estimated before it runs.

The sanitizer (nh3) parses with html5ever, native code that no timer interrupts, and two of
its costs grow with the square of the input:

- **depth**: it walks its stack of open elements at every block start tag (10,000 nested
  ``<div>`` take 0.3 s, 50,000 take 8 s; 20,000 ``<span><div></span>``, where the end tag
  closes nothing, 1.75 s);
- **re-created formatting elements**: an element of its list of active formatting elements
  (``<b>``, ``<i>``, ``<a>``...) that a tag popped off the stack without closing it is
  re-created at the next text (white space too) or inline start tag. Left open by the
  thousand, they are re-created by the thousand in every later block: 2,000
  ``<b title=n>`` each in its own paragraph (52 KB) cost it 5.6 s and 574 MB.

``html_shape`` bounds both in one linear scan (every ``<name`` counts as a tag, even inside
an attribute value or a comment):

- depth: a stack of the elements, which loses one only when the parser surely pops it too
  (an end tag whose element nothing above could keep open: a special element stops
  "any other end tag", a scope boundary a special one's; a start tag that closes an open
  ``<p>``, ``<li>``, cell or row under the same rule), so it always holds at least what the
  parser's does; re-created elements are pushed on it too, and a table gets the ``<tbody>``
  the parser adds;
- re-created elements: a re-creation re-creates at most every formatting element open
  (started and not yet ended: the parser's list holds no more, its "Noah's Ark" cap of
  three alike aside), and does nothing unless something was popped since the last one,
  which only an end tag or a start tag that closes elements can do. So after each such tag,
  the next text or start tag that re-creates (not ``<p>``, ``<div>``, ``<li>``... whose
  contents do) is charged every formatting element open. An end tag inside a table cell,
  caption or object opened after its element does not count as closing it (the parser
  leaves an element out of scope in its list).

``tests/test_render_budget.py`` checks both bounds against what nh3 makes of random mixes of
tags, repeated.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*+)")  # every tag the tokenizer would open
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "param", "keygen"}
)  # fmt: skip
FORMATTING = frozenset(
    {"a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong",
     "tt", "u"}
)  # fmt: skip
# Start tags that pop nothing off the parser's stack: inline elements, and the formatting
# ones but <a> and <nobr> (which end an open one of their kind).
_POP_NOTHING = (
    frozenset(
        {"span", "sup", "sub", "abbr", "kbd", "samp", "var", "mark", "ins", "del", "q",
         "cite", "dfn", "time", "data", "bdi", "bdo", "label", "img", "br", "wbr"}
    )
    | FORMATTING
) - {"a", "nobr"}  # fmt: skip
# Start tags that close an open <p> first.
_CLOSES_P = frozenset(
    {"address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
     "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main",
     "menu", "nav", "ol", "p", "search", "section", "summary", "ul", "h1", "h2", "h3", "h4",
     "h5", "h6", "pre", "listing", "form", "plaintext", "table", "hr", "xmp", "li", "dd",
     "dt"}
)  # fmt: skip
# Start tags after which the parser re-creates nothing (the text and inline tags in them do).
_NO_RECREATION = (_CLOSES_P - {"xmp"}) | {
    "caption", "colgroup", "col", "tbody", "tfoot", "thead", "tr", "td", "th", "textarea",
    "html", "head", "body", "frameset",
}  # fmt: skip
# Elements whose scope hides what was opened before them from an end tag.
_SCOPE_BOUNDARY = frozenset(
    {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template"}
)
# What stops an end tag from closing an element below it (the parser's special elements,
# which stop "any other end tag", and the scope boundaries): with one of them above it, the
# element is taken to stay open.
_STOPS_AN_END_TAG = _SCOPE_BOUNDARY | {
    "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound",
    "blockquote", "body", "br", "button", "caption", "center", "col", "colgroup", "dd",
    "details", "dir", "div", "dl", "dt", "embed", "fieldset", "figcaption", "figure",
    "footer", "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head",
    "header", "hgroup", "hr", "html", "iframe", "img", "input", "keygen", "li", "link",
    "listing", "main", "marquee", "menu", "meta", "nav", "noembed", "noframes", "noscript",
    "object", "ol", "p", "param", "plaintext", "pre", "script", "search", "section",
    "select", "source", "style", "summary", "table", "tbody", "td", "template", "textarea",
    "tfoot", "th", "thead", "title", "tr", "track", "ul", "wbr", "xmp",
}  # fmt: skip


@dataclass
class HtmlShape:
    depth: int  # how deep elements nest
    reopened: int  # formatting elements the parser would re-create, at most


# What keeps an element from being popped by a tag that closes one below it: for an end
# tag, its scope's boundaries (for "any other end tag", a special element); for a start tag
# that closes an open <p>, the button scope's; for cells and rows, the table scope's; for
# <li>, <dd> and <dt>, a special element but <address>, <div> and <p>. An element is popped
# only when nothing above it could keep it (and re-created formatting elements never do).
_SCOPE = _SCOPE_BOUNDARY | {"ol", "ul", "button"}
_P_SCOPE = _SCOPE_BOUNDARY | {"button"}
_TABLE_SCOPE = frozenset({"html", "table", "template"})
_ITEM_SCOPE = _STOPS_AN_END_TAG - {"address", "div", "p"}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_TABLE_PARTS = frozenset({"table", "td", "th", "tr", "tbody", "thead", "tfoot", "caption"})
_ONLY_THE_TOP = frozenset({"form", "option", "body", "html"})
# A start tag that closes an open element of a kind: the kinds, and what keeps them open.
_ENDS_ITS_KIND: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "li": (("li",), _ITEM_SCOPE),
    "dt": (("dt", "dd"), _ITEM_SCOPE),
    "dd": (("dt", "dd"), _ITEM_SCOPE),
    "td": (("td", "th"), _TABLE_SCOPE),
    "th": (("td", "th"), _TABLE_SCOPE),
    "tr": (("tr",), _TABLE_SCOPE),
}


MAX_WALK = 32  # how far down the stack a closing tag looks for its element


@functools.cache
def _end_tag_rule(name: str) -> tuple[tuple[str, ...], frozenset[str] | None]:
    """What an end tag closes, and what keeps that open (None: only the current node)."""
    if name in _ONLY_THE_TOP:
        return (name,), None
    if name in _HEADINGS:
        return _HEADINGS, _SCOPE
    if name in _TABLE_PARTS:
        return (name,), _TABLE_SCOPE
    if name in _STOPS_AN_END_TAG:
        return (name,), _SCOPE
    return (name,), _STOPS_AN_END_TAG  # "any other end tag": a special element stops it


def html_shape(html: str, *, stop_above: int | None = None) -> HtmlShape:
    """The depth and re-created formatting elements of ``html`` (upper bounds, see the
    module's docstring); the scan stops once ``reopened`` passes ``stop_above``."""
    limit = stop_above if stop_above is not None else len(html) ** 2
    # Open elements as (name, formatting elements open before it), or ("", n): n formatting
    # elements re-created there. It only loses an element the parser surely pops too, so it
    # holds at least what the parser's stack holds.
    stack: list[tuple[str, int]] = []
    deepest = reopened = 0
    clones = 0  # re-created formatting elements on the stack
    live = 0  # formatting elements open
    opened: dict[str, list[int]] = {}  # per name: the boundaries open when each started
    boundaries = 0  # scope boundaries opened and not ended
    popped = False  # a formatting element may have been popped since the last re-creation

    def push(name: str, count: int) -> None:
        nonlocal deepest, clones
        stack.append((name, count))
        clones += 0 if name else count
        if len(stack) + clones > deepest:
            deepest = len(stack) + clones

    def end(names: tuple[str, ...], keeps: frozenset[str] | None) -> bool | None:
        """Pop the innermost element of ``names`` if nothing above it is in ``keeps`` (None:
        if it is the current node); whether a formatting element may have gone with it, or
        None if nothing was popped."""
        nonlocal clones
        place = len(stack) - 1
        while place >= 0 and stack[place][0] not in names:
            top = stack[place][0]
            if (top and (keeps is None or top in keeps)) or len(stack) - place > MAX_WALK:
                return None  # (past MAX_WALK: taken as kept, the scan stays linear)
            place -= 1
        if place < 0:
            return None
        live_then = stack[place][1]
        went = False
        while len(stack) > place:
            top, count = stack.pop()
            if not top:
                clones -= count
                went = True
        return went or live > live_then

    def recreate() -> None:
        nonlocal reopened, popped
        if live:
            reopened += live
            push("", live)
        popped = False

    tag_end = 0
    for match in TAG.finditer(html):
        if popped and match.start() > tag_end:
            gt = html.find(">", tag_end, match.start())
            if 0 <= gt < match.start() - 1:  # text between the tags: a re-creation
                recreate()
        tag_end = match.end()
        name = match[2].lower()
        if match[1]:  # an end tag
            starts = opened.get(name)
            if starts and starts[-1] >= boundaries:  # in scope: it ends
                starts.pop()
                live -= 1
            if name in _SCOPE_BOUNDARY and boundaries:
                boundaries -= 1
            if stack and stack[-1][0] == name:  # the current node: it is popped
                if live > stack.pop()[1]:
                    popped = True
                continue
            went = end(*_end_tag_rule(name))
            popped = True if went is None else went or popped  # None: it may pop anything
            continue
        if name == "button":  # a button in a button ends before re-creation (taken only
            went = end(("button",), None)  # when it is the current node: it may be stale)
            popped = popped or bool(went)
        if popped and name not in _NO_RECREATION:
            recreate()
            if reopened > limit:
                break
        if name not in _POP_NOTHING:
            popped = True
        closed_p = end(("p",), _P_SCOPE) if name in _CLOSES_P else None
        if name in _HEADINGS and closed_p is None and stack and stack[-1][0] in _HEADINGS:
            stack.pop()  # a heading in a heading: the parser pops the open one first (not
            # after closing a <p>: that <p> may be one the parser had closed, and the heading
            # under it one the parser keeps)
        if name in _ENDS_ITS_KIND:
            end(*_ENDS_ITS_KIND[name])
        elif name == "option":
            end(("option",), None)
        if name in FORMATTING:
            opened.setdefault(name, []).append(boundaries)
        elif name in _SCOPE_BOUNDARY:
            boundaries += 1
        if name not in VOID:
            push(name, live)
            if name == "table":  # and the <tbody> the parser adds for rows outside one
                push("tbody", live)
        if name in FORMATTING:
            live += 1
    else:
        if popped and 0 <= html.find(">", tag_end) < len(html) - 1:
            recreate()
    return HtmlShape(deepest, reopened)
