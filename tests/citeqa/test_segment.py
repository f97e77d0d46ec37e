"""Document structure and units (citeqa.segment): whole sentences from real formatting."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from citeqa import segment as segment_module
from citeqa.segment import (
    HEADING,
    ITEM,
    LINE,
    ROW,
    display_map,
    display_text,
    document_context,
    embedding_input,
    furniture,
    map_span,
    segment,
    sentence_spans,
    unit_spans,
)

CASES = Path(__file__).resolve().parents[1] / "data" / "segmentation"


def units(text: str, kind: str = "text") -> list[str]:
    return [display_text(text[a:b]) for a, b in unit_spans(text, kind)]


def test_initials_and_abbreviations_do_not_end_sentences() -> None:
    text = (
        "It was conveyed by Secretary of Defense Lloyd J. Austin III to General Christopher "
        "J. Cavoli, the commander of U.S. European Command. Mr. Biden agreed, e.g. on\n"
        "No. 5 and Sec. 3.1 of the plan. Then it ended!"
    )
    assert units(text) == [
        "It was conveyed by Secretary of Defense Lloyd J. Austin III to General Christopher "
        "J. Cavoli, the commander of U.S. European Command.",
        "Mr. Biden agreed, e.g. on No. 5 and Sec. 3.1 of the plan.",
        "Then it ended!",
    ]


def test_closing_quotes_stay_with_their_sentence() -> None:
    assert units("He said: “It has not changed.” She left.") == [
        "He said: “It has not changed.”",
        "She left.",
    ]


def test_sentence_spans_are_absolute_offsets() -> None:
    text = "xx First one. Second one."
    assert [text[a:b] for a, b in sentence_spans(text, 3)] == ["First one.", "Second one."]


WRAPPED = """\
  4. Conveying Verbatim Copies.

  You may convey verbatim copies of the Program's source code as you
receive it, in any medium, provided that you conspicuously and
appropriately publish on each copy an appropriate copyright notice; keep
intact all notices stating that this License and any non-permissive terms
added in accord with section 7 apply to the code; and give all recipients a
copy of this License along with the Program.

  You may charge any price or no price for each copy that you convey.
"""


def test_a_line_break_inside_a_paragraph_is_a_space() -> None:
    found = units(WRAPPED)
    assert found[0] == "4. Conveying Verbatim Copies."
    assert found[1].startswith("You may convey verbatim copies")
    assert found[1].endswith("along with the Program.")
    assert found[2] == "You may charge any price or no price for each copy that you convey."
    structure = segment(WRAPPED)
    assert structure.blocks[structure.units[0].block].kind == HEADING
    assert structure.heading_path(structure.units[1].block) == ["4. Conveying Verbatim Copies."]


def test_list_items_and_numbered_clauses_are_boundaries() -> None:
    text = (
        "You must do one of the following:\n"
        "    a) Accompany it with the complete source code, which must be\n"
        "    distributed under the terms above; or,\n"
        "    b) Accompany it with a written offer, valid for at least three\n"
        "    years, to give any third party a copy.\n"
        "We protect your rights with two steps: (1) copyright the software, and\n"
        "(2) offer you this license.\n"
    )
    structure = segment(text)
    found = [display_text(text[u.start : u.end]) for u in structure.units]
    assert found == [
        "You must do one of the following:",
        "a) Accompany it with the complete source code, which must be distributed under "
        "the terms above; or,",
        "b) Accompany it with a written offer, valid for at least three years, to give any "
        "third party a copy.",
        # an enumeration that wrapped before "(2)" is not a list
        "We protect your rights with two steps: (1) copyright the software, and (2) offer "
        "you this license.",
    ]
    assert [u.kind for u in structure.units[1:3]] == [ITEM, ITEM]


def test_pdf_hyphenation_reads_joined_while_quotes_stay_verbatim() -> None:
    text = (
        "GNU tar is an archiving program designed to store multiple files in a single file (an\n"
        "archive). The archive can be either a regular file or a de-\nvice (e.g. a tape drive, "
        "hence the name of the program, which stands for tape\narchiver).\n"
    )
    first, second = unit_spans(text)
    assert text[second[0] : second[1]].startswith("The archive")  # verbatim offsets
    assert "de-\nvice" in text[second[0] : second[1]]
    assert display_text(text[second[0] : second[1]]) == (
        "The archive can be either a regular file or a device (e.g. a tape drive, hence the "
        "name of the program, which stands for tape archiver)."
    )
    # compounds broken at their own hyphen keep it
    assert display_text("a self-\ncontained unit") == "a self-contained unit"


def test_display_map_maps_spans_of_the_verbatim_text() -> None:
    text = "  The appli-\n  cation is self-\ncontained,  and   works."
    shown, where = display_map(text)
    assert shown == "The application is self-contained, and works."
    start = text.index("cation")
    a, b = map_span(where, start, start + len("cation"))
    assert shown[a:b] == "cation"
    model_text, shifted = embedding_input(text, "Manual", "Usage")
    assert model_text.startswith("Manual > Usage\n")
    a, b = map_span(shifted, start, start + len("cation"))
    assert model_text[a:b] == "cation"


def test_markdown_keeps_headings_lists_tables_and_code_as_units() -> None:
    text = (
        "---\ntitle: Notes\n---\n"
        "# Setup\n\nInstall it with\nthe script.\n\n"
        "## Options\n\n"
        "- `--fast` compresses quickly;\n  ratio drops.\n"
        "- `--best` compresses well.\n\n"
        "| level | speed |\n|---|---|\n| 1 | 500 MB/s |\n| 19 | 5 MB/s |\n\n"
        "```\nmake install\nmake check\n```\n"
    )
    structure = segment(text, "markdown")
    by_kind = {}
    for unit in structure.units:
        by_kind.setdefault(unit.kind, []).append(display_text(text[unit.start : unit.end]))
    assert by_kind[HEADING] == ["# Setup", "## Options"]
    assert "Install it with the script." in by_kind["sentence"]  # Markdown soft line breaks
    assert by_kind[ITEM] == [
        "- `--fast` compresses quickly; ratio drops.",
        "- `--best` compresses well.",
    ]
    assert by_kind[ROW] == ["| level | speed |", "| 1 | 500 MB/s |", "| 19 | 5 MB/s |"]
    assert "make install" in by_kind[LINE] and "make check" in by_kind[LINE]
    options = next(u for u in structure.units if text[u.start : u.end].startswith("- `--best`"))
    assert structure.heading_path(options.block) == ["Setup", "Options"]


def test_logs_and_key_value_lines_are_line_units() -> None:
    text = (
        "2024-02-11 06:00:01 INFO scheduler: job nightly-backup started (pid 4412)\n"
        "2024-02-11 06:03:47 WARN backup: skipped 3 files in use: db.lock, app.pid\n"
        "2024-02-11 06:12:05 INFO backup: uploaded 14.2 GiB in 724.1 s\n"
    )
    assert len(units(text)) == 3
    assert units("host = 0.0.0.0\nport = 8443\ntimeout = 2.5\n") == [
        "host = 0.0.0.0",
        "port = 8443",
        "timeout = 2.5",
    ]


def test_justified_text_is_prose_and_a_fixed_width_table_stays_rows() -> None:
    """Text justified with padded spaces (nroff's -Tascii output) has many wide gaps,
    but its lines end at one edge and its gaps stand in no columns; a table's do."""
    justified = (
        "The  man  database  is  kept  up  to date by regular runs of mandb.  When a\n"
        "page  is  to  be  printed  or  displayed  in  a  graphical environment, the\n"
        "TROFF program is used; otherwise NROFF formats the page for the terminal.\n"
    )
    assert units(justified) == [
        "The man database is kept up to date by regular runs of mandb.",
        "When a page is to be printed or displayed in a graphical environment, the TROFF "
        "program is used; otherwise NROFF formats the page for the terminal.",
    ]
    table = (
        "Option       Default      Meaning                          Since\n"
        "--jobs       4            parallel jobs for the tests      2.1.0\n"
        "--timeout    30           seconds before a test fails      2.3.0\n"
    )
    structure = segment(table)
    assert [u.kind for u in structure.units] == [ROW, ROW, ROW]


def test_the_man_db_manual_as_debian_ships_it_reads_in_whole_sentences() -> None:
    """man-db's manual is grotty's output: justified, hyphenated, with terminal escape
    sequences and overstruck bullets."""
    import gzip

    source = Path("/usr/share/doc/man-db/man-db-manual.txt.gz")
    if not source.is_file():
        pytest.skip("man-db's manual is not installed (make eval-tools installs man-db)")
    from ingest.loaders import load_bytes

    doc = load_bytes(gzip.decompress(source.read_bytes()), "man-db-manual.txt")
    found = units(doc.text)
    assert "This information is kept up to date by regular runs of mandb." in found
    assert "The basic idea was to reduce manual page search times to a minimum." in found
    assert not any("[1m" in u or "[0m" in u for u in found)
    assert any(u.startswith("\u2022 When it is advantageous to mount /usr") for u in found)


def test_running_headers_footers_and_page_numbers_are_furniture() -> None:
    pages = [
        ["TAR(1)  GNU TAR Manual  TAR(1)", "Some text of page one.", "", "TAR  July 2020  1"],
        ["TAR(1)  GNU TAR Manual  TAR(1)", "Page two text here.", "", "TAR  July 2020  2"],
        ["TAR(1)  GNU TAR Manual  TAR(1)", "And the third page.", "", "TAR  July 2020  3"],
        ["TAR(1)  GNU TAR Manual  TAR(1)", "Last page.", "- 4 -"],
    ]
    assert furniture(pages) == [{0, 3}, {0, 3}, {0, 3}, {0, 2}]
    # stored texts that still hold them (PDFs ingested before part 5): no unit is furniture
    text = "\n\n".join("\n".join(page) for page in pages)
    spans, offset = [], 0
    for page in pages:
        joined = "\n".join(page)
        spans.append((offset, offset + len(joined)))
        offset += len(joined) + 2
    found = [display_text(text[u.start : u.end]) for u in segment(text, "pdf", spans).units]
    assert found == [
        "Some text of page one.",
        "Page two text here.",
        "And the third page.",
        "Last page.",
    ]


@pytest.mark.slow  # timing under a time budget: full tier only
def test_units_are_bounded_and_segmentation_is_linear_in_size() -> None:
    """A 20 MB line without punctuation and 20 MB of short lines: bounded units, and
    ten times the text costs about ten times the time (a quadratic pass would cost 100)."""
    rng = random.Random(5)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa".split()
    line = " ".join(rng.choice(words) for _ in range(3_500_000))[:20_000_000]
    short = "\n".join(
        f"2024-01-{i % 28 + 1:02d} 12:00:{i % 60:02d} job {i} done" for i in range(700_000)
    )
    for big in (line, short):
        assert len(big) >= 19_000_000
        small = big[: len(big) // 10]
        started = time.perf_counter()
        small_units = segment(small).units
        small_time = time.perf_counter() - started
        started = time.perf_counter()
        big_units = segment(big).units
        big_time = time.perf_counter() - started
        assert max(u.end - u.start for u in big_units) <= 1200
        assert len(big_units) >= 9 * len(small_units)
        assert big_time < 25 * max(small_time, 0.05)


@pytest.mark.parametrize("name", ["dev", "test"])
def test_hand_written_cases_are_segmented_as_their_authors_expect(name: str) -> None:
    """Cases written for this test by someone who never ran the segmenter (units of
    prose, PDF lines, lists, clauses, Markdown, tables, logs, code). The F1 of whole
    units is what the README reports; fence lines are not units here."""
    flat = " ".join
    right = predicted = expected = 0
    for line in (CASES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        kind = "markdown" if case["kind"] == "markdown" else "text"
        got = [flat(case["text"][a:b].split()) for a, b in unit_spans(case["text"], kind)]
        gold = [flat(u.split()) for u in case["units"] if not u.startswith(("```", "~~~"))]
        right += sum(1 for unit in got if unit in gold)
        predicted += len(got)
        expected += len(gold)
    precision, recall = right / predicted, right / expected
    assert 2 * precision * recall / (precision + recall) >= 0.94


def test_document_context_names_the_document_in_every_passage() -> None:
    text = (
        "GNU GENERAL PUBLIC LICENSE\n\n   Version 2, June 1991\n\n"
        "Everyone is permitted to copy this license.\n\nPreamble\n\n"
        "The licenses for most software are designed to take away your freedom.\n"
    )
    structure = segment(text)
    context = document_context(structure, "GNU GENERAL PUBLIC LICENSE", "licences/gpl-2.txt")
    assert context == "GNU GENERAL PUBLIC LICENSE Version 2, June 1991 gpl 2"


def test_a_window_the_sentence_model_gives_up_on_is_cut_at_its_sentence_marks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # NLTK raises TimeoutError when its regular expressions pass their time limit
    def gives_up(_text: str) -> list[tuple[int, int]]:
        raise TimeoutError("regular-expression match exceeded its 5.0s time limit")

    monkeypatch.setattr(segment_module, "sentence_splitter", gives_up)
    text = 'The ferry leaves at nine. Is it late? "No!" It never is.'
    spans = segment_module.sentence_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "The ferry leaves at nine.",
        "Is it late?",
        '"No!"',
        "It never is.",
    ]
