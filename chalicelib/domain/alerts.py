"""GitHub alerts: a blockquote that starts with ``[!NOTE]`` (TIP, IMPORTANT, WARNING, CAUTION)
rendered as GitHub renders it (without the icon)::

    <div class="markdown-alert markdown-alert-note"><p class="markdown-alert-title">Note</p>
    <p>...</p></div>

A Python-Markdown treeprocessor that runs on the parsed blockquote before inline Markdown:
the marker must be alone on the first line (case-insensitive, as on GitHub); what follows it in
the first paragraph is parsed again as blocks, so a list right after the marker stays a list.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

KINDS: tuple[str, ...] = ("note", "tip", "important", "warning", "caution")
_MARKER = re.compile(r"[ \t]*\[!(" + "|".join(KINDS) + r")\][ \t]*(?:\n|$)", re.IGNORECASE)


class _AlertTreeprocessor(Treeprocessor):
    def run(self, root: etree.Element) -> None:
        quotes = [
            (parent, child)
            for parent in root.iter()
            for child in parent
            if child.tag == "blockquote"
        ]
        for parent, quote in reversed(quotes):  # inner ones first: outer ones move them
            self._convert(parent, quote)

    def _convert(self, parent: etree.Element, quote: etree.Element) -> None:
        children = list(quote)
        starts = [
            index
            for index, child in enumerate(children)
            if child.tag == "p" and child.text and _MARKER.match(child.text)
        ]
        if not starts:
            return
        # Python-Markdown merges blockquotes separated by a blank line; GitHub does not: an
        # alert marker starts a new one.
        replacement: list[etree.Element] = []
        if starts[0]:
            head = etree.Element("blockquote")
            head.extend(children[: starts[0]])
            replacement.append(head)
        for number, start in enumerate(starts):
            end = starts[number + 1] if number + 1 < len(starts) else len(children)
            replacement.append(self._alert(children[start], children[start + 1 : end]))
        position = list(parent).index(quote)
        replacement[-1].tail = quote.tail
        parent.remove(quote)
        for offset, element in enumerate(replacement):
            parent.insert(position + offset, element)

    def _alert(self, first: etree.Element, others: list[etree.Element]) -> etree.Element:
        match = _MARKER.match(first.text or "")
        assert match is not None
        kind = match.group(1).lower()
        alert = etree.Element("div", {"class": f"markdown-alert markdown-alert-{kind}"})
        alert.text = "\n"
        title = etree.SubElement(alert, "p", {"class": "markdown-alert-title"})
        title.text = kind.capitalize()
        title.tail = "\n"
        rest = (first.text or "")[match.end() :]
        if rest.strip():  # the rest of the first paragraph, parsed again: it may hold a list
            self.md.parser.parseChunk(alert, rest)
            if len(first):  # inline children (rare before inline Markdown)
                alert[-1].extend(list(first))
        alert.extend(others)
        return alert


class AlertExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        # before "inline" (20): the marker is still the paragraph's raw text
        md.treeprocessors.register(_AlertTreeprocessor(md), "cms_alerts", 22)
