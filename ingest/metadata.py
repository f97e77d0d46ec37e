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


# A first line is a title when it is short and is not a sentence: no sentence-ending
# mark at its end ("This is the file README for the gzip distribution." is not one).
_MAX_TITLE_WORDS = 12
_SENTENCE_END = (".", "!", "?", ";", ",", ":")
_INNER_BREAK = re.compile(r"[.!?] |[;=]")
# "Title" over a line of "=" or "-" (a setext heading)
_UNDERLINE = re.compile(r"[=-]{3,}")


def _title_line(text: str) -> str | None:
    """The text's first line when it reads as a title, else None."""
    lines = iter(text[:5000].splitlines())
    first = next((line.strip() for line in lines if line.strip()), "")
    following = next(lines, "").strip()
    if not first or len(first) > _MAX_TITLE:
        return None
    if _UNDERLINE.fullmatch(following):
        return first
    if len(first.split()) > _MAX_TITLE_WORDS or first.endswith(_SENTENCE_END):
        return None
    # two sentences ("These are the GNU core utilities.  This package ..."), or a
    # record's fields ("adduser (3.130) unstable; urgency=low")
    if _INNER_BREAK.search(first):
        return None
    return first


# Headings that open a section of any document, naming none ("Introduction", "NAME")
_SECTION_NAMES = frozenset(
    {
        "abstract", "contents", "description", "foreword", "introduction", "name",
        "overview", "preface", "summary", "synopsis", "table of contents",
    }
)


def _is_section_name(label: str) -> bool:
    return label.strip(" :.").lower() in _SECTION_NAMES


def humanised_name(file_name: str) -> str:
    """A file name as a title: no suffixes, words apart, first letter upper ("gpl-2.txt.gz"
    -> "Gpl 2"); a name that many folders share (README, NEWS.Debian, changelog) also
    names its folder ("bash/README.Debian.gz" -> "README Debian (bash)")."""
    *folders, name = [p for p in file_name.replace("\\", "/").split("/") if p]
    stem = name
    while Path(stem).suffix.lower() in _KNOWN_SUFFIXES:
        stem = Path(stem).stem
    words = " ".join(_NAME_BREAK.sub(" ", stem).split())
    if not words:
        return ""
    title = words[:1].upper() + words[1:]
    if folders and words.split()[0].upper() in _SHARED_NAMES:
        title = f"{title} ({folders[-1]})"
    return title[:_MAX_TITLE]


# the first words of file names that many folders have, each its own
_SHARED_NAMES = frozenset(
    {
        "AUTHORS", "CHANGELOG", "CHANGES", "CONTRIBUTING", "COPYING", "COPYRIGHT", "HISTORY",
        "INDEX", "INSTALL", "LICENCE", "LICENSE", "NEWS", "NOTICE", "README", "TODO",
    }
)


# what parts a file name's words: "_", "-", and a "." that is not inside a number
_NAME_BREAK = re.compile(r"[_-]+|(?<!\d)\.|\.(?!\d)")
# the suffixes a humanised name leaves out: formats read and compressions
_KNOWN_SUFFIXES = frozenset(
    {
        ".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml", ".pdf", ".docx",
        ".pptx", ".odt", ".epub", ".csv", ".xlsx", ".ods", ".gz", ".bz2", ".xz",
    }
)


def derive_title(text: str, hint: str | None, file_name: str | None) -> str:
    """A title a user recognises: the one given or found in the file's metadata, else
    the first heading, else a first line that reads as a title (short, not a sentence),
    else the file name made readable; never a sentence of the text."""
    if hint and hint.strip():
        return hint.strip()[:_MAX_TITLE]
    heading = _MD_HEADING.search(text[:5000])
    label = heading.group(1).rstrip().rstrip("#").rstrip() if heading else ""
    if label and not _is_section_name(label):
        return label[:_MAX_TITLE]
    line = None if label else _title_line(text)
    if line and not _is_section_name(line):
        return line
    named = humanised_name(file_name) if file_name else ""
    return named or "Untitled"
