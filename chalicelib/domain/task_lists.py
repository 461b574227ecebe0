"""GitHub task lists (``- [ ] todo``, ``- [x] done``) with a character for the box.

pymdownx.tasklist finds the items; its ``<input type="checkbox" disabled>`` is replaced by
``<span class="task-list-checkbox">☐</span>`` (``☑`` and ``task-list-checked`` when done):
``input`` stays off the sanitizer's allow-list, so no form control can ever come through.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown import Markdown
from markdown.extensions import Extension
from pymdownx.tasklist import RE_CHECKBOX, TasklistTreeprocessor

UNCHECKED = "\u2610"
CHECKED = "\u2611"


def _mark(element: etree.Element, match: re.Match[str]) -> None:
    done = match.group("state").lower() == "x"
    box = etree.Element(
        "span", {"class": "task-list-checkbox task-list-checked" if done else "task-list-checkbox"}
    )
    box.text = CHECKED if done else UNCHECKED
    box.tail = " " + match.group("line")
    element.text = None
    element.insert(0, box)


class _TaskListTreeprocessor(TasklistTreeprocessor):  # type: ignore[misc]
    def inline(self, li: etree.Element) -> bool:
        match = RE_CHECKBOX.match(li.text or "")
        if match is None:
            return False
        _mark(li, match)
        return True

    def sub_paragraph(self, li: etree.Element) -> bool:
        first = li[0] if len(li) else None
        if first is None or first.tag != "p" or first.text is None:
            return False
        match = RE_CHECKBOX.match(first.text)
        if match is None:
            return False
        _mark(first, match)
        return True


class TaskListExtension(Extension):
    def extendMarkdown(self, md: Markdown) -> None:
        processor = _TaskListTreeprocessor(md)
        processor.config = {"custom_checkbox": False, "clickable_checkbox": False}
        md.treeprocessors.register(processor, "task-list", 25)
