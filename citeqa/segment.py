"""Document structure: blocks (paragraphs, headings, list items, table rows, code) and the
units answers are made of (sentences, items, headings, rows, lines), as exact offsets.

Ingest chunks along it, the extractive answerer scores its units, and the LLM's quotes
are verified with its normalisation, so all three agree on what a sentence is.

How text is read:
- Lines are grouped into blocks. A single line break inside a paragraph is a space
  (hard-wrapped text, PDF lines); blank lines, bullets, numbered clauses ("4.", "(a)",
  "2.1", "Section 3"), headings (Markdown "#", underlined, ALL CAPS, short title lines),
  table rows, indentation changes and code fences are boundaries.
- A line break is taken as intended when the line is short: the next line's first word
  would have fitted on it within the document's wrap width (the 90th percentile of its
  line lengths). A short line that ends a sentence ends its paragraph; a very short one
  is a line of its own (a title, a label, a line of a log or of code).
- Within a paragraph or list item, sentences come from NLTK's Punkt model (the English
  parameters that ship inside llama-index-core), extended with abbreviations it lacks
  ("e.g.", "No. 5", "Sec. 3.1"). Chosen over pysbd, syntok and blingfire by accuracy and
  speed on tests/data/segmentation (README).
- Running headers and footers of PDF pages (lines that repeat, digits aside, at the top
  or bottom of most pages) and page-number lines are furniture: they belong to no unit.
- A unit never exceeds MAX_UNIT_CHARS: longer runs (a 20 MB line with no punctuation)
  are cut at a clause or word boundary. Everything is linear in the size of the text.

Quotes stay verbatim (`text[unit.start:unit.end]`); `display_text` gives the same words
unwrapped and de-hyphenated for reading, scoring and embedding.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from citeqa import deadline

MAX_UNIT_CHARS = 1200

# Unit and block kinds.
SENTENCE, ITEM, HEADING, ROW, LINE = "sentence", "item", "heading", "row", "line"
PARAGRAPH, CODE, FURNITURE = "paragraph", "code", "furniture"
UNIT_CODES = {SENTENCE: "s", ITEM: "i", HEADING: "h", ROW: "r", LINE: "l"}
UNIT_KINDS = {code: kind for kind, code in UNIT_CODES.items()}


@dataclass(frozen=True)
class Unit:
    start: int
    end: int
    kind: str
    block: int  # index into Structure.blocks


@dataclass(frozen=True)
class Block:
    start: int
    end: int
    kind: str  # paragraph | heading | item | row | line | code
    level: int = 0  # headings: 1 is the outermost style seen
    parent: int | None = None  # index of the heading this block sits under


@dataclass
class Structure:
    text: str
    blocks: list[Block] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)

    def heading_path(self, block_index: int) -> list[str]:
        """The headings above a block, outermost first (the block itself included when
        it is a heading)."""
        path: list[str] = []
        index: int | None = block_index
        if self.blocks[block_index].kind != HEADING:
            index = self.blocks[block_index].parent
        while index is not None:
            block = self.blocks[index]
            path.append(heading_label(self.text[block.start : block.end]))
            index = block.parent
        return path[::-1]

    def units_between(self, start: int, end: int) -> list[Unit]:
        """Units lying wholly inside text[start:end]."""
        i = bisect.bisect_left(self.units, start, key=_unit_start)
        found = []
        while i < len(self.units) and self.units[i].start < end:
            if self.units[i].end <= end:
                found.append(self.units[i])
            i += 1
        return found


def _unit_start(unit: Unit) -> int:
    return unit.start


# -- text views ------------------------------------------------------------------------

_SOFT_HYPHEN_BREAK = re.compile(r"(?<=[^\W\d_])[-\u00ad]\n[ \t]*(?=[a-z])")
_SPACES = re.compile(r"\s+")
# Compounds often broken at their own hyphen: keep the hyphen after these.
_COMPOUND_HEADS = frozenset(
    """self non co pre post re anti multi semi cross well long short high low full half
    over under inter intra sub super ex all one two three four five six""".split()
)


def display_text(text: str) -> str:
    """The words of a verbatim span as a reader sees them: line-end hyphenation joined
    ("manip-\\nulate" -> "manipulate"), line breaks and runs of spaces as one space."""
    if "\n" in text:
        text = _SOFT_HYPHEN_BREAK.sub(_join_hyphen, text)
    return _SPACES.sub(" ", text).strip()


def _join_hyphen(match: re.Match[str]) -> str:
    text = match.string
    head_start = match.start()
    while head_start > 0 and text[head_start - 1].isalpha():
        head_start -= 1
    head = text[head_start : match.start()].lower()
    return "-" if head in _COMPOUND_HEADS else ""


_DISPLAY_TOKEN = re.compile(r"(?<=[^\W\d_])[-\u00ad]\n[ \t]*(?=[a-z])|\s+")


def display_map(text: str) -> tuple[str, list[int]]:
    """display_text(text), with the offset in text of each of its characters (and one
    more entry, len(text)), so that spans of text map onto it."""
    out: list[str] = []
    where: list[int] = []
    position = 0
    for match in _DISPLAY_TOKEN.finditer(text):
        if match.start() > position:
            out.append(text[position : match.start()])
            where.extend(range(position, match.start()))
        token = match.group()
        if token[0] in "-\u00ad":
            kept = _join_hyphen(match)
            if kept:
                out.append(kept)
                where.append(match.start())
        elif out and match.end() < len(text):
            out.append(" ")
            where.append(match.start())
        position = match.end()
    if position < len(text):
        out.append(text[position:])
        where.extend(range(position, len(text)))
    where.append(len(text))
    return "".join(out), where


def map_span(where: list[int], start: int, end: int) -> tuple[int, int]:
    """A span of the original text as a span of its display text (display_map)."""
    return bisect.bisect_left(where, start), bisect.bisect_left(where, end)


def document_context(structure: Structure, title: str, name: str) -> str:
    """What names a document in every one of its passages: its title, the headings it
    opens with ("GNU GENERAL PUBLIC LICENSE" over "Version 2, June 1991") and its file
    name ("gpl-2"), without repeats; at most 300 characters."""
    parts = [title.strip()]
    for block in structure.blocks[:4]:
        if block.kind != HEADING:
            break
        parts.append(heading_label(structure.text[block.start : block.end]))
    stem = re.sub(r"[-_.]+", " ", name.rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip()
    parts.append(stem)
    seen: set[str] = set()
    kept = []
    for part in parts:
        words = frozenset(part.lower().split())
        if part and not words <= seen:
            kept.append(part)
            seen |= words
    return " ".join(" ".join(kept).split())[:300]


def embedding_input(text: str, title: str | None, headings: str | None) -> tuple[str, list[int]]:
    """What the embedding model reads for a passage: the document's context (its title,
    opening headings and file name: document_context) and the passage's heading path on a
    line of their own (so that a clause of one licence and
    the same clause of another are told apart), then the passage's display text; with
    the map of the passage's offsets onto it (for map_span)."""
    context = " > ".join(part for part in (title, headings) if part)
    shown, where = display_map(text)
    if not context:
        return shown, where
    prefix = context + "\n"
    return prefix + shown, [-1] * len(prefix) + where


_HEADING_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|\*{1,6}\s+|\*\*)|\s*(?:\*\*|#+)\s*$")


def heading_label(text: str) -> str:
    """A heading's words without Markdown marks, on one line, at most 120 characters."""
    label = display_text(_HEADING_MARKS.sub("", text.strip()))
    return label if len(label) <= 120 else label[:117] + "..."


# -- lines -----------------------------------------------------------------------------


@dataclass
class _Line:
    start: int  # offset of the first non-space character
    end: int  # offset after the last non-space character
    indent: int  # columns of leading white space (a tab counts as 8)
    text: str  # stripped
    role: str = ""  # furniture | blank | underline | fence | heading | item | row | ""


_BULLET = re.compile(r"^[-*+\u2022\u00b7\u25aa\u25e6\u2023\u2013\u2014]\s+\S")
_NUMBERED = re.compile(
    r"^(?:\(?\d{1,3}[.)]|\(\d{1,3}\)|\(?[a-zA-Z][.)]|\([ivxlcdm]{1,5}\)|[ivxlcdm]{1,5}[.)]"
    r"|\d{1,3}(?:\.\d{1,3})+\.?)\s+\S"
)
_CLAUSE = re.compile(  # "Section 2.1", "ARTICLE IV", "Part B", "§ 3": capitalised, as headings are
    r"^(?:(?:S(?i:ection|ec\.|chedule)|A(?i:rticle|rt\.|ppendix)|C(?i:lause|hapter)|P(?i:art))"
    r"\s+(?:\d[\w.]*|[IVXLC]+\b|[A-Z]\b)|§+\s*\d[\w.]*)[.:)]?(?:\s|$)"
)
_ATX = re.compile(r"^#{1,6}(?:\s+\S|$)")
_ORG = re.compile(r"^\*{2,6} \S")  # "** Bug fixes" (Org mode, GNU NEWS files)
_UNDERLINE = re.compile(r"^(?:={3,}|-{3,}|~{3,}|\^{3,}|\*{3,}|_{3,}|#{3,})$")
# a table's or a page's rule line: runs of three rule characters or more, apart by spaces
# (one run per repetition, so that nothing can be matched two ways: linear time)
_RULE = re.compile(r"^[-=_~*]{3,}(?:[ \t]+[-=_~*]{3,})*[ \t]*$")  # noqa: DUO138
_FENCE = re.compile(r"^(?:```|~~~)")
# each repetition starts with "|", which the class before it excludes: one way to match
_PIPE_ROW = re.compile(r"^\|.*\|$|^[^|]+(?:\|[^|]+){2,}$")  # noqa: DUO138
_PIPE_CELL_RULE = re.compile(r":?-{2,}:?")
_COLUMN_GAP = re.compile(r"(?<![.!?:;,\s])(?: {2,}|\t+)(?=\S)")
_PAGE_NUMBER = re.compile(
    r"^(?:(?:page|p\.|seite|pagina)\s*)?[-\u2013\u2014\[(]?\s*\d{1,4}\s*[-\u2013\u2014\])]?"
    r"(?:\s*(?:/|of|von|de)\s*\d{1,4})?$",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_TERMINAL = re.compile(r"[.!?][\"'”’)\]]*$")
_INNER_END = re.compile(r"[^\W\d_]{2}[.!?][\"'”’)\]]*\s+[\"'“‘(\[]?[A-Z]")
_CAPS_WORD = re.compile(r"[A-Z]")


def _lines(text: str) -> list[_Line]:
    lines = []
    position = 0
    for count, raw in enumerate(text.split("\n")):
        if not count & 1023:
            deadline.check()
        stripped = raw.strip()
        lead = len(raw) - len(raw.lstrip())
        indent = len(raw[:lead].expandtabs(8))
        start = position + lead
        lines.append(_Line(start, start + len(stripped), indent, stripped))
        position += len(raw) + 1
    return lines


def _is_pipe_rule(line: str) -> bool:
    """A Markdown table's separator row ("|:--|--:|"): cells of two dashes or more, each
    with an optional colon either side, between pipes (the outer ones optional)."""
    if "|" not in line:
        return False
    inner = line[1:] if line.startswith("|") else line
    inner = inner[:-1] if inner.endswith("|") else inner
    return all(_PIPE_CELL_RULE.fullmatch(cell.strip()) for cell in inner.split("|"))


def _is_item(line: str) -> bool:
    return bool(_BULLET.match(line) or _NUMBERED.match(line) or _CLAUSE.match(line))


def _is_row(line: str) -> bool:
    if "|" in line and _PIPE_ROW.match(line):
        return True
    gaps = _COLUMN_GAP.findall(line)
    # justified text has the odd double space: columns are wider, or more of them
    wide = sum(1 for gap in gaps if len(gap) >= 3 or "\t" in gap)
    return wide >= 2 or len(gaps) >= 3 or ("\t" in line and len(line.split("\t")) >= 3)


def furniture(pages: Sequence[Sequence[str]]) -> list[set[int]]:
    """Running headers and footers of a paged document, as line indices per page: lines
    among the first and last three non-blank lines of a page that recur (digits ignored)
    at the same place, counted from the top or from the bottom, on at least half of the
    pages (three pages or more), and page-number lines there ("7", "- 7 -", "Page 7")."""
    edges: list[list[tuple[int, str, str]]] = []
    for page in pages:
        body = [(i, line.strip()) for i, line in enumerate(page) if line.strip()]
        top = [(i, text, f"top{k}") for k, (i, text) in enumerate(body[:3])]
        bottom = [(i, text, f"bottom{k}") for k, (i, text) in enumerate(reversed(body[-3:]))]
        edges.append(top + bottom)
    counts: Counter[tuple[str, str]] = Counter()
    for page_edges in edges:
        counts.update({(place, _DIGITS.sub("#", text.lower())) for _, text, place in page_edges})
    needed = max(3, (len(pages) + 1) // 2)
    found: list[set[int]] = []
    for page_edges in edges:
        found.append(
            {
                i
                for i, text, place in page_edges
                if (len(pages) >= 3 and counts[place, _DIGITS.sub("#", text.lower())] >= needed)
                or _PAGE_NUMBER.match(text)
            }
        )
    return found


def _mark_furniture(lines: list[_Line], pages: Sequence[tuple[int, int]]) -> None:
    """Furniture left in a stored text (PDFs ingested before the loader removed it)."""
    if not pages:
        return
    starts = [line.start for line in lines]
    per_page = []
    for page_start, page_end in pages:
        first = bisect.bisect_left(starts, page_start)
        last = bisect.bisect_left(starts, page_end)
        per_page.append(lines[first:last])
    for page_lines, marks in zip(
        per_page, furniture([[ln.text for ln in p] for p in per_page]), strict=True
    ):
        for i in marks:
            page_lines[i].role = FURNITURE


def _classify(lines: list[_Line], markdown: bool) -> None:
    fenced = table = False
    if markdown and lines and lines[0].text == "---":
        # YAML front matter: key: value lines, up to the closing "---"
        close = next((i for i in range(1, len(lines)) if lines[i].text in ("---", "...")), 0)
        for line in lines[: close + 1]:
            line.role = CODE if line.text not in ("---", "...") else "fence"
        lines = lines[close + 1 :]
    for i, line in enumerate(lines):
        if not i & 1023:
            deadline.check()
        if line.role == FURNITURE:
            continue
        text = line.text
        if _FENCE.match(text):
            line.role = "fence"
            fenced = not fenced
            continue
        if fenced or (markdown and text.startswith("<!--")):
            line.role = CODE
            continue
        if not text:
            line.role = "blank"
            table = False
        elif _UNDERLINE.match(text) or _RULE.match(text):
            line.role = "underline"
            # underlines a heading when the line above stands alone; under the last line
            # of a paragraph it is a separator
            above = lines[i - 1] if i > 0 else None
            alone = i < 2 or not lines[i - 2].text or lines[i - 2].role == "underline"
            if _UNDERLINE.match(text) and above and above.text and above.role == "" and alone:
                above.role = HEADING
        elif _is_pipe_rule(text):
            line.role = "underline"  # a Markdown table's separator row: rows around it
            if i > 0 and lines[i - 1].text:
                lines[i - 1].role = ROW
            table = True
            continue
        elif table and "|" in text:
            line.role = ROW
        elif _ATX.match(text) and (markdown or line.indent == 0):
            line.role = HEADING
        elif not markdown and line.indent == 0 and _ORG.match(text):
            line.role = HEADING
        elif _is_item(text):
            line.role = ITEM
        elif _is_row(text):
            line.role = ROW


_WORD_AFTER_GAP = re.compile(r"(?: {2,}|\t+)(?=\S)")


def _gap_columns(line: _Line) -> set[int]:
    """The columns where a word starts after a gap of two spaces or more."""
    return {line.indent + m.end() for m in _WORD_AFTER_GAP.finditer(line.text)}


def _justified(run: Sequence[_Line], margin: int) -> bool:
    """Whether a paragraph's lines are prose justified with padded spaces (nroff's text,
    a word processor's plain text), not a table: every line but the last ends at one
    right edge (the document's margin, or shared by two lines or more), and few of the
    words after its wide gaps stand in a column with the line above's or below's, as a
    table's cells do (justified text: 0-27% in Debian's man-db manual; tables in the
    gold corpora 32-100%, and their lines end at several edges)."""
    if len(run) >= 3 and run[0].indent != run[1].indent:
        run = run[1:]  # a term or label over its indented text ("--with-db=LIBRARY")
    edges = {line.indent + len(line.text) for line in run[:-1]}
    if len(run) < 2 or len(edges) != 1:
        return False
    if edges != {margin} and len(run) < 3:
        return False
    if run[-1].indent + len(run[-1].text) > min(edges):
        return False
    columns = [_gap_columns(line) for line in run]
    gaps = sum(len(c) for c in columns)
    shared = sum(
        len(
            c & ((columns[i - 1] if i else set()) | (columns[i + 1] if i + 1 < len(run) else set()))
        )
        for i, c in enumerate(columns)
    )
    return gaps > 0 and shared <= 0.4 * gaps


def _unjustify(lines: list[_Line]) -> None:
    """Lines taken for table rows by their wide gaps that are justified prose go back to
    prose: runs of plain and row lines (an item's first line starts one), judged whole
    (`_justified`)."""
    if not any(line.role == ROW for line in lines):
        return  # most documents: nothing to judge, no margin to count
    ends = Counter(
        line.indent + len(line.text) for line in lines if line.role in ("", ITEM, ROW) and line.text
    )
    margin = ends.most_common(1)[0][0] if ends else 0
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].role in ("", ITEM, ROW) and lines[j].text:
            j += 1
            if j < len(lines) and lines[j].role == ITEM:
                break  # an item starts a paragraph of its own
        run = lines[i:j]
        rows = [line for line in run if line.role == ROW and "|" not in line.text]
        if rows and _justified(run, margin):
            for line in rows:
                line.role = ""
        i = max(j, i + 1)


def _wrap_width(lines: list[_Line]) -> int:
    """The width the text was wrapped at: the 90th percentile of its prose lines."""
    lengths = sorted(
        line.indent + len(line.text) for line in lines if line.role in ("", ITEM) and line.text
    )
    if not lengths:
        return 80
    if len(lengths) < 10:  # too few lines for a percentile: the longest
        return max(30, lengths[-1])
    return max(30, lengths[min(len(lengths) - 1, int(len(lengths) * 0.9))])


def _first_word(text: str) -> int:
    space = text.find(" ")
    return len(text) if space < 0 else space


_KEY_VALUE = re.compile(r"^[\w.$/\[\]-]+(?: [\w.-]+)?\s*[:=]\s")
_LETTERS = re.compile(r"[^\W\d_]+")
_NUMBERS = re.compile(r"\d+")


def _lead_shape(text: str) -> str:
    """The shape of a line's first two words: "Mar  3 04:12:01" -> "a 9", "[12:04] GET" ->
    "[9:9] a"; empty when it holds no digit and starts with a letter (any prose)."""
    words = " ".join(text.split(None, 2)[:2])[:32]
    shape = _LETTERS.sub("a", _NUMBERS.sub("9", words))
    return shape if ("9" in shape or not shape[:1].isalpha()) else ""


def _is_caps(text: str) -> bool:
    """A line in capitals: two words or more, or one word of four letters or more."""
    letters = [c for c in text if c.isalpha()]
    enough = len(letters) >= 4 if " " in text else len(letters) >= 4 and text.isalpha()
    return enough and all(not c.islower() for c in letters)


def _breaks_after(previous: _Line, line: _Line, width: int) -> bool:
    """Whether the line break between two prose lines is intended (not wrapping)."""
    room = previous.indent + len(previous.text) + 1 + _first_word(line.text)
    if room < 0.6 * width:
        return True  # a very short line: a title, a label, a line of a list or log
    if room <= width and (_TERMINAL.search(previous.text) or previous.text[-1] == ":"):
        return True  # it ended a sentence and the next word would have fitted
    if _is_caps(previous.text) != _is_caps(line.text):
        return True  # a title in capitals over prose, or the other way round
    if room < 0.8 * width and line.text[0].isupper() and _is_title_line(previous, width):
        return True  # a short title line (a running header, a caption) over prose
    # lines of a log, a shell session or a configuration: each starts alike
    if _KEY_VALUE.match(previous.text) and _KEY_VALUE.match(line.text):
        return True
    shape = _lead_shape(previous.text)
    return bool(shape) and shape == _lead_shape(line.text)


_MARKER = re.compile(r"^(\()?(\d{1,3}|[a-zA-Z]|[ivxlc]{1,5})([.)])?\s")


def _ordinal(line: str) -> tuple[str, int] | None:
    """A list marker's style and number: "b)" -> ("a)", 2), "(3)" -> ("(1)", 3)."""
    match = _MARKER.match(line)
    if match is None:
        return None
    opening, label, closing = match.groups()
    if not opening and not closing:
        return None
    style = (opening or "") + ("1" if label.isdigit() else "a") + (closing or "")
    if label.isdigit():
        return style, int(label)
    return style, ord(label.lower()) - ord("a") + 1 if len(label) == 1 else 0


def _starts_item(previous: _Line, line: _Line, item: _Line | None, width: int) -> bool:
    """Whether a line that begins like a list item really starts one, rather than
    continue a sentence that wrapped before "(2) ..." or "100. ...": it does after a line
    that ended a sentence, a clause or a short line, after the previous item of the same
    list, and always for bullets."""
    if _BULLET.match(line.text) or _CLAUSE.match(line.text):
        return True
    if previous.text.endswith((".", ":", ";", "!", "?", ",")) or _breaks_after(
        previous, line, width
    ):
        return True
    if item is not None:
        before, now = _ordinal(item.text), _ordinal(line.text)
        return before is not None and now is not None and before[0] == now[0]
    return False


def _is_title_line(line: _Line, width: int) -> bool:
    """A short line standing alone that reads as a title."""
    text = line.text
    if len(text) > max(0.7 * width, 30) or _TERMINAL.search(text) or text.endswith((",", ";")):
        return False
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 2:
        return False
    if all(not c.islower() for c in letters):
        return True  # ALL CAPS
    words = [w for w in text.split() if w[0].isalpha()]
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised >= max(1, (len(words) + 1) // 2) and len(words) <= 10


@dataclass
class _RawBlock:
    lines: list[_Line]
    kind: str
    style: str = ""  # headings: what kind of heading, for levels


def _group(lines: list[_Line], markdown: bool) -> list[_RawBlock]:
    width = _wrap_width(lines)
    blocks: list[_RawBlock] = []
    current: list[_Line] = []
    kind = PARAGRAPH

    def close() -> None:
        nonlocal current, kind
        if current:
            blocks.append(_RawBlock(current, kind))
        current, kind = [], PARAGRAPH

    for i, line in enumerate(lines):
        if not i & 1023:
            deadline.check()
        role = line.role
        if role in (FURNITURE, "blank", "fence", "underline"):
            if role == "underline" and blocks and blocks[-1].kind == HEADING:
                blocks[-1].style = "setext" + line.text[0]
            if role != FURNITURE or not current:
                close()
            continue
        if role == CODE:
            close()
            blocks.append(_RawBlock([line], CODE))
            continue
        if role == HEADING:
            close()
            marks = line.text[0]
            style = ("atx" if marks == "#" else "org") + str(
                len(line.text) - len(line.text.lstrip(marks))
            )
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if nxt is not None and nxt.role == "underline":
                style = ""  # set by the underline
            blocks.append(_RawBlock([line], HEADING, style))
            continue
        if role == ROW:
            close()
            blocks.append(_RawBlock([line], ROW))
            continue
        if role == ITEM and (
            not current
            or _starts_item(current[-1], line, current[0] if kind == ITEM else None, width)
        ):
            close()
            current, kind = [line], ITEM
            continue
        if current:
            previous = current[-1]
            if markdown:
                joins = True  # Markdown continues a paragraph whatever the indentation
            elif len(current) == 1:
                # second line: the same indent, a first-line indent, or an item's hanging one
                joins = line.indent <= previous.indent + 1 or (kind == ITEM)
            else:
                joins = abs(line.indent - current[1].indent) <= 1
            if joins and (markdown or not _breaks_after(previous, line, width)):
                current.append(line)
                continue
            close()
        current = [line]
    close()
    if not markdown:  # Markdown says what its headings are
        _find_titles(blocks, width)
    return blocks


def _is_caps_title(block: _RawBlock) -> bool:
    """A title set in capitals over a few (often centred) lines."""
    text = " ".join(line.text for line in block.lines)
    letters = [c for c in text if c.isalpha()]
    return (
        len(text) <= 200
        and len(letters) >= 4
        and all(not c.islower() for c in letters)
        and not _TERMINAL.search(text)
    )


def _find_titles(blocks: list[_RawBlock], width: int) -> None:
    """One-line paragraphs that read as titles, and short numbered lines standing alone
    ("5. Conveying Modified Source Versions.") become headings."""
    org = any(b.style.startswith("org") for b in blocks)
    for i, block in enumerate(blocks):
        if block.kind == PARAGRAPH and 1 < len(block.lines) <= 3 and _is_caps_title(block):
            block.kind, block.style = HEADING, "caps"
            continue
        if len(block.lines) != 1 or block.kind not in (PARAGRAPH, ITEM):
            continue
        line = block.lines[0]
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if (
            org  # a text with "** " headings: "* Noteworthy changes in release 3.8" is one too
            and block.kind == ITEM
            and line.indent == 0
            and line.text.startswith("* ")
            and not _TERMINAL.search(line.text)
            and (
                nxt is None or nxt.style.startswith("org") or not nxt.lines[0].text.startswith("* ")
            )
        ):
            block.kind, block.style = HEADING, "org1"
            continue
        if nxt is None or nxt.kind == HEADING:
            continue
        if block.kind == PARAGRAPH and _is_title_line(line, width):
            letters = [c for c in line.text if c.isalpha()]
            block.kind = HEADING
            block.style = "caps" if all(not c.islower() for c in letters) else "title"
        elif block.kind == ITEM and len(line.text) <= 0.6 * width and len(line.text.split()) <= 8:
            if nxt.kind in (PARAGRAPH, ITEM) and nxt.lines[0].indent >= line.indent:
                marker = _NUMBERED.match(line.text) or _CLAUSE.match(line.text)
                if marker and not line.text.endswith((",", ";")):
                    depth = line.text.split()[0].rstrip(".)").count(".")
                    block.kind = HEADING
                    block.style = f"number{depth}"


# -- sentences -------------------------------------------------------------------------

# Abbreviations Punkt's English model lacks, or that it only knows in other cases.
_EXTRA_ABBREVIATIONS = """e.g i.e etc approx dept est mt ft ed eds rev hon pres supt cf al
resp incl excl misc ref refs tel ca viz jan feb mar apr jun jul aug sep sept oct nov dec
mon tue wed thu fri sat sun prof sen rep gov lt col sgt capt cmdr adm maj gen mrs ms mr dr st
jr sr vs inc co corp ltd u.s u.k u.n a.m p.m ph.d b.a m.a""".split()
# After these a number follows in the same sentence: "No. 5", "Sec. 3.1", "Fig. 2".
_NUMBER_ABBREVIATIONS = frozenset(
    "no nos sec secs fig figs vol vols pp p ch chap art para eq eqs op ver".split()
)


@functools.lru_cache(maxsize=1)
def _punkt():  # type: ignore[no-untyped-def]
    import os

    import llama_index.core
    from nltk.tokenize.punkt import PunktTokenizer

    cache = os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")
    import nltk

    if cache not in nltk.data.path:
        nltk.data.path.append(cache)
    tokenizer = PunktTokenizer("english")
    tokenizer._params.abbrev_types.update(_EXTRA_ABBREVIATIONS)
    return tokenizer


def warm_up() -> None:
    """Load the sentence model now (a second or two), so that no document's processing
    budget pays for it."""
    _punkt()


def punkt_spans(text: str) -> Iterable[tuple[int, int]]:
    return _punkt().span_tokenize(text)  # type: ignore[no-any-return]


# The sentence model; benchmarks/segmenters.py swaps in the other candidates.
sentence_splitter: Callable[[str], Iterable[tuple[int, int]]] = punkt_spans

_ALNUM = re.compile(r"[^\W_]")
_CLOSING = re.compile(r"[*_`)\]\"'”’»]+(?=\s|$)")  # "**" and "__" are runs of these


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans of text[start:end] (a paragraph; line breaks count as spaces), as
    absolute offsets, trimmed of white space."""
    end = len(text) if end is None else end
    view = text[start:end].replace("\n", " ")
    if not view.strip():
        return []
    spans: list[tuple[int, int]] = []
    for a, b in _windowed(view):
        if spans:
            # closing marks the model left at the start of the next sentence ("?**")
            closing = _CLOSING.match(view, a, b)
            if closing and closing.end() > a:
                spans[-1], a = (spans[-1][0], closing.end()), closing.end()
                while a < b and view[a].isspace():
                    a += 1
                if a >= b:
                    continue
        if spans and (_continues(view, spans[-1], a) or not _ALNUM.search(view, a, b)):
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    found = []
    for a, b in spans:
        for piece in _cap(view, a, b):
            found.append((start + piece[0], start + piece[1]))
    return found


# NLTK (3.10) runs its regular expressions under a 5 s limit and raises TimeoutError
# past it: a window of pathological text ("1. 1. 1. ...", a quarter of a million one-word
# sentences a MB) costs the sentence model about 0.4 s per 10,000 characters on an idle
# 2-core machine, so windows stay far under the limit on a loaded or slower one.
_WINDOW = 10_000
_WINDOW_CUT = re.compile(r"[.!?]\s+(?=[A-Z])")
# where a window the sentence model gave up on is cut instead: after a full stop,
# question or exclamation mark and its closing marks, before white space
_PLAIN_END = re.compile(r"[.!?][\"')\]”’]*(?=\s)")


def _plain_spans(window: str) -> list[tuple[int, int]]:
    """Sentences cut after every sentence mark: a window the sentence model could not
    read in time (linear; abbreviations are not told apart)."""
    spans, start = [], 0
    for match in _PLAIN_END.finditer(window):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(window)))
    found = []
    for a, b in spans:
        while a < b and window[a].isspace():
            a += 1
        while b > a and window[b - 1].isspace():
            b -= 1
        if a < b:
            found.append((a, b))
    return found


def _windowed(view: str) -> Iterable[tuple[int, int]]:
    """The sentence model's spans, fed at most _WINDOW characters at a time (cut after a
    likely sentence end, else at a space): its regular expressions are bounded in time,
    and a 20 MB paragraph would exceed the bound. A window it gives up on (NLTK's own
    time limit) is cut at its sentence marks instead, so that reading never fails on
    it; the document's time budget (citeqa.deadline) still bounds the whole."""
    offset = 0
    while offset < len(view):
        stop = len(view)
        if stop - offset > _WINDOW:
            stop = offset + _WINDOW
            cut = None
            for match in _WINDOW_CUT.finditer(view, offset + _WINDOW // 2, stop):
                cut = match.end()
            if cut is None:
                cut = view.rfind(" ", offset + _WINDOW // 2, stop) + 1 or stop
            stop = cut
        deadline.check()
        try:
            spans = list(sentence_splitter(view[offset:stop]))
        except TimeoutError:  # NLTK bounds its own regular expressions' time
            spans = _plain_spans(view[offset:stop])
        for a, b in spans:
            yield offset + a, offset + b
        offset = stop


_OPENING = frozenset("([\"'“‘")
_CLOSERS = "\"'”’)]"


def _last_word(view: str, start: int, end: int) -> str | None:
    """The word before the final full stop of view[start:end] ("No" in "see No."), lower
    case; None when the span does not end in a full stop (closing marks aside). Found from
    the end, in time linear in the span: a regular expression searched from each start
    would be quadratic in a long unbroken token."""
    tail = view[start:end].rstrip().rstrip(_CLOSERS)
    if not tail.endswith("."):
        return None
    first = len(tail) - 1
    while first > 0 and not (tail[first - 1].isspace() or tail[first - 1] in _OPENING):
        first -= 1
    return tail[first:-1].lower() if first < len(tail) - 1 else None


def _continues(view: str, previous: tuple[int, int], start: int) -> bool:
    """A split Punkt made that should not be: after "No." before a number, after an
    initial ("J."), or before a lower-case word."""
    word = _last_word(view, previous[0], previous[1])
    nxt = view[start : start + 1]
    if word is None:
        return nxt.islower()
    if word in _NUMBER_ABBREVIATIONS and nxt.isdigit():
        return True
    if len(word) == 1 and word.isalpha() and nxt.isupper():
        return True
    return nxt.islower() and not nxt.isdigit()


_CLAUSE_BREAK = re.compile(r"[;,:]\s")


def _cap(view: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut a run longer than MAX_UNIT_CHARS at the last clause break, else word break,
    before the limit."""
    pieces = []
    while end - start > MAX_UNIT_CHARS:
        limit = start + MAX_UNIT_CHARS
        cut = -1
        for match in _CLAUSE_BREAK.finditer(view, start + MAX_UNIT_CHARS // 2, limit):
            cut = match.end()
        if cut < 0:
            cut = view.rfind(" ", start + MAX_UNIT_CHARS // 2, limit) + 1 or limit
        piece = _trim(view, start, cut)
        if piece:
            pieces.append(piece)
        start = cut
    piece = _trim(view, start, end)
    if piece:
        pieces.append(piece)
    return pieces


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


# -- the whole document ----------------------------------------------------------------


# What the loaders write the Markdown way (headings, list items, table rows).
MARKDOWN_KINDS = frozenset(
    {"markdown", "html", "docx", "pptx", "odt", "epub", "csv", "xlsx", "ods"}
)


def segment(text: str, kind: str = "text", pages: Sequence[tuple[int, int]] = ()) -> Structure:
    """The structure of a document's text. `kind` is the loader's ("text", "markdown",
    "html", "pdf"); `pages` the (start, end) spans of PDF pages in text."""
    markdown = kind in MARKDOWN_KINDS
    lines = _lines(text)
    _mark_furniture(lines, pages)
    _classify(lines, markdown)
    if not markdown:
        _unjustify(lines)
    raw = _group(lines, markdown)
    structure = Structure(text)
    # Heading levels: Markdown's own where it has them, then by order of first use
    # (docutils' rule for underlines, capitals, numbers and title lines).
    levels: list[str] = []
    stack: list[tuple[int, int]] = []  # (level, block index) of the open headings
    for block in raw:
        start, end = block.lines[0].start, block.lines[-1].end
        index = len(structure.blocks)
        if not index & 255:
            deadline.check()
        if block.kind == HEADING:
            style = block.style or "title"
            if markdown and style.startswith(("atx", "setext")):
                level = int(style[3:]) if style.startswith("atx") else 1 + (style[-1] != "=")
            else:
                if style not in levels:
                    levels.append(style)
                level = levels.index(style) + 1 + (6 if markdown else 0)
            while stack and stack[-1][0] >= level:
                stack.pop()
            parent = stack[-1][1] if stack else None
            structure.blocks.append(Block(start, end, HEADING, level, parent))
            stack.append((level, index))
        else:
            parent = stack[-1][1] if stack else None
            structure.blocks.append(Block(start, end, block.kind, 0, parent))
        structure.units.extend(_units(text, block, index))
    return structure


_MARKER_ONLY = re.compile(r"\(?(?:\d{1,3}(?:\.\d{1,3})*|[a-zA-Z]|[ivxlc]{1,5})[.)]?(?=\s*$)")


def _units(text: str, block: _RawBlock, index: int) -> list[Unit]:
    start, end = block.lines[0].start, block.lines[-1].end
    if block.kind in (HEADING, ROW, CODE):
        kind = {HEADING: HEADING, ROW: ROW, CODE: LINE}[block.kind]
        return [Unit(a, b, kind, index) for a, b in _cap(text, start, end)]
    if (
        block.kind == PARAGRAPH
        and len(block.lines) == 1
        and not _TERMINAL.search(block.lines[0].text)
        and not _INNER_END.search(block.lines[0].text)
    ):
        # a line standing alone without sentence punctuation: a line of a log, code, a label
        spans = _cap(text, start, end)
        return [Unit(a, b, LINE, index) for a, b in spans]
    spans = sentence_spans(text, start, end)
    if len(spans) > 1 and _MARKER_ONLY.match(text, spans[0][0], spans[0][1]):
        spans[:2] = [(spans[0][0], spans[1][1])]  # "4." read as a sentence of its own
    kind = ITEM if block.kind == ITEM else SENTENCE
    units = [Unit(a, b, kind if i == 0 else SENTENCE, index) for i, (a, b) in enumerate(spans)]
    return units


def unit_spans(text: str, kind: str = "text") -> list[tuple[int, int]]:
    """Unit spans of a text without known structure (a passage read from an older
    store, a model's reply): the same reading as at ingest, without page furniture."""
    return [(u.start, u.end) for u in segment(text, kind).units]
