"""Document metadata parsed from the text itself: a declared date and a title."""

from __future__ import annotations

import re
from pathlib import Path

from citeqa.dates import date_as_int, parse_date

__all__ = ["date_as_int", "derive_title", "extract_date", "extract_front_matter", "parse_date"]

# " date 2024-05-30 President Biden ..." or "Date: 2024-05-30\n..." at the very start.
# (White space is matched once before the separator and once after it, never by two
# adjacent quantifiers that could share it: that would be quadratic in a long run.)
_LEADING_DATE = re.compile(
    r"\A\s*date(?:\s*[:=])?\s*(\d{4}-\d{2}-\d{2})(?:\s+|\Z)", re.IGNORECASE
)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)
# A Markdown heading's line; its closing marks are stripped in code (a lazy group before
# `\s*#*\s*$` backtracks in cubic time over trailing spaces).
_MD_HEADING = re.compile(r"^#{1,3}[ \t]+(\S.*)", re.MULTILINE)
_MAX_TITLE = 120


def extract_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Simple `key: value` YAML front matter of Markdown files; returns (fields, body)."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[match.end() :]


def extract_date(text: str) -> tuple[str | None, str]:
    """A date declared at the start of the text becomes metadata and leaves the body."""
    match = _LEADING_DATE.match(text)
    if not match:
        return None, text
    date = parse_date(match.group(1))
    if date is None:
        return None, text
    return date, text[match.end() :]


def derive_title(text: str, hint: str | None, file_name: str | None) -> str:
    if hint and hint.strip():
        return hint.strip()[:_MAX_TITLE]
    heading = _MD_HEADING.search(text[:5000])
    label = heading.group(1).rstrip().rstrip("#").rstrip() if heading else ""
    if label:
        return label[:_MAX_TITLE]
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if 0 < len(first_line) <= _MAX_TITLE:
        return first_line
    if file_name:
        stem = Path(file_name).stem.replace("_", " ").replace("-", " ").strip()
        if stem:
            return stem[:1].upper() + stem[1:]
    return (first_line[: _MAX_TITLE - 1].rsplit(" ", 1)[0] + "…") if first_line else "Untitled"
