"""ISO dates as stored in metadata, and as integers for Chroma's numeric range filters."""

from __future__ import annotations

import datetime as dt


def parse_date(value: str) -> str | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def exact_iso_date(value: str | None, message: str) -> str | None:
    """A request's date field: None stays None; anything but an exact YYYY-MM-DD date
    raises ValueError(message) (for a pydantic validator)."""
    if value is None:
        return None
    parsed = parse_date(value)
    if parsed is None or parsed != value:
        raise ValueError(message)
    return parsed


def date_as_int(value: str | None) -> int | None:
    """2024-05-30 -> 20240530."""
    return int(value.replace("-", "")) if value else None
