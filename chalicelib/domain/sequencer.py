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
