"""What one document may cost to render: a CPU-time budget and a nesting depth.

Python-Markdown's inline patterns are quadratic on some inputs (``[`` repeated 8,000 times
takes 12 s) and it recurses once per nesting level, so a small hostile body could hold a
renderer for minutes. Every render runs under ``RenderBudget``:

- ``check_depth`` refuses, before parsing, a document nested deeper than ``max_depth``
  (block quotes and list items; a linear scan);
- ``within_budget`` runs the render under a CPU-time timer (``ITIMER_PROF``) that interrupts
  it once ``cpu_seconds`` are spent. Signals reach only the main thread, so the timer works
  where the render runs in a process's main thread: a Lambda handler, a local render worker
  (``adapters/local/render_workers.py``, which also kills a worker that outlives the
  budget, the guarantee for code that never returns to the interpreter).

Whatever stops a render (the budget, the depth, a recursion limit, any parser exception)
becomes ``RenderRefused``: the caller records it on the entry as a failed render, once.
"""

from __future__ import annotations

import bisect
import contextlib
import re
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .html_cost import html_shape

if TYPE_CHECKING:
    from .rendering import Rendered

T = TypeVar("T")

TOO_COMPLEX = "render-too-complex"
RENDER_ERROR = "render-error"


@dataclass(frozen=True)
class RenderBudget:
    cpu_seconds: float = 2.0
    max_depth: int = 32


class RenderRefused(Exception):
    """A document this renderer will not (or could not) render; ``code: detail`` is what
    editors see on the entry."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


def over_budget(budget: RenderBudget) -> RenderRefused:
    return RenderRefused(
        TOO_COMPLEX,
        f"rendering took more than the budget of {budget.cpu_seconds:g} s of CPU time.",
    )


class _OverBudget(BaseException):
    """Raised by the timer; a BaseException so no ``except Exception`` in a parser eats it."""


# A line's block quote markers; a list item line's quote markers, indentation and marker.
_QUOTES = re.compile(r"^(?:[ \t]*>)+", re.MULTILINE)
_LIST_ITEM = re.compile(r"^((?:[ \t]*>)*)([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)", re.MULTILINE)


_FENCE = re.compile(r"^[ \t>]*(`{3,}|~{3,})", re.MULTILINE)


def _fenced_spans(body: str) -> list[tuple[int, int]]:
    """Where fenced code blocks are: (start, end) offsets, a fence closed by a fence of the
    same character at least as long (or the end of the document)."""
    spans: list[tuple[int, int]] = []
    opener: re.Match[str] | None = None
    for fence in _FENCE.finditer(body):
        marker = fence.group(1)
        if opener is None:
            opener = fence
        elif marker[0] == opener.group(1)[0] and len(marker) >= len(opener.group(1)):
            spans.append((opener.end(), fence.start()))
            opener = None
    if opener is not None:
        spans.append((opener.end(), len(body)))
    return spans


def nesting_depth(body: str) -> int:
    """How deep the deepest line nests: block quote markers, plus list levels estimated from
    the indentation of list item lines (two columns a level, the least CommonMark allows).
    Lines inside fenced code blocks are code, not structure."""
    spans = _fenced_spans(body) if "``" in body or "~~" in body else []
    starts = [start for start, _ in spans]

    def in_code(offset: int) -> bool:
        at = bisect.bisect_right(starts, offset) - 1
        return at >= 0 and offset < spans[at][1]

    deepest = 0
    for match in _QUOTES.finditer(body):
        if not in_code(match.start()):
            deepest = max(deepest, match.group().count(">"))
    for match in _LIST_ITEM.finditer(body):
        if not in_code(match.start()):
            quotes, indent = match.groups()
            deepest = max(deepest, quotes.count(">") + 1 + len(indent.expandtabs(4)) // 2)
    return deepest


def check_depth(body: str, budget: RenderBudget) -> None:
    if budget.max_depth <= 0:
        return
    depth = nesting_depth(body)
    if depth > budget.max_depth:
        raise RenderRefused(
            TOO_COMPLEX,
            f"the document nests {depth} levels deep (block quotes and lists); "
            f"the limit is {budget.max_depth}.",
        )


# The sanitizer's HTML parser is native code, which no timer interrupts; what makes it slow
# is estimated before it runs (``html_cost``). Real pages nest a few dozen deep (text that
# looks like tags, `Map<String, List<T>>` outside code, adds some) and hold a few thousand
# character references (a page of HTML samples in code blocks, ~120,000), which cost it more
# than linear time in one text node (100,000 take 0.12 s, 250,000 ~0.6 s, 512,000 1.9 s).
MAX_HTML_DEPTH = 4096
MAX_CHARACTER_REFERENCES = 250_000
# Formatting elements re-created: 1,000 '<b>'s left open each ahead of a block of its own
# cost the parser 1.5 s and 165 MB, 2,000 cost 5.6 s and 574 MB.
MAX_REOPENED = 100_000


def html_nesting_depth(html: str) -> int:
    return html_shape(html).depth


def check_html(html: str) -> None:
    """Refuse HTML that the sanitizer would take too long over (see the limits above)."""
    # a no-break space costs the parser about twice a reference (256,000: 1.2 s)
    references = html.count("&") + 2 * html.count("\xa0")
    if references > MAX_CHARACTER_REFERENCES:
        raise RenderRefused(
            TOO_COMPLEX,
            f"the HTML holds {references} character references (as '&' in the text becomes,"
            f" a no-break space counting twice); the limit is {MAX_CHARACTER_REFERENCES}.",
        )
    shape = html_shape(html, stop_above=MAX_REOPENED)
    if shape.depth > MAX_HTML_DEPTH:
        raise RenderRefused(
            TOO_COMPLEX,
            f"the HTML nests {shape.depth} elements deep; the limit is {MAX_HTML_DEPTH}.",
        )
    if shape.reopened > MAX_REOPENED:
        raise RenderRefused(
            TOO_COMPLEX,
            f"the HTML leaves formatting elements (<b>, <i>, <a>, ...) open where the parser"
            f" would re-create them more than {MAX_REOPENED} times; the limit is {MAX_REOPENED}.",
        )


def timer_available() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


EXPIRED_REPEAT_SECONDS = 0.05


@contextlib.contextmanager
def _cpu_timer(seconds: float) -> Iterator[None]:
    """Raise ``_OverBudget`` in this (main) thread once the process has spent ``seconds`` of
    CPU time; a no-op where signals cannot reach (another thread, no ``setitimer``)."""
    if seconds <= 0 or not timer_available():
        yield
        return

    armed = [True]

    def expired(signum: int, frame: object) -> None:
        if armed[0]:
            raise _OverBudget()

    # After the budget the timer keeps firing, every EXPIRED_REPEAT_SECONDS of CPU: native
    # code that calls back into Python (the sanitizer's attribute filter) may swallow one
    # exception, and the render must still stop once control is back.
    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds, EXPIRED_REPEAT_SECONDS)
    try:
        yield
    finally:
        late = False
        while True:  # a signal landing in here must not skip restoring the handler
            try:
                armed[0] = False
                signal.setitimer(signal.ITIMER_PROF, 0)
                signal.signal(signal.SIGPROF, previous)
                break
            except _OverBudget:
                late = True
        if late:
            raise _OverBudget()


def within_budget(budget: RenderBudget, render: Callable[[], T]) -> T:
    """``render()`` under the budget; ``RenderRefused`` for whatever stops it."""
    try:
        with _cpu_timer(budget.cpu_seconds):
            return render()
    except _OverBudget:
        raise over_budget(budget) from None
    except RecursionError:
        raise RenderRefused(
            TOO_COMPLEX, "the document is nested too deeply for the parser."
        ) from None
    except RenderRefused:
        raise
    except Exception as exc:  # a parser bug on odd input fails this document, not the queue
        raise RenderRefused(
            RENDER_ERROR, f"the parser failed: {type(exc).__name__}: {exc}"
        ) from None


def render_within(
    budget: RenderBudget,
    body: str,
    *,
    summary: str | None = None,
    front_matter: dict[str, Any] | None = None,
) -> Rendered:
    """``render_markdown`` under ``budget``; the parser's modules load before the timer starts,
    so a cold process is not charged for its imports."""
    from .rendering import render_markdown, warm

    check_depth(body, budget)
    warm()
    return within_budget(
        budget, lambda: render_markdown(body, summary=summary, front_matter=front_matter)
    )
