from __future__ import annotations

import io

import pytest

from citeqa.errors import DocumentUnreadable, UnsupportedDocumentType
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
