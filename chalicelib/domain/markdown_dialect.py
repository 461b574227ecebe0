"""The Markdown dialect of Hugo (Goldmark) and GitHub, as a configured Python-Markdown instance.

Extensions: tables, footnotes, toc, sane_lists, attr_list (``## Title {#id}``), def_list,
pymdownx.highlight + pymdownx.superfences (fences anywhere, any attributes), pymdownx.tilde
(``~~strike~~``), pymdownx.magiclink (bare URLs and ``www.``), GitHub alerts (``alerts``), task
lists (``task_lists``), and this module's glue:

- ``markdown_layout.normalize`` first, so list items and fences are laid out as CommonMark
  lays them out;
- Hugo shortcodes are replaced by placeholders after superfences has taken the code fences
  (so shortcodes in fences stay code) and before anything else: known ones by their HTML,
  unknown ones by an inert element, paired ones by an opening and a closing placeholder
  around their inner Markdown, which the same parse renders (no recursion);
- in code spans and indented code blocks a placeholder is put back as the shortcode's own
  text (``{{</* x */>}}`` as ``{{< x >}}``), and code fences show ``{{</* x */>}}`` as
  ``{{< x >}}`` too;
- a paragraph line that is only a block placeholder (a fence, a block shortcode) is a block
  of its own, as CommonMark lets a fence interrupt a paragraph;
- placeholders are never cut or spilled: a link whose title never ends takes the whole rest
  as its URL, raw HTML inside an attribute value goes back as its text, and a fence inside a
  shortcode's tag goes back as the text it was (docs/rendering.md);
- cost: code is highlighted by ``code_highlight`` (formatter and lexers reused), the inline
  treeprocessor gets only the patterns whose trigger character occurs in the document, and
  the autolink patterns only search text holding ``://``, ``www.`` or ``@``.

Imported only by the renderer, lazily: it imports Markdown and pymdownx at module level.
"""

from __future__ import annotations

import bisect
import html
import re
import xml.etree.ElementTree as etree
from typing import Any

import markdown
from markdown import util
from markdown.blockprocessors import BlockProcessor, BlockQuoteProcessor
from markdown.extensions import Extension
from markdown.extensions.attr_list import AttrListTreeprocessor
from markdown.inlinepatterns import (
    BACKTICK_RE,
    IMAGE_LINK_RE,
    LINK_RE,
    BacktickInlineProcessor,
    ImageInlineProcessor,
    LinkInlineProcessor,
)
from markdown.postprocessors import RawHtmlPostprocessor
from markdown.preprocessors import Preprocessor
from pymdownx.superfences import SuperFencesCodeBlockProcessor, highlight_validator

from . import shortcode_html, shortcodes
from .alerts import AlertExtension
from .markdown_layout import normalize
from .rendering import STASH_LEFTOVER
from .task_lists import TaskListExtension

_PLACEHOLDER = re.compile(util.HTML_PLACEHOLDER % r"([0-9]+)")
_PLACEHOLDER_LINE = re.compile(
    r"^[ ]*" + util.HTML_PLACEHOLDER % r"([0-9]+)" + r"[ ]*$", re.MULTILINE
)
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)")
# A start tag, its quoted attribute values holding any '>'.
_START_TAG = re.compile(r"""<[A-Za-z][^"'<>]*(?:(?:"[^"]*"|'[^']*')[^"'<>]*)*>""")
_ANY_TAG = re.compile(r"""<[^"'<>]*(?:(?:"[^"]*"|'[^']*')[^"'<>]*)*>""")
_STX_IN_TAG = re.compile(f"<[A-Za-z][^<>{util.STX}]*{util.STX}")  # one pass: no '<' is read twice


class _Dialect:
    """Per-instance state: the front matter of the document being rendered and, for each
    shortcode placeholder, the text it shows as in code."""

    def __init__(self) -> None:
        self.front_matter: dict[str, Any] | None = None
        self.literals: dict[int, str] = {}

    def restore(self, text: str, escape: bool) -> str:
        """``text`` with shortcode placeholders put back as the shortcodes' own text."""
        if not self.literals or util.STX not in text:
            return text

        def literal(match: re.Match[str]) -> str:
            value = self.literals.get(int(match.group(1)))
            if value is None:
                return match.group(0)
            return util.code_escape(value) if escape else value

        return _PLACEHOLDER.sub(literal, text)


# What each inline pattern needs in the text to match at all (by registry name). Patterns not
# listed here always run.
_TRIGGERS: dict[str, re.Pattern[str]] = {
    "backtick": re.compile("`"),
    "escape": re.compile(r"\\"),
    "footnote": re.compile(r"\[\^"),
    **dict.fromkeys(("reference", "link", "short_reference"), re.compile(r"\[")),
    **dict.fromkeys(("image_link", "image_reference", "short_image_ref"), re.compile(r"!\[")),
    **dict.fromkeys(("autolink", "automail", "html"), re.compile("<")),
    "linebreak": re.compile("  \n"),
    "entity": re.compile("&"),
    "em_strong": re.compile("[*_]"),
    "delimiter": re.compile("~"),
    "magic-link": re.compile(r"://|www\.", re.IGNORECASE),
    "magic-mail": re.compile("@"),
}


class _InlinePatterns(Preprocessor):
    """The last preprocessor: hands the inline treeprocessor only the patterns whose trigger
    occurs in the text about to be parsed (a pattern that cannot match still costs every text
    node a call), as a list (indexing the registry costs more than the lookups it saves).

    Inline Markdown is read from that text only, with one exception: an indented code block
    holding a placeholder gets source text back (a shortcode's literal text, or superfences'
    source of a "fence" that was code), and ``_CodeBlockProcessor`` then calls ``all``."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        self.table: list[tuple[Any, re.Pattern[str] | None]] | None = None

    def _table(self) -> list[tuple[Any, re.Pattern[str] | None]]:
        if self.table is None:
            registry = self.md.inlinePatterns
            triggers = {
                registry.get_index_for_name(name): trigger
                for name, trigger in _TRIGGERS.items()
                if name in registry
            }
            self.table = [(pattern, triggers.get(i)) for i, pattern in enumerate(registry)]
        return self.table

    def run(self, lines: list[str]) -> list[str]:
        text = "\n".join(lines)
        self.md.treeprocessors["inline"].inlinePatterns = [
            pattern for pattern, trigger in self._table() if trigger is None or trigger.search(text)
        ]
        return lines

    def all(self) -> None:
        self.md.treeprocessors["inline"].inlinePatterns = [pattern for pattern, _ in self._table()]


class _LayoutPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        return normalize(lines)


MAX_HEADING_BRACES = 16  # more on one heading line is no attribute list, and attr_list's
# search for one would take time in the square of the line's length: they are escaped


class _HeadingBraces(Preprocessor):
    """A heading line with more than MAX_HEADING_BRACES '{' keeps them as text."""

    def run(self, lines: list[str]) -> list[str]:
        return [
            line.replace("{", "\\{")
            if line.count("{") > MAX_HEADING_BRACES and line.lstrip().startswith("#")
            else line
            for line in lines
        ]


# One attribute as Goldmark (Hugo) reads it: '#id', '.class' or 'name=value' (quoted or
# not). A '{...}' that is not a list of them ('{% endif %}', '{x}', '{"a": 1}') is text.
_ATTRIBUTE = r"""(?:[#.][\w:.-]+|[A-Za-z_:][\w.:-]*=(?:"[^"\n]*"|'[^'\n]*'|[^\s"'{}]+))"""
_ID = re.compile(r"[\w:.-]+")
_ATTRIBUTES = rf"\{{:?[ ]*({_ATTRIBUTE}(?:[ ]+{_ATTRIBUTE})*)[ ]*\}}"


class _AttributeLists(AttrListTreeprocessor):
    """attr_list, reading only what is an attribute list: its own pattern takes any text in
    braces at the end of a block, and the text was lost when that was no list."""

    HEADER_RE = re.compile(rf"[ ]+{_ATTRIBUTES}[ ]*$")
    BLOCK_RE = re.compile(rf"\n[ ]*{_ATTRIBUTES}[ ]*$")
    INLINE_RE = re.compile(rf"^{_ATTRIBUTES}")

    def assign_attrs(self, elem: etree.Element, attrs_string: str, *, strict: bool = False) -> str:
        """As attr_list does, but an ``id="..."`` that is not a plain name is left out: the
        toc copies ids as they are (raw HTML in one came out as a stash placeholder)."""
        remainder = super().assign_attrs(elem, attrs_string, strict=strict)
        if not _ID.fullmatch(elem.get("id", "-")):
            del elem.attrib["id"]
        return remainder


class _ShortcodePreprocessor(Preprocessor):
    """Shortcodes to placeholders (``shortcodes.substitute``, with this as its handler)."""

    def __init__(self, md: markdown.Markdown, dialect: _Dialect) -> None:
        super().__init__(md)
        self.dialect = dialect

    def run(self, lines: list[str]) -> list[str]:
        if not any("{{" in line for line in lines):
            return lines
        text = "\n".join(lines)
        tags = shortcodes.scan(text)
        if not tags:
            return lines
        pairs = shortcodes.pair(tags, shortcode_html.STANDALONE)
        if util.STX in text:
            written = self._fences_as_written(text, tags, pairs)
            if written != text:
                text, tags = written, shortcodes.scan(written)
                pairs = shortcodes.pair(tags, shortcode_html.STANDALONE)
        return shortcodes.substitute(text, tags, pairs, self).split("\n")

    def _fences_as_written(
        self, text: str, tags: list[shortcodes.Shortcode], pairs: dict[int, int]
    ) -> str:
        """``text`` with the fences superfences took (it runs first) from inside a shortcode's
        tag, or from the code of a ``highlight`` not on lines of its own, given back as the
        text they were: there they are an argument or code, not a fence."""
        spans = [(tag.start, tag.end) for tag in tags]
        spans += [
            (tags[opener].end, tags[closer].start)
            for opener, closer in pairs.items()
            if tags[opener].name in shortcode_html.CODE_INNER
        ]
        starts, ends = _merged(spans)
        fences = self.md.preprocessors["fenced_code_block"].extension.stash

        def written(match: re.Match[str]) -> str:
            at = bisect.bisect_right(starts, match.start()) - 1
            if at < 0 or match.end() > ends[at]:
                return match.group(0)
            source, _ = fences.get(match.group(0)[1:-1], (None, None))
            return match.group(0) if source is None else str(source)

        return _PLACEHOLDER.sub(written, text)

    def stash(self, html_text: str, literal: str) -> str:
        placeholder = self.md.htmlStash.store(html_text)
        self.dialect.literals[self.md.htmlStash.html_counter - 1] = literal
        return placeholder

    def html(
        self, tag: shortcodes.Shortcode, closer: shortcodes.Shortcode | None, alone: bool
    ) -> tuple[str, str]:
        return shortcode_html.render(tag, closer, alone, self.dialect.front_matter)

    def is_block(self, html_text: str) -> bool:
        name = _TAG_NAME.match(html_text)
        return name is not None and bool(self.md.is_block_level(name.group(1)))

    def is_code(self, tag: shortcodes.Shortcode) -> bool:
        return tag.name in shortcode_html.CODE_INNER

    def code(self, tag: shortcodes.Shortcode, inner: str) -> str:
        return shortcode_html.highlight(tag, shortcodes.unescape_comments(inner))

    def is_raw(self, tag: shortcodes.Shortcode) -> bool:
        return shortcode_html.raw_inner(tag)


def _merged(spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """The starts and ends of the union of ``spans``, in order, for ``bisect``."""
    starts: list[int] = []
    ends: list[int] = []
    for start, end in sorted(spans):
        if ends and start <= ends[-1]:
            ends[-1] = max(ends[-1], end)
        else:
            starts.append(start)
            ends.append(end)
    return starts, ends


def _block_placeholder(md: markdown.Markdown, line: str) -> bool:
    """Whether ``line`` is only a placeholder for block-level HTML (a fence, a shortcode)."""
    match = _PLACEHOLDER_LINE.fullmatch(line)
    if match is None or int(match.group(1)) >= md.htmlStash.html_counter:
        return False
    name = _TAG_NAME.match(str(md.htmlStash.rawHtmlBlocks[int(match.group(1))]))
    return name is not None and bool(md.is_block_level(name.group(1)))


class _PlaceholderSplitter(BlockProcessor):
    """Split a paragraph at a line that is only a block-level placeholder."""

    def _line(self, block: str) -> re.Match[str] | None:
        for match in _PLACEHOLDER_LINE.finditer(block):
            if _block_placeholder(self.parser.md, match.group(0)):
                return match
        return None

    def test(self, parent: etree.Element, block: str) -> bool:
        return util.STX in block and "\n" in block.strip() and self._line(block) is not None

    def run(self, parent: etree.Element, blocks: list[str]) -> bool:
        block = blocks.pop(0)
        match = self._line(block)
        assert match is not None
        parts = [block[: match.start()], match.group(0), block[match.end() :]]
        blocks[0:0] = [part.strip("\n") for part in parts if part.strip()]
        return True


class _QuoteProcessor(BlockQuoteProcessor):
    """Blockquotes, their content laid out by ``markdown_layout`` too (lists in quotes), and a
    line after a code fence in a quote not read as a lazy continuation of the quote (only
    paragraph text continues lazily in CommonMark)."""

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        block = blocks.pop(0)
        match = self.RE.search(block)
        if match:
            self.parser.parseBlocks(parent, [block[: match.start()]])
            lines = block[match.start() :].split("\n")
            for number in range(1, len(lines)):
                if not self.RE.match(lines[number]) and _block_placeholder(
                    self.parser.md, self.clean(lines[number - 1])
                ):
                    blocks.insert(0, "\n".join(lines[number:]))
                    lines = lines[:number]
                    break
            block = "\n".join(normalize([self.clean(line) for line in lines]))
        sibling = self.lastChild(parent)
        if sibling is not None and sibling.tag == "blockquote":
            quote = sibling
        else:
            quote = etree.SubElement(parent, "blockquote")
        self.parser.state.set("blockquote")
        self.parser.parseChunk(quote, block)
        self.parser.state.reset()


class _CodeBlockProcessor(SuperFencesCodeBlockProcessor):  # type: ignore[misc]
    """Indented code: shortcodes in it are shown as written."""

    dialect: _Dialect
    patterns: _InlinePatterns

    def run(self, parent: etree.Element, blocks: list[str]) -> bool:
        if blocks and blocks[0].startswith(" " * self.tab_length) and util.STX in blocks[0]:
            blocks[0] = self.dialect.restore(blocks[0], escape=False)
            # Source text comes back (a shortcode's, or superfences gives back a "fence" that
            # was code), and the lines after the code block are Markdown again.
            self.patterns.all()
        return bool(super().run(parent, blocks))


class _BacktickProcessor(BacktickInlineProcessor):
    """Code spans: shortcodes in them are shown as written."""

    def __init__(self, dialect: _Dialect) -> None:
        super().__init__(BACKTICK_RE)
        self.dialect = dialect

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element | str, int, int]:
        element, start, end = super().handleMatch(m, data)
        if isinstance(element, etree.Element) and element.text:
            element.text = util.AtomicString(self.dialect.restore(element.text, escape=True))
        return element, start, end


class _ClosedLinks(LinkInlineProcessor):
    """Python-Markdown's fallback for a title that never ends (``[a]("(x``) takes the rest of
    the text as the URL, but ends the link at index -1: the URL lost the text's last two
    characters (half a placeholder: ``wzxhzdk:"`` in the page) and the last one stayed as
    text. Here the URL is the whole rest, and the link ends with the text (so the next
    ``[`` is not scanned to the end again: a thousand of them stay linear)."""

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:
        href, title, end, handled = super().getLink(data, index)
        if handled and end <= index:
            start = self.RE_LINK.match(data, pos=index)
            rest = data[start.end() if start else index :]
            return self.unescape(rest).strip(), None, len(data), True
        return href, title, end, handled


class _ClosedImages(_ClosedLinks, ImageInlineProcessor):
    pass


class _RawHtml(RawHtmlPostprocessor):
    """Raw HTML put back, except inside an attribute value (a shortcode in a link's title or
    URL, in an image's alt, in a raw tag's attribute), where its text goes instead: markup
    there would end the value and spill into the page."""

    def run(self, text: str) -> str:
        return super().run(self._in_attributes(text)) if self.md.htmlStash.html_counter else text

    def stash_to_string(self, text: str) -> str:
        return self._in_attributes(str(text))

    def _in_attributes(self, text: str) -> str:
        if util.STX not in text or _STX_IN_TAG.search(text) is None:
            return text
        return _START_TAG.sub(lambda tag: _PLACEHOLDER.sub(self._as_text, tag.group(0)), text)

    def _as_text(self, match: re.Match[str]) -> str:
        key = int(match.group(1))
        if key >= self.md.htmlStash.html_counter:
            return ""
        raw = _PLACEHOLDER.sub(self._as_text, str(self.md.htmlStash.rawHtmlBlocks[key]))
        return html.escape(html.unescape(_ANY_TAG.sub("", raw)), quote=True)


class DialectExtension(Extension):
    """The glue described in the module docstring; after superfences in the extension list."""

    def __init__(self, dialect: _Dialect) -> None:
        super().__init__()
        self.dialect = dialect

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.registerExtension(self)
        dialect = self.dialect
        md.preprocessors.register(_LayoutPreprocessor(md), "cms_layout", 27)
        md.preprocessors.register(_ShortcodePreprocessor(md, dialect), "cms_shortcodes", 22)
        md.preprocessors.register(_HeadingBraces(md), "cms_heading_braces", 21)
        patterns = _InlinePatterns(md)
        md.preprocessors.register(patterns, "cms_inline_patterns", 0)
        md.parser.blockprocessors.register(_PlaceholderSplitter(md.parser), "cms_split", 10.5)
        superfences_code = md.parser.blockprocessors["code"]
        code = _CodeBlockProcessor(md.parser)
        code.config = superfences_code.config
        code.extension = superfences_code.extension
        code.dialect = dialect
        code.patterns = patterns
        md.parser.blockprocessors.register(code, "code", 80)
        md.parser.blockprocessors.register(_QuoteProcessor(md.parser), "quote", 20)
        md.inlinePatterns.register(_BacktickProcessor(dialect), "backtick", 190)
        md.inlinePatterns.register(_ClosedLinks(LINK_RE, md), "link", 160)
        md.inlinePatterns.register(_ClosedImages(IMAGE_LINK_RE, md), "image_link", 150)
        md.postprocessors.register(_RawHtml(md), "raw_html", 30)
        md.treeprocessors.register(_AttributeLists(md), "attr_list", 8)

    def reset(self) -> None:
        self.dialect.literals.clear()
        self.dialect.front_matter = None


class _Gate:
    """A compiled pattern that is searched only if the text contains one of ``needles``: the
    autolink patterns' regular expressions cost every text node a scan of every position, and
    most text holds no ``://``, ``www.`` or ``@``."""

    def __init__(self, pattern: re.Pattern[str], needles: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.needles = needles

    def finditer(self, data: str, pos: int = 0) -> Any:
        if self.needles.search(data, pos) is None:
            return iter(())
        return self.pattern.finditer(data, pos)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pattern, name)


_GATES = {"magic-link": re.compile(r"://|www\.", re.IGNORECASE), "magic-mail": re.compile("@")}


def _fence_format(
    src: str, language: str, class_name: str, options: dict[str, Any], md: Any, **kwargs: Any
) -> str:
    """A fence's code, highlighted (``hl_lines`` honoured, ``linenums`` and ``title`` not),
    with ``{{</* x */>}}`` shown as ``{{< x >}}``. Never raises: superfences would drop the
    fence, and its closing line would open the next one."""
    from .code_highlight import highlight, line_numbers

    code = shortcodes.unescape_comments(src)
    try:
        lines = line_numbers(str((options or {}).get("hl_lines", "")), code.count("\n") + 1)
        return highlight(code, language or "", lines)
    except Exception:  # a Pygments lexer bug: show the code as it is
        return f'<div class="highlight"><pre><code>{html.escape(code)}</code></pre></div>'


def _slugify(value: str, separator: str) -> str:
    """ASCII-only slug (accents folded, other scripts dropped), without what is left of a
    placeholder; never empty."""
    from markdown.extensions.toc import slugify

    return slugify(STASH_LEFTOVER.sub("", value), separator) or "section"


class DialectMarkdown(markdown.Markdown):
    """A Markdown instance with the dialect; ``convert_with(body, front_matter)`` renders."""

    EXTENSIONS = (
        "tables",
        "footnotes",
        "toc",
        "sane_lists",
        "attr_list",
        "def_list",
        "pymdownx.highlight",
        "pymdownx.superfences",
        "pymdownx.tilde",
        "pymdownx.magiclink",
    )

    def __init__(self) -> None:
        self.cms_dialect = _Dialect()
        super().__init__(
            extensions=[
                *self.EXTENSIONS,
                TaskListExtension(),
                AlertExtension(),
                DialectExtension(self.cms_dialect),
            ],
            extension_configs={
                "tables": {"use_align_attribute": True},
                "toc": {"slugify": _slugify, "marker": ""},
                "pymdownx.highlight": {
                    "css_class": "highlight",
                    "guess_lang": False,
                    "noclasses": False,
                    "use_pygments": True,
                },
                "pymdownx.superfences": {
                    "relaxed_headers": True,
                    "custom_fences": [
                        {
                            "name": "*",
                            "class": "highlight",
                            "format": _fence_format,
                            "validator": highlight_validator,
                        }
                    ],
                },
                "pymdownx.tilde": {"subscript": False},
                "pymdownx.magiclink": {"hide_protocol": False},
            },
            output_format="html",
        )

        for name, needles in _GATES.items():
            if name not in self.inlinePatterns:
                continue
            pattern = self.inlinePatterns[name]
            pattern.compiled_re = _Gate(pattern.compiled_re, needles)

    def convert_with(self, body: str, front_matter: dict[str, Any] | None) -> str:
        """``convert`` with the front matter ``param`` reads; call ``reset`` before."""
        self.cms_dialect.front_matter = front_matter
        return self.convert(body)
