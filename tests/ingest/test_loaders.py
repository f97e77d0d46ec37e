from __future__ import annotations

import codecs
import gzip
import io
import random
import shutil
from pathlib import Path

import pytest

from citeqa.errors import DocumentUnreadable, NotText, UnsupportedDocumentType
from ingest.loaders import load_bytes

HTML = b"""<html><head><title>Garden rules</title><style>p{color:red}</style>
<script>var secret = "do not index";</script></head>
<body><h1>Rules</h1><p>Water is <b>free</b> in summer.</p><p>Tools go back clean.</p>
<noscript>enable js</noscript></body></html>"""


def test_html_text_drops_scripts_and_styles_and_keeps_paragraphs() -> None:
    doc = load_bytes(HTML, "rules.html")
    assert doc.title_hint == "Garden rules"
    assert "Water is free in summer." in doc.text
    assert "Tools go back clean." in doc.text
    for hidden in ("secret", "color:red", "enable js"):
        assert hidden not in doc.text
    assert "summer.\n\nTools" in doc.text  # block elements stay separate paragraphs


def test_non_utf8_text_is_decoded_with_a_warning() -> None:
    data = "Café crème à 3 € — prix réduit pour les élèves de l'école.".encode("cp1252")
    doc = load_bytes(data, "menu.txt")
    assert "Café crème" in doc.text
    assert doc.warnings and "not UTF-8" in doc.warnings[0]


def test_invisible_characters_are_removed_and_flagged() -> None:
    doc = load_bytes("pay\u200bload hid\u200dden\ufeff".encode(), "x.md")
    assert doc.text == "payload hidden"
    assert any("invisible" in w for w in doc.warnings)


def test_unknown_type_is_refused_with_its_suffix() -> None:
    with pytest.raises(UnsupportedDocumentType, match=r"\.exe"):
        load_bytes(b"MZ", "setup.exe")


def _pdf(pages: list[str]) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for text in pages:
        pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_pdf_text_is_extracted_per_page_with_page_spans() -> None:
    doc = load_bytes(_pdf(["First page about apples.", "Second page about pears."]), "f.pdf")
    assert [p[0] for p in doc.pages] == [1, 2]
    first, second = doc.pages
    assert doc.text[first[1] : first[2]] == "First page about apples."
    assert doc.text[second[1] : second[2]] == "Second page about pears."


def test_broken_pdf_is_a_clear_error() -> None:
    with pytest.raises(DocumentUnreadable):
        load_bytes(b"%PDF-1.4 this is not really a pdf", "broken.pdf")


def _paged_pdf(paragraphs: list[str], title: str) -> bytes:
    """A justified multi-page PDF with a running header and a page-numbered footer, as a
    word processor makes it."""
    from reportlab.lib.pagesizes import A5
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    def furniture(canvas, document) -> None:  # type: ignore[no-untyped-def]
        canvas.setFont("Helvetica", 8)
        canvas.drawString(40, A5[1] - 30, title)
        canvas.drawRightString(A5[0] - 40, 25, f"Page {document.page}")

    buffer = io.BytesIO()
    style = getSampleStyleSheet()["BodyText"]
    SimpleDocTemplate(buffer, pagesize=A5).build(
        [Paragraph(p, style) for p in paragraphs], onFirstPage=furniture, onLaterPages=furniture
    )
    return buffer.getvalue()


def test_pdf_running_headers_and_footers_leave_the_text_and_sentences_run_across_pages() -> None:
    ships = ["Aurora", "Borealis", "Calypso", "Dauntless", "Endeavour", "Fortuna"]
    clerks = ["the day clerk", "the night clerk", "the harbour master", "a deputy"]
    paragraphs = [
        f"When the {ships[i % 6]} arrived on day {i}, {clerks[i % 4]} entered it in the "
        f"ledger{', with its cargo and crew' * (i % 3)}, and the entry was checked again at "
        "the end of the week."
        for i in range(120)
    ]
    doc = load_bytes(_paged_pdf(paragraphs, "Harbour Office Handbook"), "handbook.pdf")
    assert len(doc.pages) >= 3
    assert "Harbour Office Handbook" not in doc.text
    assert "Page 2" not in doc.text
    for number, start, end in doc.pages:
        assert 0 <= start <= end <= len(doc.text), number
    from citeqa.segment import display_text, unit_spans

    found = [display_text(doc.text[a:b]) for a, b in unit_spans(doc.text, "pdf")]
    # every paragraph comes back as one whole sentence, those broken by a page included
    assert len(found) == 120
    assert all(s.startswith("When the") and s.endswith("end of the week.") for s in found)


def test_html_keeps_headings_list_items_and_table_rows_as_units() -> None:
    from citeqa.segment import HEADING, ITEM, ROW, display_text, segment

    page = b"""<html><body><h1>Garden rules</h1><h2>Fees</h2>
    <p>Plots cost a yearly fee.</p>
    <ul><li>Small plots cost 20 euros.</li><li>Large plots cost 35 euros.</li></ul>
    <h2>Tools</h2><ol><li>Clean them.</li><li>Return them by dusk.</li></ol>
    <table><tr><th>Day</th><th>Hours</th></tr><tr><td>Saturday</td><td>9-17</td></tr></table>
    </body></html>"""
    doc = load_bytes(page, "rules.html")
    structure = segment(doc.text, doc.kind)
    units = {display_text(doc.text[u.start : u.end]): u for u in structure.units}
    assert units["# Garden rules"].kind == HEADING and units["## Fees"].kind == HEADING
    large = units["- Large plots cost 35 euros."]
    assert large.kind == ITEM
    assert structure.heading_path(large.block) == ["Garden rules", "Fees"]
    assert units["2. Return them by dusk."].kind == ITEM
    assert structure.heading_path(units["2. Return them by dusk."].block) == [
        "Garden rules",
        "Tools",
    ]
    assert units["| Saturday | 9-17 |"].kind == ROW


def _debian_docs() -> tuple[list[Path], list[Path]]:
    """Real text files on any Debian (copyrights) and real gzip files (changelogs)."""
    copyrights = sorted(Path("/usr/share/doc").glob("*/copyright"))[:150]
    changelogs = sorted(Path("/usr/share/doc").glob("*/changelog*.gz"))[:40]
    if len(copyrights) < 20 or len(changelogs) < 5:
        pytest.skip("needs Debian's /usr/share/doc")
    return copyrights, changelogs


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "page.html", "table.csv"])
def test_binary_data_in_a_text_format_is_refused_as_not_text(name: str) -> None:
    _copyrights, changelogs = _debian_docs()
    binaries = [
        random.Random(7).randbytes(300_000),  # noise
        changelogs[0].read_bytes(),  # compressed
        Path(shutil.which("ls") or "/bin/ls").read_bytes(),  # an executable
    ]
    for data in binaries:
        with pytest.raises(NotText) as refused:
            load_bytes(data, name)
        assert refused.value.code == "not_text" and name in refused.value.message


def test_real_text_in_any_encoding_is_not_refused() -> None:
    copyrights, changelogs = _debian_docs()
    for path in copyrights:
        assert load_bytes(path.read_bytes(), "copyright.txt").text.strip()
    for path in changelogs:
        assert load_bytes(gzip.decompress(path.read_bytes()), "changelog.txt").text.strip()
    sample = "Café menu: crème brûlée — “naïve” prices, 5 € each.\n" * 50
    for data in (
        sample.encode("cp1252"),
        sample.encode("latin-1", errors="replace"),
        codecs.BOM_UTF16_LE + sample.encode("utf-16-le"),
        "Plain ASCII text in UTF-16 without a byte order mark.\n".encode("utf-16-le") * 20,
        b"N\bNA\bAM\bME\bE\n     ls - list directory contents\n" * 40,  # overstruck man page
        b"\x1b[1mbold\x1b[0m status: ok\n" * 40,  # a log with terminal colours
    ):
        assert load_bytes(data, "menu.txt").text.strip()


def test_terminal_formatting_is_dropped_and_its_text_kept() -> None:
    """A manual page saved from a terminal: grotty's escape sequences (man-db's own
    manual ships so in Debian) and overstruck bold and underline."""
    coloured = b"\x1b[1mNAME\x1b[0m\n  \x1b[4mman\x1b[24m - an interface to the manuals\x1b(B\n"
    overstruck = b"N\bNA\bAM\bME\bE\n  _\bm_\ba_\bn - an interface to the manuals\n"
    for data in (coloured * 20, overstruck * 20):
        text = load_bytes(data, "man.txt").text
        assert text.startswith("NAME\n  man - an interface to the manuals\n"), text[:80]
        assert "[" not in text and "\x1b" not in text and "\b" not in text
    bullet = load_bytes(b" +\bo first point\n +\bo second point\n" * 20, "a.txt").text
    assert bullet.startswith(" \u2022 first point\n \u2022 second point\n")
    # backspaces alone (no character before them) are dropped, text around them kept
    assert load_bytes(b"\bok, fine.\n" * 20, "a.txt").text.startswith("ok, fine.\n")


def test_text_that_decodes_to_garbage_is_refused() -> None:
    garbled = "".join(chr(0xE000 + i % 500) for i in range(2000)) + " a few words"
    with pytest.raises(NotText):
        load_bytes(garbled.encode("utf-8"), "private.txt")
