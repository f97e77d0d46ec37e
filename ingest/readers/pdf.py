"""PDF: text per page through PDFium, without page furniture, with each page's span."""

from __future__ import annotations

import re
import threading

from citeqa.errors import DocumentUnreadable
from citeqa.segment import furniture
from ingest.readers.base import CONTROL, LoadedDocument

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
    return CONTROL.sub("", text.replace("\x00", ""))


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


def read_pdf(data: bytes, name: str) -> LoadedDocument:
    text, pages, warnings = _load_pdf(data)
    return LoadedDocument(text=text, kind="pdf", pages=pages, warnings=warnings)
