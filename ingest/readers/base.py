"""What every reader shares: the loaded document, and text made safe to store (newlines
normalised, control and invisible characters dropped, bytes that are not text refused,
the encoding found)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from citeqa.errors import NotText

# Invisible characters that can hide text from a reader but not from a model.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Terminal formatting as grotty and coloured logs write it: escape sequences (ECMA-48:
# CSI, "ESC [ 1 m", and the shorter ones such as "ESC ( B") and overstrikes ("N
# backspace N" bold, "_ backspace x" underline). Dropping only the control characters
# left "[1mNAME[0m" and "NNAAMMEE" in the text.
_TERMINAL_ESCAPE = re.compile("\x1b(?:\\[[0-?]*[ -/]*[@-~]|[ -/]*[0-~])")
_OVERSTRUCK = re.compile("[^\n]\x08")

# a part that ends a sentence: closing punctuation, then any closing quotes or brackets
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*$")


def runs_on(before: str, after: str) -> bool:
    """Whether `after` goes on with a sentence `before` left open: `before` ends without
    closing punctuation and `after` starts in lower case. A reader joins such parts with
    a line break instead of a blank line, so the segmenter keeps the sentence whole (a
    PDF's sentence across a page break, a hard-wrapped text saved a paragraph per line)."""
    return bool(before) and after[:1].islower() and _SENTENCE_END.search(before) is None


@dataclass
class LoadedDocument:
    text: str
    kind: str
    title_hint: str | None = None
    # (page number, start, end) character spans of each PDF page in `text`.
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def clean_text(text: str) -> tuple[str, int]:
    """Normalise newlines and drop terminal formatting (escape sequences, overstrikes),
    control and invisible characters; returns the count of invisible characters removed
    so the caller can flag them."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    hidden = len(_INVISIBLE.findall(text))
    text = _INVISIBLE.sub("", text)
    if "\x1b" in text:
        text = _TERMINAL_ESCAPE.sub("", text)
    if "\x08" in text:
        text = text.replace("+\x08o", "\u2022")  # a bullet: grotty's ASCII one
        text = _OVERSTRUCK.sub("", text)
    text = CONTROL.sub("", text)
    return text, hidden


# Bytes that text in a single-byte or UTF-8 encoding does not hold: the C0 controls but
# backspace (overstruck manual pages), tab, newline, form feed, carriage return and
# escape (terminal colours), and DEL.
_BINARY_BYTES = bytes(b for b in range(32) if b not in (8, 9, 10, 12, 13, 27)) + b"\x7f"
# Characters that decoded text holds few of: those controls again, the C1 controls,
# U+FFFD (undecodable bytes) and private-use characters.
_GARBLED = re.compile("[\x00-\x07\x0b\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]")
# Random bytes hold about 10% of _BINARY_BYTES and, decoded as Latin-1, about 23% of
# _GARBLED characters; text holds next to none of either.
MAX_BINARY_SHARE = 0.05
MAX_GARBLED_SHARE = 0.10
_SAMPLE = 1 << 16


def _byte_sample(data: bytes) -> bytes:
    """The head, middle and tail of the data (the whole of it when small)."""
    if len(data) <= 3 * _SAMPLE:
        return data
    middle = len(data) // 2
    return data[:_SAMPLE] + data[middle : middle + _SAMPLE] + data[-_SAMPLE:]


def _utf16_without_bom(sample: bytes) -> str | None:
    """The codec of mostly-ASCII UTF-16 without a byte order mark (every other byte
    NUL), or None."""
    if len(sample) < 4:
        return None
    evens, odds = sample[0::2], sample[1::2]
    if odds.count(0) > 0.9 * len(odds):
        return "utf-16-le"
    return "utf-16-be" if evens.count(0) > 0.9 * len(evens) else None


def refuse_binary(data: bytes, name: str) -> None:
    """Raise NotText when the bytes of a file in a text format are not text (an
    executable, an archive or random data renamed .txt), before anything reads them."""
    sample = _byte_sample(data)
    if not sample or _utf16_without_bom(sample[:_SAMPLE]):
        return
    binary = len(sample) - len(sample.translate(None, _BINARY_BYTES))
    if binary > MAX_BINARY_SHARE * len(sample):
        raise NotText(f"{name} is not text: {binary / len(sample):.0%} of its bytes are binary")


def refuse_garbled(text: str, name: str) -> None:
    """Raise NotText when decoded text is mostly control, replacement or private-use
    characters."""
    if not text:
        return
    garbled = sum(1 for _ in _GARBLED.finditer(text))
    if garbled > MAX_GARBLED_SHARE * len(text):
        raise NotText(
            f"{name} is not text: {garbled / len(text):.0%} of its characters are control "
            "or undecodable characters"
        )


def decode(data: bytes, name: str = "the file") -> tuple[str, list[str]]:
    """UTF-8 when it is; otherwise the most likely encoding, with a warning. Raises
    NotText when the data is not text."""
    refuse_binary(data, name)
    utf16 = _utf16_without_bom(data[:_SAMPLE])
    try:
        text, warnings = data.decode(utf16 or "utf-8-sig"), []
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None and best.encoding:
            text, warnings = str(best), [f"not UTF-8; decoded as {best.encoding}"]
        else:
            text, warnings = data.decode("latin-1"), ["not UTF-8; decoded as latin-1"]
    refuse_garbled(text, name)
    return text, warnings




def read_text(data: bytes, name: str, kind: str = "text") -> LoadedDocument:
    """Plain text and Markdown: the bytes decoded."""
    text, warnings = decode(data, name)
    return LoadedDocument(text=text, kind=kind, warnings=warnings)
