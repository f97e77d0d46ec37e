"""ISO dates as stored in metadata, and as integers for Chroma's numeric range filters."""

from __future__ import annotations

import datetime as dt


def parse_date(value: str) -> str | None:
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def date_as_int(value: str | None) -> int | None:
    """2024-05-30 -> 20240530."""
    return int(value.replace("-", "")) if value else None
