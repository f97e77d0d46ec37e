"""Real-formatted corpora for the gold sets, built from files a Debian machine already has.

The documents are other people's texts (licences, READMEs, changelogs, manual pages), so
they are never copied into this repository: each corpus is a manifest
(`evals/corpora/NAME.toml`) naming the source file, its SHA-256 and how to make the
document from it, and `python -m evals.corpora build NAME DEST` makes them:

- `copy`: the file as it is (hard-wrapped plain text, Markdown);
- `gunzip`: a gzip-compressed file, decompressed;
- `man-pdf`: a manual page typeset to PDF by groff (`groff -man -Tpdf`, Debian's groff);
- `reportlab-pdf`: plain text typeset to PDF by reportlab, paragraphs reflowed and
  justified, with a running header and a page-numbered footer on every page;
- `libreoffice-pdf`: a text file converted to PDF by LibreOffice (`soffice --headless`);
- `libreoffice-docx`, `libreoffice-odt`, `libreoffice-epub`: a file (an HTML page, a
  text file) opened by LibreOffice Writer and saved as Word, OpenDocument text or EPUB
  (by way of OpenDocument), as a user saves a web page to edit or to read it: the page's
  navigation, form controls and comments come along.

A source whose hash differs (another package version) stops the build with a clear
message rather than silently changing what the gold answers refer to. A build is
reproducible: the PDF makers stamp the time of making and a random file identifier, which
`reproducible` sets to fixed values of the same length (so the cross-reference offsets
hold), and the same sources make the same bytes. Training dumps are keyed by the built
bytes, so a build that differed each time retrained the PDF set's features every run, and
the store's tie-breaks by document made them differ.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CORPORA = Path(__file__).with_name("corpora")
# LibreOffice's output filter for each office maker
OFFICE_FILTERS = {
    "libreoffice-docx": "docx:MS Word 2007 XML",
    "libreoffice-odt": "odt",
    "libreoffice-epub": "epub",
}
MAKERS = ("copy", "gunzip", "man-pdf", "reportlab-pdf", "libreoffice-pdf", *OFFICE_FILTERS)


class CorpusError(Exception):
    """A corpus cannot be built here (a source is missing or changed, a tool is absent)."""


@dataclass(frozen=True)
class CorpusDocument:
    id: str  # the file name in the built corpus, which is the document's doc_id
    source: Path
    sha256: str  # of the source's bytes after decompression (gzip sources)
    make: str
    title: str | None = None  # running header of typeset PDFs


def manifest_path(name: str) -> Path:
    return CORPORA / f"{name}.toml"


def names() -> list[str]:
    """Every corpus with a manifest, by name."""
    return sorted(path.stem for path in CORPORA.glob("*.toml"))


def load_manifest(name: str) -> list[CorpusDocument]:
    path = manifest_path(name)
    if not path.is_file():
        raise CorpusError(f"no corpus manifest {path}")
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    documents = []
    for entry in table.get("document", []):
        doc = CorpusDocument(
            id=entry["id"],
            source=Path(entry["source"]),
            sha256=entry["sha256"],
            make=entry["make"],
            title=entry.get("title"),
        )
        if doc.make not in MAKERS:
            raise CorpusError(f"{name}: {doc.id}: unknown make {doc.make!r}")
        documents.append(doc)
    if not documents:
        raise CorpusError(f"{name}: the manifest lists no documents")
    return documents


def source_bytes(path: Path) -> bytes:
    """The source's content, decompressed when it is gzip."""
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def digest(path: Path) -> str:
    return hashlib.sha256(source_bytes(path)).hexdigest()


def folder_files(folder: Path) -> Iterator[tuple[bytes, bytes]]:
    """Each file under a built corpus folder, in path order, as what keys it: its name
    and the sha256 of its bytes (training dumps and answer fingerprints are keyed so)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path.name.encode(), hashlib.sha256(path.read_bytes()).digest()


def build(name: str, dest: Path) -> Path:
    """Make every document of the corpus in dest (created; existing files replaced)."""
    documents = load_manifest(name)
    dest.mkdir(parents=True, exist_ok=True)
    for doc in documents:
        if not doc.source.is_file():
            raise CorpusError(f"{name}: {doc.id}: source {doc.source} is not on this machine")
        data = source_bytes(doc.source)
        if hashlib.sha256(data).hexdigest() != doc.sha256:
            raise CorpusError(f"{name}: {doc.id}: {doc.source} differs from the manifest's version")
        target = dest / doc.id
        if doc.make in ("copy", "gunzip"):
            target.write_bytes(data)
        elif doc.make == "man-pdf":
            target.write_bytes(_run(["groff", "-man", "-Tpdf"], data))
        elif doc.make == "reportlab-pdf":
            _typeset(data.decode("utf-8", errors="replace"), doc.title or doc.id, target)
        elif doc.make in OFFICE_FILTERS:
            _libreoffice(data, doc, target, OFFICE_FILTERS[doc.make])
            target.write_bytes(reproducible_zip(target.read_bytes()))
        else:
            _libreoffice(data, doc, target, "pdf")
        if doc.make.endswith("-pdf"):
            target.write_bytes(reproducible(target.read_bytes()))
    return dest


# a PDF date string's timestamp, `(D:YYYYMMDDHHmmSS`, the trailer's file identifiers and
# LibreOffice's checksum of the document (taken with its time stamp in)
_PDF_TIME = re.compile(rb"\(D:\d{14}")
_PDF_CHECKSUM = re.compile(rb"(/DocChecksum\s*/)([0-9A-Fa-f]{1,128})")
_PDF_ID = re.compile(rb"/ID\s*\[[^\]]{0,200}\]")
_HEX_STRING = re.compile(rb"<[0-9A-Fa-f]{0,128}>")


def reproducible(pdf: bytes) -> bytes:
    """The PDF with its time stamps and file identifiers set to fixed values of the same
    length: byte offsets, and so the cross-reference table, stay valid."""
    pdf = _PDF_TIME.sub(b"(D:20000101000000", pdf)
    pdf = _PDF_CHECKSUM.sub(lambda m: m[1] + b"0" * len(m[2]), pdf)
    return _PDF_ID.sub(
        lambda ids: _HEX_STRING.sub(lambda h: b"<" + b"0" * (len(h[0]) - 2) + b">", ids[0]), pdf
    )


# what LibreOffice stamps into an office file's parts: the time of saving, as a whole
# attribute value or element text (a comment's or annotation's date, an EPUB's
# modification time), the random revision-session ids of the settings, an EPUB's random
# identifier, the folder it converted in (relative links are resolved against it), and
# what depends on how far the layout had run when it saved, which differs from run to run
# on a busy machine: the document's statistics (word, page and paragraph counts) and the
# page breaks the layout found (empty elements, no text)
_XML_TIME = re.compile(rb"(?<=[>\"])\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,12})?Z?(?=[<\"])")
_RSID_SETTING = re.compile(rb'("Rsid(?:Root)?" config:type="int">)\d{1,12}')
_EPUB_ID = re.compile(rb'(<dc:identifier id="unique-identifier">)[^<]{1,100}')
_WORK_FOLDER = re.compile(rb"citeqa-lo-[A-Za-z0-9_]{1,20}")
_LAYOUT = re.compile(
    rb"<(Pages|Words|Characters|CharactersWithSpaces|Paragraphs|Lines)>\d{1,12}</\1>"
    rb"|<meta:document-statistic [^>]{0,2000}/>"
    rb"|<text:soft-page-break/>|<w:lastRenderedPageBreak/>"
)
# a paragraph that held only a page break is written empty, as it is without one
_EMPTIED_BY_BREAK = re.compile(rb"(<text:p(?: [^<>]{0,500})?)><text:soft-page-break/></text:p>")
_XML_PARTS = (".xml", ".rels", ".opf", ".ncx")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def reproducible_zip(data: bytes) -> bytes:
    """An office file (a zip of XML parts) with its time stamps and revision ids fixed
    and every member written again with a fixed date, in the same order and with the
    same compression (an OpenDocument's `mimetype` stays first and stored). Empty folder
    entries, which LibreOffice writes or not from run to run, are left out."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.is_dir():
                continue
            content = source.read(info)
            if info.filename.endswith(_XML_PARTS):
                content = _XML_TIME.sub(b"2000-01-01T00:00:00Z", content)
                content = _RSID_SETTING.sub(rb"\g<1>0", content)
                content = _EPUB_ID.sub(rb"\g<1>00000000-0000-0000-0000-000000000000", content)
                content = _WORK_FOLDER.sub(b"citeqa-lo", content)
                content = _EMPTIED_BY_BREAK.sub(rb"\1/>", content)
                content = _LAYOUT.sub(b"", content)
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            member.compress_type = info.compress_type
            member.external_attr = info.external_attr
            target.writestr(member, content)
    return out.getvalue()


def _run(command: list[str], data: bytes) -> bytes:
    if shutil.which(command[0]) is None:
        raise CorpusError(f"{command[0]} is not installed (apt-get install {command[0]})")
    done = subprocess.run(command, input=data, capture_output=True, check=False, timeout=300)
    if done.returncode != 0:
        raise CorpusError(f"{' '.join(command)} failed: {done.stderr.decode()[:300]}")
    return done.stdout


def page_furniture(title: str) -> Callable[[Any, Any], None]:
    """A reportlab page callback drawing a running header (the title) and a "Page N"
    footer: the furniture a word processor puts on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm

    def furniture(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(2 * cm, A4[1] - 1.2 * cm, title)
        canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"Page {document.page}")
        canvas.restoreState()

    return furniture


def _typeset(text: str, title: str, target: Path) -> None:
    """Paragraphs (blank-line separated) reflowed and justified on A4, one running header
    and a 'Page N' footer per page: what a PDF made by a word processor looks like."""
    from xml.sax.saxutils import escape

    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    body = styles["BodyText"].clone("body", alignment=TA_JUSTIFY, fontSize=10, leading=13)
    heading = styles["Heading3"]

    furniture = page_furniture(title)
    flow = []
    for lines, is_heading in _paragraphs(text):
        flow.append(Paragraph(escape(" ".join(lines)), heading if is_heading else body))
    pdf = SimpleDocTemplate(
        str(target), pagesize=A4, title=title, topMargin=2 * cm, bottomMargin=2 * cm
    )
    pdf.build(flow, onFirstPage=furniture, onLaterPages=furniture)


_UNDERLINE = re.compile(r"^\s*([=\-~*#])\1{2,}\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+\u2022o]|\d+[.)]|\(?[a-z]\))\s+")


def _paragraphs(text: str) -> list[tuple[list[str], bool]]:
    """Blank-line blocks, split further where a list item starts; an underlined line
    ("Title" over "=====") or a short unpunctuated one-line block is a heading."""
    found: list[tuple[list[str], bool]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if len(lines) >= 2 and _UNDERLINE.match(lines[1]):
            found.append(([lines[0]], True))
            lines = lines[2:]
        current: list[str] = []
        for line in lines:
            if _ITEM.match(line) and current:
                found.append((current, False))
                current = []
            current.append(line)
        if current:
            joined = " ".join(current)
            short = len(current) == 1 and len(joined) < 60
            found.append((current, short and not joined.endswith((".", ":", ";", ","))))
    return found


def libreoffice_convert(source: Path, target_format: str, outdir: Path) -> Path:
    """`source` converted by LibreOffice (headless, a profile of its own) into
    `outdir`, e.g. target_format "pdf", "docx", "odt", "epub", "pptx"; the file made."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise CorpusError("LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")
    with tempfile.TemporaryDirectory(prefix="citeqa-lo-") as profile:
        done = subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}/profile",
                "--headless",
                "--convert-to",
                target_format,
                "--outdir",
                str(outdir),
                str(source),
            ],
            capture_output=True,
            check=False,
            timeout=300,
        )
    made = outdir / f"{source.stem}.{target_format.split(':')[0]}"
    if done.returncode != 0 or not made.is_file():
        raise CorpusError(f"LibreOffice failed: {done.stderr.decode()[:300]}")
    return made


def _libreoffice(data: bytes, doc: CorpusDocument, target: Path, target_format: str) -> None:
    """The source converted by LibreOffice; HTML opens as a web page, anything else as
    text."""
    suffix = ".html" if doc.source.suffix in (".html", ".htm") else ".txt"
    with tempfile.TemporaryDirectory(prefix="citeqa-lo-") as tmp:
        source = Path(tmp) / (Path(doc.id).stem + suffix)
        source.write_bytes(data)
        if target_format == "epub":  # Writer/Web has no EPUB export: by way of Writer
            source = libreoffice_convert(source, "odt", Path(tmp) / "odt")
        shutil.move(libreoffice_convert(source, target_format, Path(tmp)), target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.corpora", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("build", help="make a corpus's documents in DEST")
    make.add_argument("name")
    make.add_argument("dest", type=Path)
    hashing = sub.add_parser("sha256", help="the hash a manifest records for a source")
    hashing.add_argument("sources", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.name, args.dest)
            print(f"built {args.name} in {args.dest}")
        else:
            for source in args.sources:
                print(f"{digest(source)}  {source}")
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
