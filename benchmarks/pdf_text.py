"""Which PDF text extractor keeps words apart: word error rate against the source text
and pages per second, on PDFs made here by real typesetters from texts we have.

    python -m benchmarks.pdf_text [--out benchmarks/pdf_text.json] [--show NAME]

The PDFs are made at run time from files a Debian machine has (manual pages, the texts
in /usr/share/common-licenses), so their source text is known:

- groff: manual pages through `man -t NAME | ps2pdf` (groff's PostScript, Ghostscript)
  and `man -Tpdf NAME` (groff's own PDF writer); source `man NAME | col -b`, wide enough
  that nroff breaks no word;
- LibreOffice: plain-text files converted by `soffice --headless --convert-to pdf`;
- reportlab: paragraphs reflowed and justified, a running header and a page footer;
- two columns: the same, set in two columns by reportlab;
- enscript: plain-text files typeset by GNU enscript (Courier) and `ps2pdf`.

Every extractor's page texts go through the loader's own page joining (running headers,
footers and page numbers removed: ingest/readers/pdf.py) and are then read as a reader
sees them (citeqa.segment.display_text: line-end hyphenation joined, white space
collapsed), with Unicode compatibility forms, dashes and curly quotes folded on both
sides; the word error rate is the word-level Levenshtein distance over the source's word
count. Pages per second count extraction only (opening the file and reading each page),
one document after another, on one core.

Candidates: PDFium's `get_text_range` (the loader before this benchmark) and
`get_text_bounded`, PDFium's characters with a space wherever two glyphs of one line
stand apart by more than a share of the font size (the loader now; several shares
measured), pdfminer.six with its layout analysis, pypdf, and poppler's `pdftotext`.
pdfminer.six and pypdf are in the `bench` extra and `pdftotext` in Debian's
poppler-utils (`make eval-tools`); candidates not installed are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.segment import display_text
from ingest.readers.pdf import clean_page_text, join_pages, spaced_page_text

LICENSES = Path("/usr/share/common-licenses")
MAN_PAGES = ("tar", "gzip", "sed")
GAPS = (0.05, 0.08, 0.12, 0.16, 0.2)

# -- the corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    kind: str  # the typesetter: groff ps2pdf or gropdf, libreoffice, enscript, reportlab, ...
    pdf: Path
    source: str


class ToolMissing(Exception):
    """A typesetter is not installed here."""


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            raise ToolMissing(f"{tool} is not installed (make eval-tools)")


def _run(command: list[str], data: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    done = subprocess.run(
        command, input=data, capture_output=True, check=False, timeout=300, env=env
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.decode()[:300]}")
    return done.stdout


def man_source(page: str) -> str:
    """The manual page as the terminal shows it, formatting removed (`man | col -b`), on a
    line wide enough that nroff hyphenates nothing."""
    _need("man", "col")
    env = {**os.environ, "MANWIDTH": "1000", "LC_ALL": "C.UTF-8", "MAN_KEEP_FORMATTING": ""}
    return _run(["col", "-b"], _run(["man", page], env=env)).decode("utf-8")


def man_ps_pdf(page: str, target: Path) -> Path:
    """`man -t PAGE | ps2pdf - TARGET`: groff's PostScript made into PDF by Ghostscript."""
    _need("man", "groff", "ps2pdf")
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    target.write_bytes(_run(["ps2pdf", "-", "-"], _run(["man", "-t", page], env=env)))
    return target


def man_groff_pdf(page: str, target: Path) -> Path:
    """`man -Tpdf PAGE`: groff's own PDF writer (gropdf)."""
    _need("man", "groff")
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    target.write_bytes(_run(["man", "-Tpdf", page], env=env))
    return target


def libreoffice_pdf(text_file: Path, target: Path) -> Path:
    """A plain-text file converted to PDF by LibreOffice (one paragraph a line)."""
    from evals.corpora import libreoffice_convert

    with tempfile.TemporaryDirectory(prefix="citeqa-lo-") as tmp:
        source = Path(tmp) / (target.stem + ".txt")
        shutil.copyfile(text_file, source)
        shutil.move(libreoffice_convert(source, "pdf", Path(tmp)), target)
    return target


def enscript_pdf(text_file: Path, target: Path) -> Path:
    """A plain-text file typeset by GNU enscript (no page header, long lines wrapped at a
    word) and made into PDF by Ghostscript."""
    _need("enscript", "ps2pdf")
    postscript = _run(
        ["enscript", "--quiet", "--no-header", "--word-wrap", "--output=-", str(text_file)]
    )
    target.write_bytes(_run(["ps2pdf", "-", "-"], postscript))
    return target


def paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks of a hard-wrapped text, each made one line."""
    found = (" ".join(block.split()) for block in text.split("\n\n"))
    return [block for block in found if block]


def reportlab_pdf(paras: list[str], title: str, target: Path, columns: int = 1) -> Path:
    """Paragraphs justified on A4 by reportlab, in one or two columns, with a running
    header and a "Page N" footer on every page."""
    from xml.sax.saxutils import escape

    from reportlab.lib.enums import TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate, Paragraph

    style = getSampleStyleSheet()["BodyText"].clone(
        "body", alignment=TA_JUSTIFY, fontSize=10, leading=13
    )

    from evals.corpora import page_furniture

    furniture = page_furniture(title)
    margin, gutter = 2 * cm, 0.8 * cm
    width = (A4[0] - 2 * margin - (columns - 1) * gutter) / columns
    frames = [
        Frame(margin + i * (width + gutter), margin, width, A4[1] - 2 * margin, id=f"c{i}")
        for i in range(columns)
    ]
    document = BaseDocTemplate(str(target), pagesize=A4, title=title)
    document.addPageTemplates([PageTemplate(id="page", frames=frames, onPage=furniture)])
    document.build([Paragraph(escape(p), style) for p in paras])
    return target


def make_corpus(folder: Path) -> list[Sample]:
    """The benchmark's PDFs, made in `folder`, with their source texts. Typesetters that
    are not installed are left out (said on stderr)."""
    samples: list[Sample] = []

    def add(name: str, kind: str, make: Callable[[], Path], source: Callable[[], str]) -> None:
        try:
            samples.append(Sample(name, kind, make(), source()))
        except ToolMissing as exc:
            print(f"skipped {name}: {exc}", file=sys.stderr)

    for page in MAN_PAGES:
        source = partial(man_source, page)
        add(
            f"man-t {page}",
            "groff ps2pdf",
            partial(man_ps_pdf, page, folder / f"{page}.ps.pdf"),
            source,
        )
        add(
            f"man-Tpdf {page}",
            "groff gropdf",
            partial(man_groff_pdf, page, folder / f"{page}.gropdf.pdf"),
            source,
        )
    for licence in ("Apache-2.0", "MPL-2.0"):
        path = LICENSES / licence
        add(
            f"libreoffice {licence}",
            "libreoffice",
            partial(libreoffice_pdf, path, folder / f"{licence}.lo.pdf"),
            path.read_text,
        )
    for licence in ("GPL-3", "MPL-2.0"):
        path = LICENSES / licence
        add(
            f"enscript {licence}",
            "enscript",
            partial(enscript_pdf, path, folder / f"{licence}.enscript.pdf"),
            path.read_text,
        )
    for licence, columns in (("GPL-2", 1), ("Apache-2.0", 2)):
        paras = paragraphs((LICENSES / licence).read_text())
        kind = "reportlab" if columns == 1 else "two-column"
        target = folder / f"{licence}.rl{columns}.pdf"
        add(
            f"{kind} {licence}",
            kind,
            partial(reportlab_pdf, paras, licence, target, columns),
            partial("\n\n".join, paras),
        )
    return samples


# -- the measure ------------------------------------------------------------------------

_FOLD = str.maketrans(
    {
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"},
        **{c: "'" for c in "\u2018\u2019\u201a\u201b\u00b4`"},
        # groff's PostScript glyphs for ^ and ~ (modifier letters, which NFKC would split)
        "\u02c6": "^",
        "\u02dc": "~",
        **{c: '"' for c in "\u201c\u201d\u201e"},
    }
)


def reader_words(text: str) -> list[str]:
    """The words of a text as a reader reads them: hyphenation at line ends joined,
    compatibility forms (ligatures) and typographic dashes and quotes folded."""
    return unicodedata.normalize("NFKC", display_text(text).translate(_FOLD)).split()


def word_edits(reference: list[str], hypothesis: list[str]) -> int:
    """The word-level Levenshtein distance (substitutions, insertions, deletions), one
    row of the table at a time; a row's insertions are a running minimum."""
    vocabulary: dict[str, int] = {}
    ref = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in reference])
    hyp = np.array([vocabulary.setdefault(w, len(vocabulary)) for w in hypothesis])
    steps = np.arange(len(hyp) + 1)
    row = steps.copy()
    for i, word in enumerate(ref, start=1):
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[1:] + 1, row[:-1] + (hyp != word))
        row = steps + np.minimum.accumulate(best - steps)
    return int(row[-1])


def word_error_rate(source: str, extracted: str) -> float:
    reference = reader_words(source)
    return word_edits(reference, reader_words(extracted)) / max(1, len(reference))


# -- the candidates -----------------------------------------------------------------------

Extractor = Callable[[Path], list[str]]


def _pdfium(page_text: Callable[[Any], str]) -> Extractor:
    def extract(path: Path) -> list[str]:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument(path)
        try:
            pages = []
            for index in range(len(pdf)):
                textpage = pdf[index].get_textpage()
                pages.append(clean_page_text(page_text(textpage)))
            return pages
        finally:
            pdf.close()

    return extract


def _pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer

    return [
        "".join(item.get_text() for item in page if isinstance(item, LTTextContainer))
        for page in extract_pages(path, laparams=LAParams())
    ]


def _pypdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


def _pdftotext(path: Path) -> list[str]:
    out = _run(["pdftotext", "-q", "-enc", "UTF-8", str(path), "-"]).decode("utf-8")
    return out.split("\f")[:-1] if out.endswith("\f") else out.split("\f")


def candidates(gaps: tuple[float, ...] = GAPS) -> dict[str, Extractor]:
    found: dict[str, Extractor] = {
        "pdfium get_text_range (before)": _pdfium(lambda tp: tp.get_text_range()),
        "pdfium get_text_bounded": _pdfium(lambda tp: tp.get_text_bounded()),
    }
    for gap in gaps:
        found[f"pdfium chars, gap {gap} em"] = _pdfium(partial(spaced_page_text, word_gap=gap))
    for name, module, extract in (
        ("pdfminer.six (layout)", "pdfminer", _pdfminer),
        ("pypdf", "pypdf", _pypdf),
    ):
        try:
            __import__(module)
            found[name] = extract
        except ImportError:
            print(f"skipped {name}: not installed (pip install -e '.[bench]')", file=sys.stderr)
    if shutil.which("pdftotext"):
        found["poppler pdftotext"] = _pdftotext
    else:
        print("skipped pdftotext: poppler-utils is not installed", file=sys.stderr)
    return found


# -- the run ----------------------------------------------------------------------------


def measure(samples: list[Sample], extractors: dict[str, Extractor]) -> dict[str, Any]:
    """Per extractor: the WER of each kind of PDF (its words' edits over its source
    words, pooled over the kind's documents), of each document, and pages per second."""
    results: dict[str, Any] = {}
    for name, extract in extractors.items():
        edits: dict[str, int] = {}
        words: dict[str, int] = {}
        per_doc: dict[str, float] = {}
        pages = 0
        seconds = 0.0
        for sample in samples:
            started = time.perf_counter()
            page_texts = extract(sample.pdf)
            seconds += time.perf_counter() - started
            pages += len(page_texts)
            text, _ = join_pages(page_texts)
            reference = reader_words(sample.source)
            wrong = word_edits(reference, reader_words(text))
            edits[sample.kind] = edits.get(sample.kind, 0) + wrong
            words[sample.kind] = words.get(sample.kind, 0) + len(reference)
            per_doc[sample.name] = round(100 * wrong / max(1, len(reference)), 2)
        results[name] = {
            "wer_percent": {k: round(100 * edits[k] / words[k], 2) for k in edits},
            "wer_percent_all": round(100 * sum(edits.values()) / sum(words.values()), 2),
            "pages_per_second": round(pages / seconds, 1),
            "documents": per_doc,
        }
    return results


def table(results: dict[str, Any], kinds: list[str]) -> str:
    head = "| extractor | " + " | ".join(kinds) + " | all | pages/s |"
    rows = [head, "|" + "---|" * (len(kinds) + 3)]
    for name, found in results.items():
        cells = [f"{found['wer_percent'].get(k, float('nan')):.2f}" for k in kinds]
        rows.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {found['wer_percent_all']:.2f} | {found['pages_per_second']:.0f} |"
        )
    return "\n".join(rows)


def _show(sample: Sample, extract: Extractor, limit: int = 40) -> None:
    """The differing words of one document (for looking into a WER)."""
    import difflib

    reference = reader_words(sample.source)
    text, _ = join_pages(extract(sample.pdf))
    found = reader_words(text)
    matcher = difflib.SequenceMatcher(None, reference, found, autojunk=False)
    shown = 0
    for op, a, b, c, d in matcher.get_opcodes():
        if op != "equal" and shown < limit:
            print(f"{op:8} {' '.join(reference[a:b])[:80]!r} -> {' '.join(found[c:d])[:80]!r}")
            shown += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pdf_text", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("pdf_text.json"))
    parser.add_argument(
        "--show",
        help="print the differing words of documents whose name "
        "contains this, for the extractor named by --extractor",
    )
    parser.add_argument("--extractor", default=f"pdfium chars, gap {GAPS[2]} em")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="citeqa-pdftext-") as tmp:
        started = time.perf_counter()
        samples = make_corpus(Path(tmp))
        made = time.perf_counter() - started
        extractors = candidates()
        if args.show:
            for sample in samples:
                if args.show in sample.name:
                    print(f"== {sample.name}")
                    _show(sample, extractors[args.extractor])
            return 0
        results = measure(samples, extractors)
        kinds = list(dict.fromkeys(s.kind for s in samples))
        report = {
            "command": "python -m benchmarks.pdf_text",
            "documents": {
                s.name: {"kind": s.kind, "source_words": len(reader_words(s.source))}
                for s in samples
            },
            "corpus_made_seconds": round(made, 1),
            "results": results,
        }
    print(table(results, kinds))
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
