"""Progress bars for long operations: rich on a terminal (on stderr), silent otherwise."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol


class Task(Protocol):
    def advance(self, steps: int = 1) -> None: ...


class Progress(Protocol):
    def task(self, description: str, total: int) -> contextlib.AbstractContextManager[Task]: ...


class _NullTask:
    def advance(self, steps: int = 1) -> None:
        return None


class NullProgress:
    """No output (tests, --quiet, scripts)."""

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[Task]:
        yield _NullTask()


class RichProgress:
    """A rich progress bar per task, on stderr so --json output on stdout stays clean."""

    def __init__(self, enabled: bool = True) -> None:
        from rich.console import Console

        self.console = Console(stderr=True)
        self.enabled = enabled and self.console.is_terminal

    @contextlib.contextmanager
    def task(self, description: str, total: int) -> Iterator[Task]:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Bar(*columns, console=self.console, disable=not self.enabled, transient=False) as bar:
            task_id = bar.add_task(description, total=total)

            class _Task:
                def advance(self, steps: int = 1) -> None:
                    bar.advance(task_id, steps)

            yield _Task()
