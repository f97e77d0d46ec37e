"""Turn files (txt, md, html, pdf, and the office formats of ingest.office) into plain
text, never crashing on odd input."""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.errors import DocumentUnreadable, NotText, UnsupportedDocumentType
from citeqa.segment import furniture

log = logging.getLogger(__name__)

TEXT_TYPES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}
HTML_TYPES = {".html", ".htm", ".xhtml"}
PDF_TYPES = {".pdf"}
# suffix -> kind, read by ingest.office (headings, items and rows the Markdown way)
OFFICE_TYPES = {
    ".docx": "docx",
    ".pptx": "pptx",
    ".odt": "odt",
    ".epub": "epub",
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".ods": "ods",
}
SUPPORTED_SUFFIXES = frozenset(TEXT_TYPES) | HTML_TYPES | PDF_TYPES | frozenset(OFFICE_TYPES)
# the formats read by decoding their bytes as text (checked to be text before that)
TEXTUAL_SUFFIXES = frozenset(TEXT_TYPES) | HTML_TYPES | {".csv"}

# Invisible characters that can hide text from a reader but not from a model.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_BLOCK_TAGS = (
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "nav",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dd",
    "dt",
    "figcaption",
    "hr",
)


@dataclass
class LoadedDocument:
    text: str
    kind: str
    title_hint: str | None = None
    # (page number, start, end) character spans of each PDF page in `text`.
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_supported(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_SUFFIXES


def clean_text(text: str) -> tuple[str, int]:
    """Normalise newlines and drop control and invisible characters; returns the count
    of invisible characters removed so the caller can flag them."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    hidden = len(_INVISIBLE.findall(text))
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
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


_CONCEALING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])",
    re.IGNORECASE,
)


def _is_concealed(tag: Any) -> bool:
    attrs = getattr(tag, "attrs", None) or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_CONCEALING_STYLE.search(str(attrs.get("style", ""))))


def load_html(data: bytes, name: str = "the file") -> tuple[str, str | None, list[str]]:
    from bs4 import BeautifulSoup

    raw, warnings = decode(data, name)
    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    # Text a reader never sees is a classic carrier of prompt injections: drop it, flag it.
    concealed = [tag for tag in soup.find_all(True) if _is_concealed(tag)]
    for tag in concealed:
        if not tag.decomposed:
            tag.decompose()
    if concealed:
        warnings = [*warnings, f"removed {len(concealed)} hidden HTML elements"]
    title = None
    if soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    elif soup.h1 and soup.h1.get_text(strip=True):
        title = soup.h1.get_text(" ", strip=True)
    if soup.head:
        soup.head.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    _mark_structure(soup)
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, title, warnings


def _mark_structure(soup: Any) -> None:
    """Headings, list items and table rows written the Markdown way ("## Fees", "- item",
    "1. step", "| cell | cell |"), so that the stored text keeps them as units and
    passages carry their heading path (citeqa.segment reads HTML as Markdown)."""
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.insert(0, "#" * level + " ")
    for item in soup.find_all("li"):
        parent = item.find_parent(["ol", "ul"])
        if parent is not None and parent.name == "ol":
            item.insert(0, f"{1 + len(item.find_previous_siblings('li'))}. ")
        else:
            item.insert(0, "- ")
    for row in soup.find_all("tr"):
        cells = row.find_all(["td", "th"], recursive=False)
        if cells:
            # one line per row, whatever blocks a cell holds (EPUB writers wrap cells in <p>)
            line = "| " + " | ".join(c.get_text(" ", strip=True) for c in cells) + " |"
            row.clear()
            row.append(line)


# PDFium is not thread-safe; API uploads may read PDFs from several threads.
_PDFIUM = threading.Lock()
# PDFium marks a word it found hyphenated at a line end with U+FFFE (and joins the lines),
# or with \x02 at the end of the line: the page shows "manip-" over "ulate".
_PDF_HYPHEN = re.compile("\ufffe|\x02(?=\r?\n)|\x02")


def _load_pdf(data: bytes) -> tuple[str, list[tuple[int, int, int]], list[str]]:
    """Text per page through PDFium (pypdfium2): words kept whole where other extractors
    split them at kerning, one printed line per line, hyphenated line ends as printed."""
    import pypdfium2 as pdfium

    raw_pages: list[str] = []
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise DocumentUnreadable("the PDF is encrypted") from exc
            raise DocumentUnreadable("the PDF could not be read") from exc
        try:
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                raw_pages.append(_pdf_page_text(textpage.get_text_range()))
                textpage.close()
                page.close()
        except pdfium.PdfiumError as exc:
            raise DocumentUnreadable("the PDF could not be read") from exc
        finally:
            pdf.close()
    text, pages = _join_pages(raw_pages)
    warnings = [] if text.strip() else ["the PDF has no extractable text (scanned?)"]
    return text, pages, warnings


def _pdf_page_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _PDF_HYPHEN.sub(lambda m: "-\n" if m.group() == "\ufffe" else "-", text)
    return _CONTROL.sub("", text.replace("\x00", ""))


_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*$")


def _join_pages(raw_pages: list[str]) -> tuple[str, list[tuple[int, int, int]]]:
    """The document text without page furniture (running headers and footers, page
    numbers), and each page's span in it. Pages are joined by a blank line, or by a plain
    line break where a sentence runs on from one page to the next, so that it stays one
    sentence."""
    lines = [page.split("\n") for page in raw_pages]
    drop = furniture(lines)
    bodies = [
        "\n".join(line for i, line in enumerate(page) if i not in marks).strip()
        for page, marks in zip(lines, drop, strict=True)
    ]
    parts: list[str] = []
    pages: list[tuple[int, int, int]] = []
    offset = 0
    for number, body in enumerate(bodies, start=1):
        if parts:
            previous = parts[-1] or "."
            runs_on = bool(body) and not _SENTENCE_END.search(previous) and body[0].islower()
            joint = "\n" if runs_on else "\n\n"
            parts.append(joint)
            offset += len(joint)
        pages.append((number, offset, offset + len(body)))
        parts.append(body)
        offset += len(body)
    return "".join(parts), pages


def load_bytes(data: bytes, name: str) -> LoadedDocument:
    suffix = Path(name).suffix.lower()
    if suffix in TEXT_TYPES:
        text, warnings = decode(data, name)
        doc = LoadedDocument(text=text, kind=TEXT_TYPES[suffix], warnings=warnings)
    elif suffix in HTML_TYPES:
        text, title, warnings = load_html(data, name)
        doc = LoadedDocument(text=text, kind="html", title_hint=title, warnings=warnings)
    elif suffix in PDF_TYPES:
        text, pages, warnings = _load_pdf(data)
        doc = LoadedDocument(text=text, kind="pdf", pages=pages, warnings=warnings)
    elif suffix in OFFICE_TYPES:
        from ingest import office

        kind = OFFICE_TYPES[suffix]
        loader = getattr(office, f"load_{kind}")
        converted = loader(data, name) if suffix in TEXTUAL_SUFFIXES else loader(data)
        doc = LoadedDocument(
            text=converted.text,
            kind=kind,
            title_hint=converted.title,
            pages=converted.pages,
            warnings=converted.warnings,
        )
    else:
        raise UnsupportedDocumentType(
            f"unsupported file type {suffix or '(none)'!r}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    if not doc.pages:  # page offsets must stay valid: paged text was cleaned page by page
        doc.text, hidden = clean_text(doc.text)
        if hidden:
            doc.warnings.append(f"removed {hidden} invisible characters")
    return doc


def load_path(path: Path) -> LoadedDocument:
    if not is_supported(path.name):
        raise UnsupportedDocumentType(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentUnreadable(f"could not read {path.name}") from exc
    return load_bytes(data, path.name)
