"""HTML: the visible text, headings, list items and table rows written the Markdown way;
elements a reader never sees are dropped and flagged."""

from __future__ import annotations

import re
from typing import Any

from ingest.readers.base import LoadedDocument, decode

_BLOCK_TAGS = (
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "nav",
    "li",
    "ul",
    "ol",
    "table",
    "tr",
    "blockquote",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "dd",
    "dt",
    "figcaption",
    "hr",
)


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
    if soup.head:
        soup.head.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    _mark_structure(soup)
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_before("\n\n")
        tag.insert_after("\n\n")
    text = soup.get_text()
    lines = [re.sub(r"[ \t\f\v]+", " ", line).strip() for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, title, warnings


def _mark_structure(soup: Any) -> None:
    """Headings, list items and table rows written the Markdown way ("## Fees", "- item",
    "1. step", "| cell | cell |"), so that the stored text keeps them as units and
    passages carry their heading path (citeqa.segment reads HTML as Markdown)."""
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            tag.insert(0, "#" * level + " ")
    for item in soup.find_all("li"):
        parent = item.find_parent(["ol", "ul"])
        if parent is not None and parent.name == "ol":
            item.insert(0, f"{1 + len(item.find_previous_siblings('li'))}. ")
        else:
            item.insert(0, "- ")
    for row in soup.find_all("tr"):
        cells = row.find_all(["td", "th"], recursive=False)
        if cells:
            # one line per row, whatever blocks a cell holds (EPUB writers wrap cells in <p>)
            line = "| " + " | ".join(c.get_text(" ", strip=True) for c in cells) + " |"
            row.clear()
            row.append(line)


def read_html(data: bytes, name: str) -> LoadedDocument:
    text, title, warnings = load_html(data, name)
    return LoadedDocument(text=text, kind="html", title_hint=title, warnings=warnings)
