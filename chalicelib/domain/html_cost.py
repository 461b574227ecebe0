"""What an HTML fragment will cost the sanitizer's parser, estimated before it runs.

The sanitizer (nh3) parses with html5ever, native code that no timer interrupts, and two of
its costs grow with the square of the input:

- **depth**: it walks its stack of open elements at every block start tag (10,000 nested
  ``<div>`` take 0.3 s, 50,000 take 8 s);
- **re-created formatting elements**: an element of its list of active formatting elements
  (``<b>``, ``<i>``, ``<a>``...) that a tag popped off the stack without closing it is
  re-created at the next text (white space too) or start tag. Left open by the thousand,
  they are re-created by the thousand in every later block: 2,000 ``<b title=n>`` each in
  its own paragraph (52 KB) cost it 5.6 s and 574 MB.

``html_shape`` bounds both in one linear scan, without modelling the parser's tree rules
(every ``<name`` counts as a tag, even inside an attribute value or a comment):

- depth: an element whose end tag HTML lets authors leave out, or that is void, adds none;
  an end tag closes the innermost open element of its name, a stray one closes nothing;
- re-created elements: a re-creation re-creates at most every formatting element open
  (started and not yet ended: the parser's list holds no more, its "Noah's Ark" cap of
  three alike aside), and does nothing unless something was popped since the last one,
  which only an end tag or a start tag that closes elements can do. So after each such tag,
  the next text or start tag that re-creates (not ``<p>``, ``<div>``, ``<li>``... whose
  contents do) is charged every formatting element open. An end tag inside a
  table cell, caption or object opened after its element does not count as closing it (the
  parser leaves an element out of scope in its list).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*+)")  # every tag the tokenizer would open
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "param", "keygen"}
)  # fmt: skip
# Closed by their next sibling when their end tag is left out: they do not add depth.
IMPLIED_END = frozenset(
    {"li", "p", "dt", "dd", "tr", "td", "th", "thead", "tbody", "tfoot", "option",
     "optgroup", "rt", "rp", "colgroup", "caption"}
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
# Start tags after which the parser re-creates nothing (the text and inline tags in them do).
_NO_RECREATION = frozenset(
    {"address", "article", "aside", "blockquote", "center", "details", "dialog", "dir",
     "div", "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main",
     "menu", "nav", "ol", "p", "search", "section", "summary", "ul", "h1", "h2", "h3", "h4",
     "h5", "h6", "pre", "listing", "form", "plaintext", "table", "hr", "li", "dd", "dt",
     "caption", "colgroup", "col", "tbody", "tfoot", "thead", "tr", "td", "th", "textarea",
     "html", "head", "body", "frameset"}
)  # fmt: skip
# Elements whose scope hides what was opened before them from an end tag.
_SCOPE_BOUNDARY = frozenset(
    {"applet", "caption", "html", "table", "td", "th", "marquee", "object", "template"}
)
_ADDS_NO_DEPTH = VOID | IMPLIED_END


@dataclass
class HtmlShape:
    depth: int  # how deep elements nest
    reopened: int  # formatting elements the parser would re-create, at most


def html_shape(html: str, *, stop_above: int | None = None) -> HtmlShape:
    """The depth and re-created formatting elements of ``html`` (upper bounds, see the
    module's docstring); the scan stops once ``reopened`` passes ``stop_above``."""
    limit = stop_above if stop_above is not None else len(html) ** 2
    stack: list[tuple[str, int]] = []  # open elements (but IMPLIED_END and VOID): name, live
    is_open: dict[str, int] = {}
    deepest = reopened = 0
    live = 0  # formatting elements open
    opened: dict[str, list[int]] = {}  # per name: the boundaries open when each started
    boundaries = 0  # scope boundaries opened and not ended
    popped = False  # a formatting element may have been popped since the last re-creation
    tag_end = 0
    for match in TAG.finditer(html):
        if popped and match.start() > tag_end:
            gt = html.find(">", tag_end, match.start())
            if 0 <= gt < match.start() - 1:  # text between the tags: a re-creation
                reopened += live
                popped = False
        tag_end = match.end()
        name = match[2].lower()
        if match[1]:  # an end tag
            starts = opened.get(name)
            if starts and starts[-1] >= boundaries:  # in scope: it ends
                starts.pop()
                live -= 1
            if name in _SCOPE_BOUNDARY and boundaries:
                boundaries -= 1
            if is_open.get(name):
                while True:
                    top, live_then = stack.pop()
                    is_open[top] -= 1
                    if top == name:
                        break
                # what is popped: the elements opened inside it, formatting ones among them
                popped = popped or live > live_then
            else:  # an end tag this scan does not follow may pop anything
                popped = True
            continue
        if popped and name not in _NO_RECREATION:
            reopened += live
            popped = False
            if reopened > limit:
                break
        if name not in _POP_NOTHING:
            popped = True
        if name in FORMATTING:
            opened.setdefault(name, []).append(boundaries)
        elif name in _SCOPE_BOUNDARY:
            boundaries += 1
        if name not in _ADDS_NO_DEPTH:
            stack.append((name, live))
            is_open[name] = is_open.get(name, 0) + 1
            if len(stack) > deepest:
                deepest = len(stack)
        if name in FORMATTING:
            live += 1
    else:
        if popped and 0 <= html.find(">", tag_end) < len(html) - 1:
            reopened += live
    return HtmlShape(deepest, reopened)
