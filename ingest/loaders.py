"""Turn files (txt, md, html, pdf) into plain text, never crashing on odd input."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.errors import DocumentUnreadable, UnsupportedDocumentType

log = logging.getLogger(__name__)

TEXT_TYPES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}
HTML_TYPES = {".html", ".htm", ".xhtml"}
PDF_TYPES = {".pdf"}
SUPPORTED_SUFFIXES = frozenset(TEXT_TYPES) | HTML_TYPES | PDF_TYPES

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


def decode(data: bytes) -> tuple[str, list[str]]:
    """UTF-8 when it is; otherwise the most likely encoding, with a warning."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None and best.encoding:
        return str(best), [f"not UTF-8; decoded as {best.encoding}"]
    return data.decode("latin-1"), ["not UTF-8; decoded as latin-1"]


_CONCEALING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])",
    re.IGNORECASE,
)


def _is_concealed(tag: Any) -> bool:
    attrs = getattr(tag, "attrs", None) or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_CONCEALING_STYLE.search(str(attrs.get("style", ""))))


def _load_html(data: bytes) -> tuple[str, str | None, list[str]]:
    from bs4 import BeautifulSoup

    raw, warnings = decode(data)
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
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, title, warnings


def _load_pdf(data: bytes) -> tuple[str, list[tuple[int, int, int]], list[str]]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentUnreadable("the PDF is encrypted")
        parts: list[str] = []
        pages: list[tuple[int, int, int]] = []
        offset = 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = (page.extract_text() or "").strip()
            if parts:
                offset += 2  # the "\n\n" joining pages
            pages.append((number, offset, offset + len(page_text)))
            parts.append(page_text)
            offset += len(page_text)
    except DocumentUnreadable:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentUnreadable("the PDF could not be read") from exc
    warnings = [] if any(parts) else ["the PDF has no extractable text (scanned?)"]
    return "\n\n".join(parts), pages, warnings


def load_bytes(data: bytes, name: str) -> LoadedDocument:
    suffix = Path(name).suffix.lower()
    if suffix in TEXT_TYPES:
        text, warnings = decode(data)
        doc = LoadedDocument(text=text, kind=TEXT_TYPES[suffix], warnings=warnings)
    elif suffix in HTML_TYPES:
        text, title, warnings = _load_html(data)
        doc = LoadedDocument(text=text, kind="html", title_hint=title, warnings=warnings)
    elif suffix in PDF_TYPES:
        text, pages, warnings = _load_pdf(data)
        doc = LoadedDocument(text=text, kind="pdf", pages=pages, warnings=warnings)
    else:
        raise UnsupportedDocumentType(
            f"unsupported file type {suffix or '(none)'!r}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    if doc.kind != "pdf":  # PDF page offsets must stay valid, so PDF text is left as is
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
