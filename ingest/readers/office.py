"""Office documents and their kin (docx, pptx, odt, epub, csv, xlsx, ods) as plain text
written the Markdown way: headings "# ...", list items "- ...", table rows "| a | b |",
one block per paragraph, so that citeqa.segment finds the same units as in Markdown and
HTML and each passage carries its heading path. Presentations give one page per slide
and spreadsheets one per sheet (citations say which in `page`); a sheet's or a CSV
file's rows are paragraphs whose values are named by their column.

Every reader takes the bytes and the file's name and returns a `Converted`; any failure
to read the file is DocumentUnreadable (a 422 at the API), never a crash, and nothing is
stored. Zip
containers are checked for size before they are opened (zip bombs)."""

from __future__ import annotations

import csv
import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from citeqa.errors import DocumentUnreadable
from ingest.readers.base import LoadedDocument, clean_text, decode, runs_on
from ingest.readers.html import load_html

# At most this much uncompressed content in one zip container.
MAX_UNPACKED = 256 * 1024 * 1024


@dataclass
class Converted:
    text: str
    title: str | None = None
    # (page number, start, end) spans in text: slides of a presentation
    pages: list[tuple[int, int, int]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _row(cells: list[str]) -> str:
    """A table row the Markdown way; a merged cell that repeats is written once."""
    kept: list[str] = []
    for cell in cells:
        cell = _one_line(cell).replace("|", "/")
        if not kept or cell != kept[-1]:
            kept.append(cell)
    return "| " + " | ".join(kept) + " |" if any(kept) else ""


def _blocks(items: list[tuple[str, str]]) -> str:
    """Blocks joined by blank lines, except consecutive list items and table rows, which
    stay on consecutive lines (one list, one table), and a paragraph that stops without
    closing punctuation followed by one that goes on in lower case: a hard-wrapped text
    saved as a paragraph per line, whose line ends stay line ends inside one block (the
    segmenter joins a wrapped sentence)."""
    out: list[str] = []
    previous = last = ""
    for kind, text in items:
        if not text:
            continue
        if out:
            together = kind == previous and kind in ("item", "row")
            wrapped = kind == previous == "paragraph" and runs_on(last, text)
            out.append("\n" if together or wrapped else "\n\n")
        out.append(text)
        previous, last = kind, text
    return "".join(out)


def _zip(data: bytes, what: str) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DocumentUnreadable(f"the {what} file could not be read") from exc
    if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
        raise DocumentUnreadable(f"the {what} file unpacks to more than 256 MiB")
    return archive


def _read_member(archive: zipfile.ZipFile, name: str, what: str) -> bytes:
    try:
        return archive.read(name)
    except (KeyError, zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
        raise DocumentUnreadable(f"the {what} file is damaged (missing {name!r})") from exc


def _xml(data: bytes, what: str) -> ElementTree.Element:
    if b"<!ENTITY" in data:  # no document format here needs entity declarations
        raise DocumentUnreadable(f"the {what} file declares XML entities")
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise DocumentUnreadable(f"the {what} file is damaged (bad XML)") from exc


# -- docx (python-docx) -----------------------------------------------------------------

_HEADING_STYLE = re.compile(r"heading\s*(\d)", re.I)


def load_docx(data: bytes, name: str = "the file") -> Converted:
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _zip(data, "Word").close()  # the size check
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many kinds
        raise DocumentUnreadable("the Word file could not be read") from exc
    items: list[tuple[str, str]] = []
    try:
        for child in document.element.body.iterchildren():
            if child.tag == qn("w:p"):
                items.append(_docx_paragraph(Paragraph(child, document)))
            elif child.tag == qn("w:tbl"):
                table = Table(child, document)
                for row in table.rows:
                    items.append(("row", _row([cell.text for cell in row.cells])))
        title = document.core_properties.title or None
    except Exception as exc:  # noqa: BLE001
        raise DocumentUnreadable("the Word file could not be read") from exc
    return Converted(_blocks(items), title)


def _docx_paragraph(paragraph: Any) -> tuple[str, str]:
    text = _one_line(paragraph.text)
    if not text:
        return "paragraph", ""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    heading = _HEADING_STYLE.match(style)
    if heading:
        return "heading", "#" * min(6, max(1, int(heading.group(1)))) + " " + text
    if style.lower() == "title":
        return "heading", "# " + text
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if numbered or style.lower().startswith("list"):
        return "item", "- " + text
    return "paragraph", text


# -- pptx (python-pptx) -----------------------------------------------------------------


def load_pptx(data: bytes, name: str = "the file") -> Converted:
    from pptx import Presentation

    _zip(data, "PowerPoint").close()
    try:
        presentation = Presentation(io.BytesIO(data))
        slides = [_slide(slide) for slide in presentation.slides]
        title = presentation.core_properties.title or None
    except Exception as exc:  # noqa: BLE001 - python-pptx raises many kinds
        raise DocumentUnreadable("the PowerPoint file could not be read") from exc
    return _paged(slides, title)


def _slide(slide: Any) -> str:
    from pptx.enum.shapes import PP_PLACEHOLDER

    items: list[tuple[str, str]] = []
    shapes = sorted(slide.shapes, key=lambda s: (s.top or 0, s.left or 0))
    title_shape = slide.shapes.title
    if title_shape is None:
        # a deck drawn with plain text boxes: the top one is the title when it is one
        # short line that is not a sentence
        boxes = [s for s in shapes if s.has_text_frame and _one_line(s.text_frame.text)]
        if boxes and _looks_like_title(boxes[0].text_frame):
            title_shape = boxes[0]
    if title_shape is not None and _one_line(title_shape.text_frame.text):
        items.append(("heading", "# " + _one_line(title_shape.text_frame.text)))
    shapes = [s for s in shapes if s is not title_shape]
    for shape in shapes:
        if shape.has_text_frame:
            bulleted = shape.is_placeholder and shape.placeholder_format.type in (
                PP_PLACEHOLDER.BODY,
                PP_PLACEHOLDER.OBJECT,
            )
            for paragraph in shape.text_frame.paragraphs:
                text = _one_line("".join(run.text for run in paragraph.runs))
                if text:
                    bullet = bulleted or paragraph.level > 0
                    items.append(("item", "- " + text) if bullet else ("paragraph", text))
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                items.append(("row", _row([cell.text for cell in row.cells])))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        frames = (
            [frame]
            if frame is not None
            else [s.text_frame for s in slide.notes_slide.shapes if s.has_text_frame]
        )
        notes = _one_line(" ".join(f.text or "" for f in frames))
        if notes:
            items.append(("paragraph", "Notes: " + notes))
    return _blocks(items)


def _looks_like_title(frame: Any) -> bool:
    lines = [p for p in frame.paragraphs if _one_line("".join(r.text for r in p.runs))]
    text = _one_line(frame.text)
    return len(lines) == 1 and len(text.split()) <= 12 and not text.endswith((".", "?", "!"))


def _paged(pages: list[str], title: str | None) -> Converted:
    """Pages (slides), each cleaned of invisible characters, joined by blank lines, with
    each page's span."""
    pages = [clean_text(page)[0] for page in pages]
    parts: list[str] = []
    spans: list[tuple[int, int, int]] = []
    offset = 0
    for number, body in enumerate(pages, start=1):
        if parts:
            parts.append("\n\n")
            offset += 2
        spans.append((number, offset, offset + len(body)))
        parts.append(body)
        offset += len(body)
    return Converted("".join(parts), title, spans)


# -- odt (the OpenDocument XML, read directly) ------------------------------------------

_ODF = {
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "dc": "http://purl.org/dc/elements/1.1/",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
}


def _odf(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{_ODF[prefix]}}}{name}"


_SKIPPED = {_odf("office:annotation"), _odf("text:note"), _odf("text:tracked-changes")}


def _odf_text(element: ElementTree.Element) -> str:
    """The text of a paragraph or heading: spaces (text:s), tabs and line breaks as
    spaces, notes and comments left out."""
    parts: list[str] = [element.text or ""]
    for child in element:
        if child.tag == _odf("text:s"):
            parts.append(" " * int(child.get(_odf("text:c"), "1") or 1))
        elif child.tag in (_odf("text:tab"), _odf("text:line-break")):
            parts.append(" ")
        elif child.tag not in _SKIPPED:
            parts.append(_odf_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


_ODF_HEADING = re.compile(r"^(?:Heading_20_(\d)|Title)$")


def _heading_styles(content: ElementTree.Element) -> dict[str, int]:
    """Paragraph styles that make a heading, with its level: the named heading styles
    and the automatic styles derived from them (a writer may put a heading in a plain
    paragraph with such a style)."""
    levels: dict[str, int] = {}
    parents: dict[str, str] = {}
    for style in content.iter(_odf("style:style")):
        name = style.get(_odf("style:name"), "")
        parents[name] = style.get(_odf("style:parent-style-name"), "")
    for name in parents:
        seen, current = 0, name
        while current and seen < 10:
            found = _ODF_HEADING.match(current)
            if found:
                levels[name] = int(found.group(1) or 1)
                break
            current, seen = parents.get(current, ""), seen + 1
    return levels


def _odf_blocks(
    element: ElementTree.Element, headings: dict[str, int]
) -> Iterator[tuple[str, str]]:
    for child in element:
        if child.tag == _odf("text:h"):
            level = int(child.get(_odf("text:outline-level"), "1") or 1)
            text = _one_line(_odf_text(child))
            yield "heading", "#" * min(6, max(1, level)) + " " + text if text else ""
        elif child.tag == _odf("text:p"):
            text = _one_line(_odf_text(child))
            level = headings.get(child.get(_odf("text:style-name"), ""), 0)
            if level and text:
                yield "heading", "#" * min(6, level) + " " + text
            else:
                yield "paragraph", text
        elif child.tag == _odf("text:list"):
            for item in child.iter(_odf("text:list-item")):
                for paragraph in item:
                    if paragraph.tag in (_odf("text:p"), _odf("text:h")):
                        text = _one_line(_odf_text(paragraph))
                        yield "item", "- " + text if text else ""
        elif child.tag == _odf("table:table"):
            for row in child.iter(_odf("table:table-row")):
                cells = [
                    " ".join(_odf_text(p) for p in cell.iter(_odf("text:p")))
                    for cell in row
                    if cell.tag == _odf("table:table-cell")
                ]
                yield "row", _row(cells)
        elif child.tag not in _SKIPPED:  # sections, frames and the like hold blocks too
            yield from _odf_blocks(child, headings)


def load_odt(data: bytes, name: str = "the file") -> Converted:
    archive = _zip(data, "OpenDocument")
    with archive:
        content = _xml(_read_member(archive, "content.xml", "OpenDocument"), "OpenDocument")
        title = None
        if "meta.xml" in archive.namelist():
            meta = _xml(_read_member(archive, "meta.xml", "OpenDocument"), "OpenDocument")
            found = meta.find(f".//{_odf('dc:title')}")
            title = _one_line(found.text or "") or None if found is not None else None
    body = content.find(f".//{_odf('office:text')}")
    if body is None:
        raise DocumentUnreadable("the OpenDocument file holds no text document")
    return Converted(_blocks(list(_odf_blocks(body, _heading_styles(content)))), title)


# -- epub (the container read directly, chapters through the HTML loader) ---------------

_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"


def load_epub(data: bytes, name: str = "the file") -> Converted:
    archive = _zip(data, "EPUB")
    with archive:
        container = _xml(_read_member(archive, "META-INF/container.xml", "EPUB"), "EPUB")
        rootfile = container.find(f".//{_CONTAINER}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise DocumentUnreadable("the EPUB file names no package document")
        opf_path = rootfile.get("full-path", "")
        opf = _xml(_read_member(archive, opf_path, "EPUB"), "EPUB")
        base = posixpath.dirname(opf_path)
        manifest = {
            item.get("id"): item.get("href", "")
            for item in opf.iter(f"{_OPF}item")
            if "html" in (item.get("media-type") or "")
        }
        chapters: list[str] = []
        warnings: list[str] = []
        for ref in opf.iter(f"{_OPF}itemref"):
            href = manifest.get(ref.get("idref"))
            if not href:
                continue
            name = posixpath.normpath(posixpath.join(base, href.split("#")[0]))
            text, _title, found = load_html(_read_member(archive, name, "EPUB"))
            warnings.extend(found)
            if text:
                chapters.append(text)
        titles = [t.text for t in opf.iter("{http://purl.org/dc/elements/1.1/}title") if t.text]
    return Converted("\n\n".join(chapters), titles[0] if titles else None, warnings=warnings)


# -- csv and spreadsheets ----------------------------------------------------------------


def _rows_text(rows: list[list[str]], has_header: bool | None) -> str:
    """One paragraph per row, each value named by its column ("City: Lyon; Year: 1998"),
    so that a row answers on its own; columns are "column N" without a header row.
    has_header None: the first non-empty row is the header when it is all text."""
    rows = [[_one_line(c) for c in row] for row in rows if any(c.strip() for c in row)]
    if not rows:
        return ""
    if has_header is None:
        has_header = _looks_like_header(rows[0])
    header = rows[0] if has_header else []
    lines = []
    for row in rows[1:] if has_header else rows:
        names = [h or f"column {i + 1}" for i, h in enumerate(header)]
        names += [f"column {i + 1}" for i in range(len(names), len(row))]
        pairs = [f"{name}: {value}" for name, value in zip(names, row, strict=False) if value]
        lines.append("; ".join(pairs))
    return "\n\n".join(lines)


def _looks_like_header(row: list[str]) -> bool:
    cells = [c.strip() for c in row]
    return bool(cells) and all(c and not re.fullmatch(r"[-+]?[\d.,%]+", c) for c in cells)


def load_csv(data: bytes, name: str = "the file") -> Converted:
    raw, warnings = decode(data, name)
    sample = raw[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = list(csv.reader(io.StringIO(raw), dialect))
    except csv.Error as exc:
        raise DocumentUnreadable(f"the CSV file could not be read: {exc}") from exc
    try:
        has_header = csv.Sniffer().has_header(sample)
    except csv.Error:
        has_header = True
    return Converted(_rows_text(rows, has_header), warnings=warnings)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:-9] if text.endswith("T00:00:00") else text
    return str(value)


def _sheets(sheets: list[tuple[str, list[list[str]]]], title: str | None) -> Converted:
    """One page per sheet: its name as the heading, then its rows."""
    pages = []
    for name, rows in sheets:
        body = _rows_text(rows, None)
        pages.append(f"# {_one_line(name)}\n\n{body}" if body else f"# {_one_line(name)}")
    return _paged(pages, title)


def load_xlsx(data: bytes, name: str = "the file") -> Converted:
    import openpyxl

    _zip(data, "Excel").close()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheets = [
            (sheet.title, [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)])
            for sheet in book.worksheets
        ]
        title = book.properties.title or None
        book.close()
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds
        raise DocumentUnreadable("the Excel file could not be read") from exc
    return _sheets(sheets, title)


# A repeated row or cell (OpenDocument writes a run of equal ones once) counts at most this
# often: sheets mark their unused millions of rows and columns so.
_MAX_REPEAT = 1000


def load_ods(data: bytes, name: str = "the file") -> Converted:
    archive = _zip(data, "OpenDocument")
    with archive:
        content = _xml(_read_member(archive, "content.xml", "OpenDocument"), "OpenDocument")
    body = content.find(f".//{_odf('office:spreadsheet')}")
    if body is None:
        raise DocumentUnreadable("the OpenDocument file holds no spreadsheet")
    sheets: list[tuple[str, list[list[str]]]] = []
    for table in body.iter(_odf("table:table")):
        rows: list[list[str]] = []
        for row in table.iter(_odf("table:table-row")):
            cells: list[str] = []
            for cell in row:
                if cell.tag not in (_odf("table:table-cell"), _odf("table:covered-table-cell")):
                    continue
                text = " ".join(_odf_text(p) for p in cell.iter(_odf("text:p")))
                repeat = min(int(cell.get(_odf("table:number-columns-repeated"), "1")), _MAX_REPEAT)
                cells.extend([text] * (repeat if text.strip() else min(repeat, 1)))
            while cells and not cells[-1].strip():
                cells.pop()
            if cells:
                repeat = min(int(row.get(_odf("table:number-rows-repeated"), "1")), _MAX_REPEAT)
                rows.extend([cells] * repeat)
        sheets.append((table.get(_odf("table:name"), f"Sheet {len(sheets) + 1}"), rows))
    return _sheets(sheets, None)


def as_loaded(
    kind: str, load: Callable[[bytes, str], Converted]
) -> Callable[[bytes, str], LoadedDocument]:
    """One of the readers above with the registry's signature."""

    def read(data: bytes, name: str) -> LoadedDocument:
        converted = load(data, name)
        return LoadedDocument(
            text=converted.text,
            kind=kind,
            title_hint=converted.title,
            pages=converted.pages,
            warnings=converted.warnings,
        )

    return read
