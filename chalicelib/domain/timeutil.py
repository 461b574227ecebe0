"""Timestamps: every instant is stored as a fixed-width UTC ISO 8601 string to the second,
'2024-05-01T09:30:00Z', so string order is time order (the index compares them as text)."""

from __future__ import annotations

import datetime as dt


def to_iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%SZ")


def parse_instant(value: str | dt.datetime | dt.date) -> dt.datetime:
    """Parse an ISO 8601 date or date-time; a naive value is taken as UTC."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError as exc:
        raise ValueError("date out of range") from exc


def normalize_instant(value: str | dt.datetime | dt.date) -> str:
    return to_iso(parse_instant(value))
