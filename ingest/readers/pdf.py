"""PDF: text per page through PDFium, without page furniture, with each page's span.

PDFium's own text (`get_text_range`, and `get_text_bounded` alike) leaves out the spaces
that a typesetter expresses only as glyph positions (groff: "GNU TARManual", "givenone").
The page text is therefore rebuilt from PDFium's characters and their boxes: a space goes
between two characters on one line whose boxes stand further apart than a fraction of
the font size (WORD_GAP) beyond the line's letter spacing. `python -m benchmarks.pdf_text`
measured this against the other extractors (README, "PDF text")."""

from __future__ import annotations

import ctypes
import re
import threading

from citeqa.errors import DocumentUnreadable
from citeqa.segment import furniture
from ingest.readers.base import CONTROL, LoadedDocument, runs_on

# PDFium is not thread-safe; API uploads may read PDFs from several threads.
_PDFIUM = threading.Lock()
# PDFium marks a word it found hyphenated at a line end with U+FFFE (and joins the lines),
# or with \x02 at the end of the line: the page shows "manip-" over "ulate".
_PDF_HYPHEN = re.compile("\ufffe|\x02(?=\r?\n)|\x02")


# A gap wider than this share of the font size between two glyphs of one line is a word
# space. Word spaces are a fifth of an em or more (groff 0.25 em in Times, LibreOffice
# and reportlab the font's space, 0.25-0.28 em; TeX shrinks to 0.22); kerning and glyph
# rounding move glyphs by a few hundredths. Measured by benchmarks/pdf_text.py on groff's
# PDFs through Ghostscript: word error rate 0.58% at 0.05 em, 0.42% at 0.08, 0.34% at
# 0.12 and 0.16, 0.38% at 0.2; 0.12 keeps room on both sides.
WORD_GAP = 0.12
# A space the PDF draws is left out only when the glyphs beside it nearly touch: within
# this share of the font size (Ghostscript draws spaces inside kerned words, over the next
# glyph: "giv en"). Leaving out all drawn spaces narrower than WORD_GAP cost words that
# PDFium places too close after a font change in gropdf's PDFs ("fromfilename").
DRAWN_SPACE_GAP = 0.05
# ... and only when the next glyph does not lie further back than kerning ever moves one
# (it does in right-to-left text, or where text is drawn out of order)
_KERN_LIMIT = -0.3
# PDFium's marks for a word hyphenated at a line end (see _PDF_HYPHEN)
_HYPHEN_MARKS = (0x02, 0xFFFE)


def spaced_page_text(textpage: object, word_gap: float = WORD_GAP) -> str:
    """A PDFium text page's characters in PDFium's order, where a space between two glyphs
    of one line is decided by the room between them: there is one when they stand apart by
    more than `word_gap` of the font size beyond the line's letter spacing, whether or not
    the PDF draws a space there."""
    import pypdfium2.raw as pdfium_c

    handle = textpage.raw  # type: ignore[attr-defined]
    count = pdfium_c.FPDFText_CountChars(handle)
    box = pdfium_c.FS_RECTF()
    box_ref = ctypes.byref(box)
    get_unicode = pdfium_c.FPDFText_GetUnicode
    get_box = pdfium_c.FPDFText_GetLooseCharBox
    get_size = pdfium_c.FPDFText_GetFontSize
    is_generated = pdfium_c.FPDFText_IsGenerated

    def em(one: int, other: int) -> float:
        return max(get_size(handle, one), get_size(handle, other), 1e-6)

    # First what each character is: a glyph with its box, a space the PDF draws, or
    # anything else (PDFium's own spaces and line breaks, hyphen marks); and the room
    # between glyphs that follow each other on a line, for each line's letter spacing.
    codes: list[int] = []
    glyphs: list[tuple[float, float, float, float, int] | None] = []  # left right bottom top line
    drawn: list[bool] = []
    rooms: list[list[float]] = [[]]
    last: tuple[float, float, float, float, int] | None = None  # the glyph just before
    for index in range(count):
        code = get_unicode(handle, index)
        if code in _HYPHEN_MARKS:
            following = get_unicode(handle, index + 1) if index + 1 < count else 0x0A
            # joined lines keep their break after the hyphen, as get_text_range marks it
            code = 0x02 if following in (0x0D, 0x0A) else 0xFFFE
        is_space = code in (0x20, 0xA0) and not is_generated(handle, index)
        # PDFium generates only spaces and line breaks: a glyph needs no such check
        if (
            is_space
            or code <= 0x20
            or code in (0xA0, 0x02, 0xFFFE)
            or not get_box(handle, index, box_ref)
        ):
            codes.append(code)
            glyphs.append(None)
            drawn.append(is_space)
            if not is_space and last is not None:
                rooms.append([])  # a line break or mark ends the line
                last = None
            continue
        line = len(rooms) - 1
        if last is not None:
            if box.bottom < last[3] and box.top > last[2]:
                if not drawn[-1]:
                    rooms[line].append(box.left - last[1])
            else:
                rooms.append([])
                line += 1
        last = (box.left, box.right, box.bottom, box.top, line)
        codes.append(code)
        glyphs.append(last)
        drawn.append(False)
    # A line's letter spacing: the room that at least three in four of its glyph pairs
    # have (0 unless its letters are spread: most abut or kern); a word space is more.
    # One pair alone may be two words ("I a"): it sets none.
    tracking = [
        max(0.0, sorted(found)[len(found) // 4]) if len(found) >= 2 else 0.0 for found in rooms
    ]

    units: list[int] = []
    before: tuple[float, float, float, float, int] | None = None  # the last glyph
    previous = 0  # its index
    spaces = 0  # spaces drawn after that glyph, not written yet
    for index, (code, glyph) in enumerate(zip(codes, glyphs, strict=True)):
        if glyph is None:
            if drawn[index] and before is not None:
                spaces += 1  # kept or left out by the next glyph (DRAWN_SPACE_GAP)
            else:
                units.extend([0x20] * spaces)
                units.append(code)
                before, spaces = None, 0
            continue
        if before is not None:
            same_line = glyph[4] == before[4]
            room = glyph[0] - before[1]
            if spaces:
                size = em(previous, index) if same_line else 0.0
                if not _KERN_LIMIT * size < room <= DRAWN_SPACE_GAP * size:
                    units.extend([0x20] * spaces)
            # (the font sizes are asked only where there is room: most glyphs abut)
            elif same_line and room > 0:
                room -= tracking[glyph[4]]
                if room > word_gap * em(previous, index):
                    units.append(0x20)
        units.append(code)
        before, previous, spaces = glyph, index, 0
    units.extend([0x20] * spaces)
    # PDFium hands out UTF-16 code units; surrogate pairs become one character here
    return (
        "".join(map(chr, units)).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    )


def _load_pdf(data: bytes) -> tuple[str, list[tuple[int, int, int]], str | None, list[str]]:
    """Text per page through PDFium (pypdfium2): words kept whole where other extractors
    split them at kerning, one printed line per line, hyphenated line ends as printed;
    and the metadata's title when it is meaningful."""
    import pypdfium2 as pdfium

    raw_pages: list[str] = []
    title = None
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise DocumentUnreadable("the PDF is encrypted") from exc
            raise DocumentUnreadable("the PDF could not be read") from exc
        try:
            title = meaningful_title(pdf.get_metadata_dict().get("Title", ""))
            for index in range(len(pdf)):
                page = pdf[index]
                textpage = page.get_textpage()
                raw_pages.append(clean_page_text(spaced_page_text(textpage)))
                textpage.close()
                page.close()
        except pdfium.PdfiumError as exc:
            raise DocumentUnreadable("the PDF could not be read") from exc
        finally:
            pdf.close()
    text, pages = join_pages(raw_pages)
    warnings = [] if text.strip() else ["the PDF has no extractable text (scanned?)"]
    return text, pages, title, warnings


# Titles that tools write when the author gave none: "Untitled", "Enscript Output",
# "Microsoft Word - notes.docx", "report.dvi", "/tmp/x.ps", "Slide 1".
_PLACEHOLDER_TITLE = re.compile(
    r"(?:untitled|document|title|no title|enscript output|output|print|slide|page)"
    r"(?:[ -]*\d+)?",
    re.IGNORECASE,
)
_FILE_TITLE = re.compile(
    r".*\.(?:txt|text|md|pdf|ps|eps|dvi|tex|doc|docx|odt|rtf|pptx?|xlsx?|ods|html?|qxd|indd|"
    r"pages|key|numbers|tmp)",
    re.IGNORECASE,
)


def meaningful_title(value: str | None) -> str | None:
    """A PDF metadata title worth showing, or None: placeholders that tools write, file
    names and paths, and titles without a letter are not."""
    title = " ".join((value or "").split())
    if not title or len(title) > 200 or not any(c.isalpha() for c in title):
        return None
    if "/" in title or "\\" in title or _PLACEHOLDER_TITLE.fullmatch(title):
        return None
    return None if _FILE_TITLE.fullmatch(title) else title


def clean_page_text(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = _PDF_HYPHEN.sub(lambda m: "-\n" if m.group() == "\ufffe" else "-", text)
    return CONTROL.sub("", text.replace("\x00", ""))


def join_pages(raw_pages: list[str]) -> tuple[str, list[tuple[int, int, int]]]:
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
            joint = "\n" if runs_on(parts[-1], body) else "\n\n"
            parts.append(joint)
            offset += len(joint)
        pages.append((number, offset, offset + len(body)))
        parts.append(body)
        offset += len(body)
    return "".join(parts), pages


def read_pdf(data: bytes, name: str) -> LoadedDocument:
    text, pages, title, warnings = _load_pdf(data)
    return LoadedDocument(text=text, kind="pdf", title_hint=title, pages=pages, warnings=warnings)
