"""PDF text keeps words apart: PDFs made here by real typesetters (groff and Ghostscript,
LibreOffice, reportlab) are read by the loader and compared with their source text, by
word error rate (benchmarks/pdf_text.py measures the same on a larger corpus)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from benchmarks.pdf_text import (
    LICENSES,
    enscript_pdf,
    libreoffice_pdf,
    man_ps_pdf,
    man_source,
    paragraphs,
    reportlab_pdf,
    word_error_rate,
)
from citeqa.quotes import find_quote
from citeqa.text import terms
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from ingest.readers.pdf import WORD_GAP, meaningful_title
from ingest.readers.registry import load_bytes

# what PDFium's own text made of the tar manual: words groff sets apart by position only
GLUED = ("givenone", "archivedand", "TARManual", "invokedby", "Tarexit", "ifthe")
# and words split where Ghostscript draws a space over the next glyph of a kerned pair
SPLIT = ("giv en", "PA TTERN", "Ke ywords", "Av oid")


def _need(*tools: str) -> None:
    for tool in tools:
        assert shutil.which(tool), f"{tool} is missing: `make eval-tools` installs it"


@pytest.fixture(scope="module")
def tar_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tar manual page as people print it: `man -t tar | ps2pdf - tar.pdf`."""
    _need("man", "groff", "ps2pdf", "col")
    return man_ps_pdf("tar", tmp_path_factory.mktemp("man") / "tar.pdf")


def test_the_tar_manual_typeset_by_groff_keeps_its_words_apart(tar_pdf: Path) -> None:
    doc = load_bytes(tar_pdf.read_bytes(), tar_pdf.name)
    assert [word for word in GLUED + SPLIT if word in doc.text] == []
    assert "given one" in doc.text and "[−f ARCHIVE] [OPTIONS]" in doc.text
    assert len(doc.pages) > 10 and doc.pages[0][0] == 1


def test_the_tar_manual_pdf_reads_like_its_source_within_one_percent(tar_pdf: Path) -> None:
    doc = load_bytes(tar_pdf.read_bytes(), tar_pdf.name)
    assert word_error_rate(man_source("tar"), doc.text) < 0.01


def test_minus_signs_stay_verbatim_while_terms_and_quotes_read_them_as_dashes(
    tar_pdf: Path,
) -> None:
    text = load_bytes(tar_pdf.read_bytes(), tar_pdf.name).text
    assert "tar −c [−f ARCHIVE] [OPTIONS]" in text  # U+2212, as groff set it
    assert "tar -c [-f ARCHIVE]" not in text
    span = find_quote(text, "tar -c [-f ARCHIVE] [OPTIONS]")
    assert span is not None and text[span[0] : span[1]] == "tar −c [−f ARCHIVE] [OPTIONS]"
    line = next(line for line in text.splitlines() if line.startswith("tar −−create"))
    assert set(terms("tar --create --file")) <= set(terms(line))


def test_a_libreoffice_pdf_reads_like_its_source_within_one_percent(tmp_path: Path) -> None:
    _need("soffice")
    pdf = libreoffice_pdf(LICENSES / "MPL-2.0", tmp_path / "mpl.pdf")
    doc = load_bytes(pdf.read_bytes(), pdf.name)
    assert word_error_rate((LICENSES / "MPL-2.0").read_text(), doc.text) < 0.01
    # the boxed disclaimer: a rule of 72 asterisks, kept as text and segmented in time
    assert "*" * 72 in doc.text and "Disclaimer of Warranty" in doc.text


def test_right_to_left_text_keeps_the_spaces_it_draws(tmp_path: Path) -> None:
    """Hebrew set by LibreOffice: each next glyph lies to the left of the one before, so
    a drawn space there is no space inside a kerned pair."""
    _need("soffice")
    source = tmp_path / "ferry.txt"
    source.write_text("המעבורת יוצאת מהרציף בשעה עשר בבוקר.\nהכרטיסים נמכרים בקופה.\n")
    pdf = libreoffice_pdf(source, tmp_path / "ferry.pdf")
    text = load_bytes(pdf.read_bytes(), pdf.name).text
    assert "המעבורת יוצאת מהרציף בשעה עשר בבוקר" in text
    assert "הכרטיסים נמכרים בקופה" in text


def test_two_columns_are_read_one_after_the_other(tmp_path: Path) -> None:
    paras = paragraphs((LICENSES / "Apache-2.0").read_text())[:12]
    pdf = reportlab_pdf(paras, "Apache License", tmp_path / "two.pdf", columns=2)
    doc = load_bytes(pdf.read_bytes(), pdf.name)
    assert word_error_rate("\n\n".join(paras), doc.text) < 0.01


def _positioned_words(placements: list[tuple[str, float]], size: float = 10) -> bytes:
    """One line of glyphs each drawn at its own x (no space characters), as groff draws
    words: (glyph(s), x in points)."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setFont("Times-Roman", size)
    for text, x in placements:
        pdf.drawString(x, 700, text)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_a_gap_between_glyphs_is_a_space_and_kerning_is_not() -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    def width(text: str) -> float:
        return stringWidth(text, "Times-Roman", 10)

    x = 72.0
    placements = []
    for word in ("ferry", "leaves", "Pier"):
        for letter in word:  # each letter alone, nudged by 0.03 em as kerning does
            placements.append((letter, x))
            x += width(letter) + 0.3
        x += 0.25 * 10  # a quarter-em word space, drawn as room only
    doc = load_bytes(_positioned_words(placements), "words.pdf")
    assert doc.text == "ferry leaves Pier"
    # the gap that separates is a share of the font size, wider than kerning's
    assert 0.03 < WORD_GAP < 0.25


def _titled_pdf(path: Path, title: str) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    pdf.setTitle(title)
    pdf.drawString(72, 720, "The night ferry to Gull Island leaves Pier 4 at 23:15 on weekdays.")
    pdf.showPage()
    pdf.save()
    return path


def test_letter_spaced_words_stay_whole() -> None:
    """A heading set with letter spacing (0.2 em between all glyphs, PDF's Tc) is one line
    of spread letters, not of one-letter words."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    lines = [("NOTE", 2.0), ("Harbour office handbook", 2.0), ("Harbour office handbook", 0)]
    for y, (words, spacing) in zip((720, 700, 680), lines, strict=True):
        line = pdf.beginText(72, y)
        line.setFont("Times-Roman", 10)
        line.setCharSpace(spacing)
        line.textLine(words)
        pdf.drawText(line)
    pdf.showPage()
    pdf.save()
    text = load_bytes(buffer.getvalue(), "spaced.pdf").text
    assert text.split("\n") == [words for words, _ in lines]


def test_a_pdf_title_is_its_metadata_when_meaningful(engine: Engine, tmp_path: Path) -> None:
    named = _titled_pdf(tmp_path / "handbook.pdf", "Harbour Office Handbook")
    placeholder = _titled_pdf(tmp_path / "ferry_times.pdf", "Enscript Output")
    engine.documents.ingest(sources_from_paths([named, placeholder]))
    assert engine.documents.get_document("handbook.pdf").title == "Harbour Office Handbook"
    assert engine.documents.get_document("ferry_times.pdf").title == "Ferry times"


def test_the_tar_manual_is_not_titled_by_its_first_section(engine: Engine, tar_pdf: Path) -> None:
    engine.documents.ingest(sources_from_paths([tar_pdf]))
    record = engine.documents.get_document("tar.pdf")
    assert record.title == "Tar"
    assert (record.text or "").startswith("NAME\ntar − an archiving utility")


def test_placeholder_and_file_name_titles_are_not_meaningful() -> None:
    for placeholder in (
        "",
        "  ",
        "Untitled",
        "untitled-3",
        "Enscript Output",
        "Slide 1",
        "Microsoft Word - notes.docx",
        "report.dvi",
        "/tmp/x.ps",
        "12",
    ):
        assert meaningful_title(placeholder) is None, placeholder
    assert meaningful_title(" GNU  tar\nmanual ") == "GNU tar manual"
    assert meaningful_title("GPL-2") == "GPL-2"


def test_the_mpl_2_licence_typeset_by_enscript_ingests_with_its_boxed_disclaimer(
    engine: Engine, tmp_path: Path
) -> None:
    """The licence PDF whose rule lines of asterisks once held ingest for minutes (the
    whole 14-licence folder is timed by benchmarks/licence_pdfs.py)."""
    _need("enscript", "ps2pdf")
    pdf = enscript_pdf(LICENSES / "MPL-2.0", tmp_path / "MPL-2.0.pdf")
    result = engine.documents.ingest(sources_from_paths([pdf]))
    assert [(o.doc_id, o.status) for o in result.documents] == [("MPL-2.0.pdf", "added")]
    text = engine.documents.get_document("MPL-2.0.pdf").text or ""
    assert text.count("*" * 72) == 4
    assert "\n* 6. Disclaimer of Warranty *\n" in text
    assert "\n* 7. Limitation of Liability *\n" in text
    assert word_error_rate((LICENSES / "MPL-2.0").read_text(), text) < 0.01
