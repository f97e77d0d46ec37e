"""Suffix -> reader: which reader takes a file, by the suffix of its name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from citeqa.errors import DocumentUnreadable, UnsupportedDocumentType
from ingest.readers import office
from ingest.readers.archive import Limits, archive_kind, decompress, inner_name
from ingest.readers.base import LoadedDocument, clean_text, read_text
from ingest.readers.html import read_html
from ingest.readers.pdf import read_pdf

Reader = Callable[[bytes, str], LoadedDocument]


def _text(kind: str) -> Reader:
    return lambda data, name: read_text(data, name, kind)


READERS: dict[str, Reader] = {
    ".txt": _text("text"),
    ".text": _text("text"),
    ".md": _text("markdown"),
    ".markdown": _text("markdown"),
    ".html": read_html,
    ".htm": read_html,
    ".xhtml": read_html,
    ".pdf": read_pdf,
    # headings, items and rows written the Markdown way
    ".docx": office.as_loaded("docx", office.load_docx),
    ".pptx": office.as_loaded("pptx", office.load_pptx),
    ".odt": office.as_loaded("odt", office.load_odt),
    ".epub": office.as_loaded("epub", office.load_epub),
    ".csv": office.as_loaded("csv", office.load_csv),
    ".xlsx": office.as_loaded("xlsx", office.load_xlsx),
    ".ods": office.as_loaded("ods", office.load_ods),
}
SUPPORTED_SUFFIXES = frozenset(READERS)
# the formats read by decoding their bytes as text (checked to be text before that)
TEXTUAL_SUFFIXES = frozenset(
    {".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml", ".csv"}
)


# Plain text known by its name rather than a suffix, as software ships its documents
# (README, NEWS, and Debian's README.Debian, changelog.Debian, copyright): read as text,
# after the same check that their bytes are text.
TEXT_NAMES = frozenset(
    {
        "AUTHORS", "BUGS", "CHANGELOG", "CHANGES", "CONTRIBUTING", "COPYING", "COPYRIGHT",
        "FAQ", "HACKING", "HISTORY", "INSTALL", "LICENCE", "LICENSE", "NEWS", "NOTICE",
        "README", "THANKS", "TODO",
    }
)


def _suffix(name: str) -> str:
    """The suffix that picks a file's reader: its own, or ".txt" for a text name."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    suffix = Path(base).suffix.lower()
    if suffix not in READERS and base.split(".", 1)[0].upper() in TEXT_NAMES:
        return ".txt"
    return suffix


def is_supported(name: str) -> bool:
    """A name of a supported format (or a text name such as README or changelog.Debian),
    compressed (.gz, .bz2, .xz) or not, or of an archive (.zip, .tar, .tar.gz, ...)
    whose supported members are read."""
    return bool(archive_kind(name)) or _suffix(inner_name(name)) in SUPPORTED_SUFFIXES


def is_textual(name: str) -> bool:
    """A name of a format read by decoding its bytes as text (checked to be text); not
    a compressed one, whose bytes are checked once unpacked."""
    return inner_name(name) == name and _suffix(name) in TEXTUAL_SUFFIXES


def load_bytes(data: bytes, name: str) -> LoadedDocument:
    """The file read by the reader its suffix names; invisible characters removed (and
    flagged) from text that has no page offsets to keep."""
    if inner_name(name) != name:  # the pipeline unpacks with its own limits first
        data, name = decompress(data, name, Limits()), inner_name(name)
    suffix = _suffix(name)
    reader = READERS.get(suffix) if not archive_kind(name) else None
    if reader is None:
        raise UnsupportedDocumentType(
            f"unsupported file type {suffix or '(none)'!r}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES))
        )
    doc = reader(data, name)
    if not doc.pages:  # page offsets must stay valid: paged text was cleaned page by page
        doc.text, hidden = clean_text(doc.text)
        if hidden:
            doc.warnings.append(f"removed {hidden} invisible characters")
    return doc


def load_path(path: Path) -> LoadedDocument:
    if not is_supported(path.name) or archive_kind(path.name):
        raise UnsupportedDocumentType(f"unsupported file type {path.suffix or '(none)'!r}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentUnreadable(f"could not read {path.name}") from exc
    return load_bytes(data, path.name)
