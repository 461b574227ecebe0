"""S3 event sequencers: hex strings, comparable per key once left-padded to equal length."""

from __future__ import annotations


def padded(sequencer: str, width: int = 32) -> str:
    """The sequencer left-padded with zeros, so string order is event order."""
    text = sequencer.strip().upper()
    int(text, 16)  # raises ValueError on anything that is not hex
    return text.rjust(width, "0")


def is_newer(candidate: str, current: str | None) -> bool:
    """True if ``candidate`` happened after ``current`` (None: nothing seen yet)."""
    if current is None:
        return True
    return int(candidate, 16) > int(current, 16)


def may_apply(candidate: str, current: str | None, render_status: str | None) -> bool:
    """An event write applies when it is newer than what the index holds, or when it is the
    very event whose processing failed (a redrive of the dead letter)."""
    if is_newer(candidate, current):
        return True
    return (
        current is not None and render_status == "failed" and padded(candidate) == padded(current)
    )
