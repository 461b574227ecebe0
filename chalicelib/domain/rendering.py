"""Markdown to sanitized HTML, with a table of contents, an excerpt and reading statistics.

The Markdown dialect (Hugo's Goldmark and GitHub: fences anywhere, alerts, task lists,
shortcodes...) is configured in ``markdown_dialect``; docs/rendering.md describes it.

Pure functions, no I/O. ``markdown``, ``pymdownx``, ``nh3`` and ``pygments`` are imported lazily
inside the functions that need them: the API Lambda imports the domain package and must not pay
for them at cold start (only the render handler does).
"""

from __future__ import annotations

import copy
import hashlib
import html as html_lib
import json
import math
import re
import threading
from dataclasses import dataclass, replace
from typing import Any

from .render_budget import check_html
from .sized_lru import SizedLru

RENDERER_VERSION = "5"  # bump when the output for the same source changes

WORDS_PER_MINUTE = 230
EXCERPT_LENGTH = 200
ELLIPSIS = "\u2026"

# --- sanitizer allow-list ------------------------------------------------------------------

ALLOWED_TAGS: frozenset[str] = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "a", "img", "ul", "ol", "li", "blockquote",
        "pre", "code", "span", "div", "em", "strong", "b", "i", "u", "del", "s", "ins", "sup",
        "sub", "hr", "br", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
        "dl", "dt", "dd", "abbr", "figure", "figcaption", "kbd", "samp", "var", "mark",
        "small", "q", "cite", "details", "summary", "picture", "source",
    }
)  # fmt: skip

# Dropped together with everything inside them (never rendered as text either).
CLEAN_CONTENT_TAGS: frozenset[str] = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "noscript", "noembed", "noframes", "template", "svg", "math", "textarea", "select",
        "title", "xmp",
    }
)  # fmt: skip

_CELL_ATTRS = frozenset({"align", "colspan", "rowspan"})

# ``class`` values are further restricted per tag by ``_attribute_filter`` (see ALLOWED_CLASSES).
# ``id`` is only allowed where the Markdown extensions put one (headings for toc anchors,
# ``sup``/``li`` for footnote refs/notes), which keeps DOM-clobbering surface small. No
# ``style`` anywhere (tables use the ``align`` attribute, code highlighting uses classes).
# ``data-shortcode``/``data-args`` carry a shortcode this renderer does not know (span, div).
SHORTCODE_ATTRIBUTES = frozenset({"class", "data-shortcode", "data-args"})
ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    **{f"h{n}": frozenset({"id"}) for n in range(1, 7)},
    "a": frozenset({"href", "title", "class"}),
    "div": SHORTCODE_ATTRIBUTES,
    "span": SHORTCODE_ATTRIBUTES,
    "p": frozenset({"class"}),
    "ul": frozenset({"class"}),
    "img": frozenset(
        {"src", "alt", "title", "width", "height", "loading", "srcset", "sizes", "decoding"}
    ),
    "source": frozenset({"type", "srcset", "sizes"}),
    "sup": frozenset({"id"}),
    "li": frozenset({"id", "class"}),
    "ol": frozenset({"start"}),
    "th": _CELL_ATTRS | {"scope"},
    "td": _CELL_ATTRS,
    "abbr": frozenset({"title"}),
    "details": frozenset({"open"}),
}

# ``media:{id}`` names an asset of this CMS; delivery turns it into a responsive image.
URL_SCHEMES: frozenset[str] = frozenset({"http", "https", "mailto", "media"})

# No rel is added to links: authors are authenticated editors of this site, not anonymous
# commenters, so ``nofollow`` would only hurt SEO for legitimate links; and ``target`` is not
# allowed, so links never open a new browsing context and reverse tabnabbing (what ``noopener``
# guards against) cannot happen. It also keeps in-page footnote/toc links free of noise.
LINK_REL: str | None = None

# Classes produced by the footnotes extension, the highlighter, GitHub alerts, task lists and
# shortcodes; span classes also take the Pygments token classes (added lazily, see
# ``_allowed_classes``). Other classes are removed so content cannot borrow the host page's
# utility classes (e.g. a full-screen overlay). nh3's own ``allowed_classes`` is not used
# because it leaves empty ``class=""`` behind.
ALERT_KINDS = ("note", "tip", "important", "warning", "caution")  # see alerts.py
ALLOWED_CLASSES: dict[str, frozenset[str]] = {
    "div": frozenset(
        {"highlight", "footnote", "cms-shortcode", "markdown-alert"}
        | {f"markdown-alert-{kind}" for kind in ALERT_KINDS}
    ),
    "a": frozenset(
        {"footnote-ref", "footnote-backref", "cms-embed", "cms-embed-youtube", "cms-embed-vimeo"}
    ),
    "p": frozenset({"markdown-alert-title"}),
    "ul": frozenset({"task-list"}),
    "li": frozenset({"task-list-item"}),
}
SPAN_CLASSES = frozenset({"hll", "cms-shortcode", "task-list-checkbox", "task-list-checked"})

MEDIA_CLASSES = frozenset({"cms-media-missing", "cms-media-pending"})  # see media_html

_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
_C0_AND_SPACE = "".join(chr(code) for code in range(0x21))

_cleaner_lock = threading.Lock()
_cleaner: Any = None
_classes: dict[str, frozenset[str]] = {}
_local = threading.local()


def _allowed_classes() -> dict[str, frozenset[str]]:
    from pygments.token import STANDARD_TYPES

    pygments = {name for name in STANDARD_TYPES.values() if name}
    return {**ALLOWED_CLASSES, "span": frozenset(pygments | MEDIA_CLASSES | SPAN_CLASSES)}


def _url_scheme_ok(url: str) -> bool:
    """Relative (no ``:`` before the first ``/?#``) or one of ``URL_SCHEMES``.

    Stricter than nh3's href/src check: anything else containing a ``:`` is rejected.
    """
    # Browsers drop ASCII tab/newline anywhere in a URL and strip leading C0 controls/space.
    cleaned = url.translate(_TAB_NEWLINE).strip(_C0_AND_SPACE)
    head = cleaned.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if ":" not in head:
        return True  # relative
    return head.split(":", 1)[0].lower() in URL_SCHEMES


def _attribute_filter(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        allowed = _classes.get(element, frozenset())
        kept = [name for name in value.split() if name in allowed]
        return " ".join(kept) if kept else None
    # nh3 checks href/src schemes itself but not srcset: check each candidate URL there.
    if attribute == "srcset":
        for candidate in value.split(","):
            parts = candidate.split()
            if parts and not _url_scheme_ok(parts[0]):
                return None
    return value


def _get_cleaner() -> Any:
    global _cleaner, _classes
    if _cleaner is None:
        with _cleaner_lock:
            if _cleaner is None:
                import nh3

                _classes = _allowed_classes()

                _cleaner = nh3.Cleaner(
                    tags=set(ALLOWED_TAGS),
                    clean_content_tags=set(CLEAN_CONTENT_TAGS),
                    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
                    attribute_filter=_attribute_filter,
                    strip_comments=True,
                    link_rel=LINK_REL,
                    url_schemes=set(URL_SCHEMES),
                )
    return _cleaner


def sanitize_html(html: str) -> str:
    """Sanitize an HTML fragment with the renderer's nh3 allow-list."""
    if not html:
        return ""
    return str(_get_cleaner().clean(html))


# --- Markdown ------------------------------------------------------------------------------


def _markdown() -> Any:
    """A Markdown instance with the dialect, private to the current thread, reset for reuse."""
    md = getattr(_local, "md", None)
    if md is None:
        from .markdown_dialect import DialectMarkdown

        md = DialectMarkdown()
        _local.md = md
    md.reset()
    return md


def warm() -> None:
    """Load the parser and the sanitizer now (the first render would otherwise)."""
    _get_cleaner()
    if getattr(_local, "md", None) is None:
        _markdown()


def _toc(tokens: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "level": int(token["level"]),
            "id": str(token["id"]),
            "title": STASH_LEFTOVER.sub(
                "", html_lib.unescape(STASH_LEFTOVER.sub("", str(token["name"])))
            ),
            "children": _toc(token.get("children", [])),
        }
        for token in tokens
    ]


# --- plain text ----------------------------------------------------------------------------

_BLOCK_TAGS = frozenset(
    {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "div",
        "hr", "br", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "dl", "dt",
        "dd", "figure", "figcaption", "details", "summary",
    }
)  # fmt: skip
_VOID_TAGS = frozenset({"br", "hr", "img"})


_ATTRS = r'[^>"]*(?:"[^"]*"[^>"]*)*'  # attribute values are double-quoted and may hold ">"
_TAG = re.compile(r"<" + _ATTRS + r">")
_BLOCK_TAG = re.compile(
    r"</?(?:"
    + "|".join(sorted(_BLOCK_TAGS))
    + r")\b"
    + _ATTRS
    + r">|<(?:br|hr|img)\b"
    + _ATTRS
    + ">"
)
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)  # not the alert title (<p class=...>)
# What a shortcode became and is not text of the entry: the inert element standing for an
# unknown shortcode (with its inner content) and the link standing for a video.
_SHORTCODE_ELEMENT = re.compile(r'<(span|div|a) class="cms-(?:shortcode|embed)\b')
_CLOSING_PUNCTUATION = frozenset(".,;:!?)")
_ELEMENT_TAGS = {
    name: re.compile(rf"<(/?){name}\b" + _ATTRS + ">") for name in ("span", "div", "a")
}
_FOOTNOTE_REF = re.compile(r'<a class="footnote-ref"[^>]*>.*?</a>', re.DOTALL)
_FOOTNOTES_BLOCK = '<div class="footnote">'


@dataclass(frozen=True)
class _Text:
    chunks: list[str]
    paragraphs: list[str]


def _plain(fragment: str) -> str:
    return html_lib.unescape(_TAG.sub("", fragment))


def _without_shortcodes(html: str) -> str:
    """Sanitized HTML without the elements in ``_SHORTCODE_ELEMENT`` (each with everything up
    to its matching end tag); linear, as a skipped element is never read again."""
    if "cms-" not in html:
        return html
    pieces: list[str] = []
    cursor = 0
    while (found := _SHORTCODE_ELEMENT.search(html, cursor)) is not None:
        before = html[cursor : found.start()]
        depth = 0
        cursor = len(html)
        for tag in _ELEMENT_TAGS[found.group(1)].finditer(html, found.start()):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                cursor = tag.end()
                break
        if found.group(1) == "div":
            pieces.append(f"{before} ")
        elif html[cursor : cursor + 1] in _CLOSING_PUNCTUATION:
            pieces.append(before.rstrip(" "))  # "the site {{< new-in 1 >}}:" -> "the site:"
        else:
            pieces.append(before)
    pieces.append(html[cursor:])
    return "".join(pieces)


def _extract(html: str) -> _Text:
    """All text (for counting words) and the paragraphs (for the excerpt) of sanitized HTML,
    which is well formed: regular expressions are enough, and much faster than a parser.
    Paragraphs in the footnotes block and footnote reference numbers are not excerpt text;
    what shortcodes became is neither (see ``_without_shortcodes``)."""
    html = _without_shortcodes(html)
    text = _plain(_BLOCK_TAG.sub(" ", html))
    main = html.split(_FOOTNOTES_BLOCK, 1)[0]
    paragraphs = []
    for match in _PARAGRAPH.finditer(main):
        paragraph = " ".join(_plain(_FOOTNOTE_REF.sub("", match.group(1))).split())
        if paragraph:
            paragraphs.append(paragraph)
    return _Text([text], paragraphs)


# Matched from the start of a token only (the lookbehind), so a long token without a letter
# costs its length once, not its length at every position in it.
_WORD = re.compile(r"(?<!\S)\S*?[^\W_]\S*")


def _count_words(text: str) -> int:
    # A word is a whitespace-separated token with at least one letter or digit, so stray
    # punctuation ("—", "|", the footnote back-link "↩") is not counted.
    return len(_WORD.findall(text))


def _excerpt(paragraphs: list[str]) -> str:
    text = ""
    for paragraph in paragraphs:
        text = f"{text} {paragraph}" if text else paragraph
        if len(text) >= EXCERPT_LENGTH:
            break
    if len(text) <= EXCERPT_LENGTH:
        return text
    cut = text[: EXCERPT_LENGTH + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > 0 else text[:EXCERPT_LENGTH]
    return cut.rstrip(" ,;:.-\u2013\u2014") + ELLIPSIS


def _reading_time(words: int) -> int:
    return math.ceil(words / WORDS_PER_MINUTE) if words > 0 else 0


# --- public API ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    html: str  # sanitized HTML
    toc: list[dict[str, Any]]  # nested: {"level", "id", "title", "children": [...]}
    excerpt: str  # plain text
    word_count: int
    reading_time_minutes: int  # ceil(words / 230); 0 only for an empty body


# Python-Markdown's placeholders (STX key ETX); its em/strong pattern can eat a placeholder's
# STX (``*a**b*`code```) and an autolink can swallow one (``<a@b.c{{< x >}}>``, encoded as
# entities, which nh3 decodes): what is left is removed rather than shown. Python-Markdown
# strips STX/ETX from the source, but character references ('&#2;') make them in the
# sanitizer: HTML they were cut out of is sanitized again.
STASH_LEFTOVER = re.compile(
    "\x02?(?:wzxhzdk|klzzwxh):[0-9]+\x03?|\x02(?:wzxhzdk|klzzwxh):|[\x02\x03]"
    "|\x02?(?:qq3936677670287331zz|zz1337820767766393qq)\x03?"  # the footnotes extension's
)
_PARAM = re.compile(r"\{\{[<%]\s*param\b")


def _memo_key(body: str, summary: str, front_matter: dict[str, Any] | None) -> bytes:
    digest = hashlib.sha256(body.encode("utf-8", "surrogatepass"))
    digest.update(b"\0" + summary.encode("utf-8", "surrogatepass"))
    # The front matter changes the output only through the ``param`` shortcode: a body without
    # one keeps one key for its draft and its published snapshot (whose front matter differ).
    if front_matter and _PARAM.search(body):
        try:
            fields = json.dumps(front_matter, sort_keys=True, default=str)
        except TypeError:  # keys of mixed types cannot be sorted
            fields = repr(front_matter)
        digest.update(b"\0" + fields.encode("utf-8", "surrogatepass"))
    return digest.digest()


def _memo_size(rendered: Rendered) -> int:
    return len(rendered.html) + len(rendered.excerpt) + 512


# The latest renderings by source. An entry's draft and its published snapshot share one
# body, and their events usually reach the same process one after the other: the second is
# then free. Rendering is a pure function of the body, the summary, the front matter (only with
# ``param`` shortcodes, see ``_memo_key``) and RENDERER_VERSION, so a hit is always right.
_memo: SizedLru[bytes, Rendered] = SizedLru(8 * 1024 * 1024, _memo_size, max_item=2 * 1024 * 1024)


def clear_memo() -> None:
    """Forget the memoized renderings (benchmarks that must render every time)."""
    _memo.clear()


def render_markdown(
    body: str, *, summary: str | None = None, front_matter: dict[str, Any] | None = None
) -> Rendered:
    """Render a Markdown body to sanitized HTML plus toc, excerpt and reading statistics.

    - ``html``: Python-Markdown with the Hugo/GitHub dialect of ``markdown_dialect`` (fences
      anywhere, Pygments CSS classes, tables, footnotes, definition lists, attribute lists,
      alerts, task lists, strikethrough, autolinks, Hugo shortcodes; docs/rendering.md); raw
      HTML is allowed through Markdown, then the whole output is sanitized with
      ``sanitize_html``. ``front_matter`` is read by the ``param`` shortcode only.
    - ``toc``: nested headings ``{"level", "id", "title", "children"}``; ids are ASCII slugs
      (or a custom ``{#id}``, a plain name of ``[\\w:.-]``),
      titles are plain (unescaped) text.
    - ``excerpt``: ``summary`` stripped if it is given and not blank; otherwise the plain text
      of the first paragraph(s) of the sanitized HTML (headings, code blocks, tables and
      footnotes are not used), up to ~200 characters, cut at a word boundary with "…".
    - ``word_count``: words in the plain text of the whole sanitized HTML, *including* code
      blocks, table cells and footnotes; a word is a whitespace-separated token containing at
      least one letter or digit.
    - neither the excerpt nor the word count reads the elements standing for unknown
      shortcodes (with their inner content) or video links.
    - ``reading_time_minutes``: ``ceil(word_count / 230)``, so at least 1 for any words.
    """
    found = remembered(body, summary=summary, front_matter=front_matter)
    if found is not None:
        return found
    summary_text = _summary_text(summary)
    if not body.strip():
        return Rendered(html="", toc=[], excerpt=summary_text, word_count=0, reading_time_minutes=0)
    md = _markdown()
    try:
        raw = md.convert_with(body, front_matter)
    except BaseException:
        _local.md = None  # a conversion cut short leaves the instance's state half-built
        raise
    check_html(raw)  # before the sanitizer, whose parser no timer can interrupt
    toc = _toc(md.toc_tokens)
    # A shortcode that renders to nothing, or a block shortcode written inside a paragraph,
    # can leave an empty paragraph behind.
    if "\x02" in raw or "\x03" in raw:  # a placeholder Python-Markdown failed to put back
        raw = STASH_LEFTOVER.sub("", raw)
    clean = sanitize_html(raw)
    if "\x02" in clean or "\x03" in clean:  # '&#2;' or '&#x3;', which the sanitizer decoded:
        # cut out, they could join 'java' and 'script:' into a URL it has already let pass
        clean = STASH_LEFTOVER.sub("", clean)
        check_html(clean)  # what it escaped ('>' as '&gt;') can be more than it was given
        clean = sanitize_html(clean)
    clean = clean.replace("<p></p>", "").strip()
    text = _extract(clean)
    words = _count_words("".join(text.chunks))
    rendered = Rendered(
        html=clean,
        toc=toc,
        excerpt=summary_text or _excerpt(text.paragraphs),
        word_count=words,
        reading_time_minutes=_reading_time(words),
    )
    remember(body, rendered, summary=summary, front_matter=front_matter)
    return own_copy(rendered)


def own_copy(rendered: Rendered) -> Rendered:
    """A rendering the caller may keep and change: the memo's table of contents stays its own."""
    return replace(rendered, toc=copy.deepcopy(rendered.toc))


def render_key(body: str, *, summary: str | None, front_matter: dict[str, Any] | None) -> bytes:
    """What identifies a rendering: two sources with one key render alike (the memo's key)."""
    return _memo_key(body, _summary_text(summary), front_matter)


def remembered(
    body: str, *, summary: str | None, front_matter: dict[str, Any] | None
) -> Rendered | None:
    """The memoized rendering of this source, if any (a copy the caller may keep)."""
    return remembered_at(_memo_key(body, _summary_text(summary), front_matter))


def remembered_at(key: bytes) -> Rendered | None:
    """The memoized rendering with this ``render_key``, if any (a copy the caller may keep)."""
    found = _memo.get(key)
    return None if found is None else own_copy(found)


def remember(
    body: str, rendered: Rendered, *, summary: str | None, front_matter: dict[str, Any] | None
) -> None:
    if body.strip():
        _memo.put(_memo_key(body, _summary_text(summary), front_matter), rendered)


def _summary_text(summary: str | None) -> str:
    return summary.strip() if summary is not None else ""
