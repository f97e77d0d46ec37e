"""Finding a model's quote in a passage, verbatim up to whitespace and typography.

Models copy text faithfully but not byte for byte: they collapse line breaks, join words
hyphenated at a line end, straighten curly quotes and dashes, and elide the middle of
long quotes with "...". The comparison forgives exactly that and nothing else (case,
spelling and word order must match), and the span it returns indexes the passage's own
text, so the citation quotes the document, not the model.
"""

from __future__ import annotations

import re

from citeqa.segment import display_map

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        # every dash reads as the hyphen-minus, as in search terms (citeqa.text.words)
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
        "\u00a0": " ",
    }
)
# Each match starts where its white space does (not again inside it): linear time.
_ELLIPSIS = re.compile(r"(?<!\s)\s*(?:\.\.\.|\u2026)\s*")
_MIN_CHARS = 4  # a quote must say something: at least this many characters, one alphanumeric


def normalise(text: str) -> tuple[str, list[int]]:
    """Text as citeqa.segment displays it (white space runs as one space, line-end
    hyphenation joined: "manip-\\nulate" reads "manipulate") with typography
    straightened, and for each of its characters the index of the original character it
    came from."""
    shown, where = display_map(text)
    return shown.translate(_TYPOGRAPHY), where[:-1]


def _variants(quote: str) -> list[str]:
    """The quote as given, then without wrapping quotation marks, then without trailing
    punctuation the model may have added."""
    found = [quote]
    stripped = quote.strip("\"'")
    if stripped != quote:
        found.append(stripped)
    for text in list(found):
        trimmed = text.rstrip(".,;:!?")
        if trimmed != text:
            found.append(trimmed)
    return [v for v in dict.fromkeys(found) if len(v) >= _MIN_CHARS and any(c.isalnum() for c in v)]


def find_quote(passage: str, quote: str) -> tuple[int, int] | None:
    """[start, end) in `passage` of the model's quote, or None when it is not there.

    An elided quote ("a ... b") matches when its pieces occur in order; the span then runs
    from the first piece to the last, i.e. it includes the elided words, so the returned
    text is still a verbatim part of the passage."""
    haystack, where = normalise(passage)
    wanted, _ = normalise(quote)
    for variant in _variants(wanted):
        pieces = [p for p in _ELLIPSIS.split(variant) if p]
        if not pieces or sum(len(p) for p in pieces) < _MIN_CHARS:
            continue
        cursor = 0
        first = last = None
        for piece in pieces:
            at = haystack.find(piece, cursor)
            if at < 0:
                break
            if first is None:
                first = at
            last = at + len(piece)
            cursor = last
        else:
            assert first is not None and last is not None
            return where[first], where[last - 1] + 1
    return None
