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

import functools
import re
from collections.abc import Callable
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
    writer = _Writer(root)
    writer.walk(root)
    return writer.text()


def _holders(found: list[Any], names: set[str]) -> set[int]:
    """The ids of the elements named `names` that hold one of `found`, each ancestor
    visited once (linear however deep the nesting)."""
    seen: set[int] = set()
    holders: set[int] = set()
    for tag in found:
        node = tag.parent
        while node is not None and id(node) not in seen:
            seen.add(id(node))
            if node.name in names:
                holders.add(id(node))
            node = node.parent
    return holders


class _Writer:
    """Writes text with breaks requested between blocks: the largest break asked for
    since the last text wins, so nested blocks never pile up blank lines."""

    def __init__(self, root: Any) -> None:
        find = getattr(root, "find_all", None)
        # items that hold headings are layout (Javadoc's blockList), and so are table cells
        # that hold code, lists or headings (DocBook's questions and answers, page grids)
        self.layout_items = _holders(find(list(_HEADINGS)) if find else [], {"li"})
        self.layout_cells = _holders(find(_LAYOUT_CELL) if find else [], {"td", "th"})
        self.lists: list[list[Any]] = []  # the lists open around: [name, items so far]
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
        """Depth first, with a stack of its own rather than recursion, so that a page
        nested thousands of elements deep reads like any other. The stack holds elements
        and text to write, and the steps that close an element (plain callables)."""
        from bs4 import NavigableString, Tag

        stack: list[Any] = list(reversed(node.contents)) if isinstance(node, Tag) else []
        while stack:
            item = stack.pop()
            if isinstance(item, Tag):  # before the callable test: a Tag is callable too
                after, children = self.open(item)
                if after is not None:
                    stack.append(after)
                stack.extend(reversed(children))
            elif type(item) is NavigableString:  # not a comment, doctype or CDATA
                self.write(_SPACES.sub(" ", str(item)))
            elif callable(item):
                item()

    def open(self, tag: Any) -> tuple[Callable[[], None] | None, list[Any]]:
        """Writes what comes before the element's content; returns the step that closes it
        and what to read inside it."""
        name = tag.name
        if name == "br":
            self.brk(1)
            return None, []
        if name in _HEADINGS:
            self.unglue()
            self.brk(2)
            self.marker("#" * _HEADINGS[name] + " ")
            return self.close_heading, tag.contents
        if name == "li":
            return self.open_item(tag)
        if name == "tr":
            cells = tag.find_all(["td", "th"], recursive=False)
            if any(id(cell) in self.layout_cells for cell in cells):
                # a table used for layout: its cells' code, lists and headings stay blocks
                apart = functools.partial(self.brk, 2)
                return apart, [part for cell in cells for part in (apart, cell)]
            if cells:
                self.brk(1)
                # one line per row, whatever blocks a cell holds (EPUB writers wrap cells in <p>)
                cell_texts = (_SPACES.sub(" ", render(c)) for c in cells)
                self.write("| " + " | ".join(cell_texts) + " |")
                self.brk(1)
                return None, []
            return None, tag.contents
        if name == "pre":
            self.code(tag.get_text())
            return None, []
        if name == "div" and "fragment" in (tag.get("class") or ()):
            # Doxygen's code: a div a line, no <pre>
            lines = tag.find_all("div", class_="line")
            self.code("\n".join(line.get_text() for line in lines) if lines else tag.get_text())
            return None, []
        if name in ("ol", "ul"):
            self.brk(2)
            self.lists.append([name, 0])
            return self.close_list, tag.contents
        if name in _BLOCK_TAGS or name == "table":
            self.brk(2)
            return functools.partial(self.brk, 2), tag.contents
        return None, tag.contents

    def close_heading(self) -> None:
        self.glued = False
        self.brk(2)

    def open_item(self, tag: Any) -> tuple[Callable[[], None] | None, list[Any]]:
        self.unglue()
        if id(tag) in self.layout_items:
            self.brk(2)
            return functools.partial(self.brk, 2), tag.contents
        mark = "- "
        if self.lists:
            self.lists[-1][1] += 1
            if self.lists[-1][0] == "ol":
                mark = f"{self.lists[-1][1]}. "
        self.brk(1 if self.in_item else 2)
        self.marker(mark)
        self.in_item += 1
        return self.close_item, tag.contents

    def close_list(self) -> None:
        self.lists.pop()
        self.brk(2)

    def close_item(self) -> None:
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
