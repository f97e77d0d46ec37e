"""Token-sized chunks with exact character offsets into the stored document text.

LlamaIndex's SentenceSplitter decides the boundaries (token counts from tiktoken's
cl100k_base); each chunk is then located in the text, and the stored chunk is the exact
slice `text[start:end]`, so `doc_text[start:end] == chunk_text` holds by construction.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@functools.lru_cache(maxsize=1)
def token_encoder():  # type: ignore[no-untyped-def]
    import tiktoken

    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(token_encoder().encode(text, disallowed_special=()))


@functools.lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):  # type: ignore[no-untyped-def]
    from llama_index.core.node_parser import SentenceSplitter

    encoder = token_encoder()
    return SentenceSplitter(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=functools.partial(encoder.encode, disallowed_special=()),
    )


def _locate(text: str, chunk: str, cursor: int) -> Span | None:
    found = text.find(chunk, cursor)
    if found >= 0:
        return Span(found, found + len(chunk))
    # The splitter may have normalised whitespace between its pieces.
    words = chunk.split()
    if not words:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
    match = pattern.search(text, cursor)
    return Span(match.start(), match.end()) if match else None


def chunk_spans(text: str, chunk_size: int, chunk_overlap: int) -> list[Span]:
    if not text.strip():
        return []
    pieces = _splitter(chunk_size, chunk_overlap).split_text(text)
    spans: list[Span] = []
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        span = _locate(text, piece, cursor)
        if span is None:
            span = _locate(text, piece, 0)
        if span is None:
            raise ValueError("a chunk could not be located in its document text")
        spans.append(span)
        cursor = span.start + 1
    return spans
