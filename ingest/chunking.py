"""Passages that follow the document's structure, sized in tiktoken (cl100k) tokens.

The document's structure (citeqa.segment) says where its sections start (headings) and
what its units are (sentences, list items, rows, lines). A passage never crosses a
heading, unless the sections involved are too small to stand alone, and never cuts a
unit: LlamaIndex's SentenceSplitter packs whole units into passages of at most
`chunk_size` tokens, with up to `chunk_overlap` tokens of whole units carried over.
A passage also starts anew where a PDF page starts, so most passages lie on one page.
Each passage is the exact slice `text[start:end]`, so `doc_text[start:end] == chunk_text`
holds by construction, and it carries the heading path it sits under.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Sequence
from dataclasses import dataclass

from citeqa import deadline
from citeqa.segment import HEADING, Structure, Unit
from citeqa.tokens import count_tokens, encode, token_encoder

__all__ = [
    "Passage",
    "Span",
    "chunk_passages",
    "chunk_spans",
    "count_tokens",
    "token_encoder",
    "warm_up",
]


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    start: int
    end: int
    headings: tuple[str, ...]  # the heading path it sits under, outermost first


def _splitter(chunk_size: int, chunk_overlap: int, pieces: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    """A SentenceSplitter whose sentences are our units: a section's text is split into
    the pieces computed for it (each unit with the white space after it, so that the
    pieces put together are the section's text)."""
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

    fallback = split_by_sentence_tokenizer()

    def units_of(text: str) -> list[str]:
        return pieces.get(text) or fallback(text)

    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=encode,
        paragraph_separator="\x00\x00",  # never found: sections are split by units only
        chunking_tokenizer_fn=units_of,
    )


def _sections(structure: Structure, page_starts: Sequence[int]) -> list[list[Unit]]:
    """Runs of units under one heading; a run also ends where a page starts."""
    sections: list[list[Unit]] = []
    page = -1
    for unit in structure.units:
        unit_page = bisect.bisect_right(page_starts, unit.start) - 1
        starts_section = structure.blocks[unit.block].kind == HEADING and (
            not sections or sections[-1][-1].block != unit.block
        )
        if not sections or starts_section or unit_page != page:
            sections.append([])
        sections[-1].append(unit)
        page = unit_page
    return sections


def _merge_small(
    sections: list[list[Unit]], text: str, limit: int, page_starts: Sequence[int]
) -> list[list[Unit]]:
    """Put a section too small to stand alone (a heading and a line) together with the
    ones after it on the same page, up to `limit` tokens."""
    merged: list[list[Unit]] = []
    size = 0
    for section in sections:
        tokens = count_tokens(text[section[0].start : section[-1].end])
        if merged and size + tokens <= limit and _same_page(merged[-1][0], section[0], page_starts):
            merged[-1].extend(section)
            size += tokens
        else:
            merged.append(list(section))
            size = tokens
    return merged


def _same_page(a: Unit, b: Unit, page_starts: Sequence[int]) -> bool:
    return bisect.bisect_right(page_starts, a.start) == bisect.bisect_right(page_starts, b.start)


def chunk_passages(
    structure: Structure,
    chunk_size: int,
    chunk_overlap: int,
    page_starts: Sequence[int] = (),
) -> list[Passage]:
    text = structure.text
    sections = _merge_small(_sections(structure, page_starts), text, chunk_size // 4, page_starts)
    pieces: dict[str, list[str]] = {}
    jobs = []
    for units in sections:
        start, end = units[0].start, units[-1].end
        section_text = text[start:end]
        bounds = [u.start for u in units[1:]] + [end]
        pieces[section_text] = [
            text[a:b] for a, b in zip([start] + bounds[:-1], bounds, strict=True)
        ]
        jobs.append((start, section_text, units[0].block))
    splitter = _splitter(chunk_size, chunk_overlap, pieces)
    passages: list[Passage] = []
    for start, section_text, block in jobs:
        deadline.check()
        headings = tuple(structure.heading_path(block))
        cursor = 0
        for piece in splitter.split_text(section_text):
            found = section_text.find(piece, cursor)
            if found < 0:
                found = section_text.find(piece)
            if found < 0:
                raise ValueError("a passage could not be located in its document text")
            passages.append(Passage(start + found, start + found + len(piece), headings))
            cursor = found + 1
    return passages


@functools.lru_cache(maxsize=4)
def _plain_structure(text: str) -> Structure:
    from citeqa.segment import segment

    return segment(text)


def chunk_spans(text: str, chunk_size: int, chunk_overlap: int) -> list[Span]:
    """Passage spans of a plain text (no known kind or pages)."""
    if not text.strip():
        return []
    passages = chunk_passages(_plain_structure(text), chunk_size, chunk_overlap)
    return [Span(p.start, p.end) for p in passages]


def warm_up() -> None:
    """Load what the first chunking loads (LlamaIndex's splitter, the cl100k encoding;
    0.2 s here, over a second on a busy machine) now, so that no document's processing
    budget pays for it: the first small file of an ingest failed its 0.5 s budget for
    this under load."""
    chunk_spans("One sentence to split. Another one after it.", 64, 8)
