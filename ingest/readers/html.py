"""HTML: the page's own content, without the generator's chrome, written the Markdown way.

What a page is read as:
- Elements a reader never sees (scripts, styles, hidden ones) are dropped; hidden ones
  are flagged, as they are a classic carrier of prompt injections.
- Chrome never becomes text (ingest/readers/chrome.py): navigation, breadcrumbs,
  sidebars, search boxes, footers and permalink marks ("¶"), recognised by their ARIA
  roles and HTML5 elements and by the markup Sphinx, Doxygen, MkDocs, Javadoc, DocBook
  and texinfo give them. Where a page marks its main content (`main`,
  `role="main"`, a single `article`) only that is read.
- Headings, list items, table rows and code blocks are written the Markdown way
  ("## Fees", "- item", "1. step", "| cell | cell |", fenced code), so that
  citeqa.segment reads them as units and passages carry their heading path. A list
  item's paragraphs stay in the item (one block), and code keeps its lines and
  indentation.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.readers.base import LoadedDocument, decode
from ingest.readers.chrome import main_content, strip_chrome

_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "header",
        "hgroup",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "section",
        "summary",
        "table",
        "ul",
    }
)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_LAYOUT_CELL = ["pre", "ul", "ol", "dl", "table", *_HEADINGS]
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_CONCEALING_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|opacity\s*:\s*0(?![.\d]*[1-9])",
    re.IGNORECASE,
)


def _is_concealed(tag: Any) -> bool:
    attrs = getattr(tag, "attrs", None) or {}
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    return bool(_CONCEALING_STYLE.search(str(attrs.get("style", ""))))


def load_html(data: bytes, name: str = "the file") -> tuple[str, str | None, list[str]]:
    from bs4 import BeautifulSoup

    raw, warnings = decode(data, name)
    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "svg"]):
        tag.decompose()
    # Text a reader never sees is a classic carrier of prompt injections: drop it, flag it.
    concealed = [tag for tag in soup.find_all(True) if _is_concealed(tag)]
    for tag in concealed:
        if not tag.decomposed:
            tag.decompose()
    if concealed:
        warnings = [*warnings, f"removed {len(concealed)} hidden HTML elements"]
    title = None
    if soup.title and soup.title.get_text(strip=True):
        title = soup.title.get_text(" ", strip=True)
    elif soup.h1 and soup.h1.get_text(strip=True):
        title = soup.h1.get_text(" ", strip=True)
    strip_chrome(soup)
    if soup.head:
        soup.head.decompose()
    return render(main_content(soup)), title, warnings


def render(root: Any) -> str:
    """The text of an element and what it holds, with its structure written the
    Markdown way."""
    writer = _Writer()
    writer.walk(root)
    return writer.text()


class _Writer:
    """Writes text with breaks requested between blocks: the largest break asked for
    since the last text wins, so nested blocks never pile up blank lines."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pending = 0  # newlines to write before the next text
        self.glued = False  # a marker was just written: its content follows on its line
        self.in_item = 0  # inside a list item, blocks are lines, not paragraphs
        self.at_line_start = True
        self.marker_at = -1  # where in parts the last list marker is

    def brk(self, newlines: int) -> None:
        if self.glued:
            return
        if self.in_item:
            newlines = 1
        self.pending = max(self.pending, newlines)

    def write(self, text: str) -> None:
        if not text.strip(" "):
            if not text or self.pending or self.at_line_start or self.glued:
                return  # the space between blocks, or after a marker
        if self.pending and self.parts:
            self.parts.append("\n" * self.pending)
            self.at_line_start = True
        self.pending = 0
        if self.at_line_start or self.glued:
            text = text.lstrip(" ")
            if not text:
                return
        self.parts.append(text)
        self.glued = False
        self.at_line_start = text.endswith("\n")

    def marker(self, text: str) -> None:
        self.write(text)
        self.glued = True
        self.marker_at = len(self.parts) - 1

    def unglue(self) -> None:
        """A block that cannot share its line with the list marker just written (a
        heading, a nested list, code) comes first in an item: the marker goes."""
        if self.glued and self.marker_at == len(self.parts) - 1:
            self.parts.pop()
            self.at_line_start = True
        self.glued = False

    def walk(self, node: Any) -> None:
        from bs4 import NavigableString, Tag

        for child in node.children if isinstance(node, Tag) else ():
            if isinstance(child, Tag):
                self.element(child)
            elif type(child) is NavigableString:  # not a comment, doctype or CDATA
                self.write(_SPACES.sub(" ", str(child)))

    def element(self, tag: Any) -> None:
        name = tag.name
        if name == "br":
            self.brk(1)
        elif name in _HEADINGS:
            self.unglue()
            self.brk(2)
            self.marker("#" * _HEADINGS[name] + " ")
            self.walk(tag)
            self.glued = False
            self.brk(2)
        elif name == "li":
            self.list_item(tag)
        elif name == "tr":
            cells = tag.find_all(["td", "th"], recursive=False)
            if any(cell.find(_LAYOUT_CELL) for cell in cells):
                # a table used for layout (DocBook's questions and answers, page grids):
                # its cells hold code, lists or headings, which stay blocks
                for cell in cells:
                    self.brk(2)
                    self.walk(cell)
                self.brk(2)
            elif cells:
                self.brk(1)
                # one line per row, whatever blocks a cell holds (EPUB writers wrap cells in <p>)
                cell_texts = (_SPACES.sub(" ", render(c)) for c in cells)
                self.write("| " + " | ".join(cell_texts) + " |")
                self.brk(1)
            else:
                self.walk(tag)
        elif name == "pre":
            self.code(tag.get_text())
        elif name == "div" and "fragment" in (tag.get("class") or ()):
            # Doxygen's code: a div a line, no <pre>
            lines = tag.find_all("div", class_="line")
            self.code("\n".join(line.get_text() for line in lines) if lines else tag.get_text())
        elif name in _BLOCK_TAGS or name == "table":
            self.brk(2)
            self.walk(tag)
            self.brk(2)
        else:
            self.walk(tag)

    def list_item(self, tag: Any) -> None:
        self.unglue()
        if tag.find(_HEADINGS):
            # an item that holds headings is layout (Javadoc's blockList): its blocks stay blocks
            self.brk(2)
            self.walk(tag)
            self.brk(2)
            return
        parent = tag.find_parent(["ol", "ul"])
        if parent is not None and parent.name == "ol":
            mark = f"{1 + len(tag.find_previous_siblings('li'))}. "
        else:
            mark = "- "
        self.glued = False
        if self.in_item:
            self.brk(1)
        else:
            self.brk(2)
        self.marker(mark)
        self.in_item += 1
        self.walk(tag)
        self.in_item -= 1
        self.unglue()  # an empty item writes nothing
        self.brk(1 if self.in_item else 2)

    def code(self, text: str) -> None:
        body = text.strip("\n")
        if not body.strip():
            return
        fence = "~~~" if "```" in body else "```"
        self.unglue()
        self.pending = max(self.pending, 1 if self.in_item else 2)
        self.write(f"{fence}\n")
        # verbatim: the code's own line breaks and indentation
        self.parts.append(body.rstrip() + f"\n{fence}")
        self.at_line_start = False
        self.pending = 1 if self.in_item else 2

    def text(self) -> str:
        lines = "".join(self.parts).split("\n")
        fence = None
        out = []
        for line in lines:
            stripped = line.strip()
            if fence is None:
                out.append(stripped)
                if stripped in ("```", "~~~"):
                    fence = stripped
            else:
                if stripped == fence:
                    fence = None
                    out.append(stripped)
                else:
                    out.append(line.rstrip())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def read_html(data: bytes, name: str) -> LoadedDocument:
    text, title, warnings = load_html(data, name)
    return LoadedDocument(text=text, kind="html", title_hint=title, warnings=warnings)
