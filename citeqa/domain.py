"""The domain types every layer speaks: a document's record, its chunks, the passages a
retrieval finds and the units scored in them. A leaf module: it imports nothing of the
project at run time (adapters such as the Chroma store convert to and from these types;
they do not own them), so anything may import it without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from citeqa.lexical import LexicalSnapshot
    from citeqa.unit_vectors import Packed, UnitVectors


@dataclass
class Chunk:
    id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    metadata: dict[str, Any] = field(default_factory=dict)
    units: UnitVectors | None = None  # its units' vectors, when it has them
    packed: Packed | None = None  # ... as read from the store, not yet decoded

    def unit_vectors(self, keep: bool = False) -> UnitVectors | None:
        """The stored unit vectors, or None: then the answerer embeds the units itself.
        Decoded anew each time unless `keep` (then decoded once and kept): the chunks of
        the shared BM25 snapshot stay in memory in their compact stored form."""
        if self.packed is not None:
            if not keep:
                return self.packed.decode()
            self.units, self.packed = self.packed.decode(), None
        return self.units


# How a document's chunks are made. 1: sentences ended at every line break, chunks were
# fixed token windows. 2: document structure (citeqa.segment): units,
# passages along sections with their heading path, title and headings in what is
# embedded and indexed. A store with documents of an older format keeps answering from
# them; `citeqa reindex` rebuilds them from their stored text.
STORE_FORMAT = 2
OUTDATED = "outdated"  # the manifest's status of a complete document of an older format


@dataclass
class DocumentRecord:
    doc_id: str
    title: str
    source: str
    content_hash: str
    status: str  # "pending" while its chunks are being written, then "complete"
    n_chunks: int
    date: str | None = None
    ingested_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    format: int = STORE_FORMAT
    kind: str | None = None  # how its text was read: text, markdown, html or pdf
    pages: list[tuple[int, int]] | None = None  # PDF pages' (start, end) in text
    chars: int | None = None  # length of the text (None: stored before records said)

    def to_metadata(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "title": self.title,
            "source": self.source,
            "content_hash": self.content_hash,
            "status": self.status,
            "n_chunks": self.n_chunks,
            "format": self.format,
        }
        if self.kind:
            meta["kind"] = self.kind
        chars = len(self.text) if self.text is not None else self.chars
        if chars is not None:
            meta["chars"] = chars
        if self.pages:
            meta["pages"] = ",".join(f"{a}:{b}" for a, b in self.pages)
        if self.date:
            meta["date"] = self.date
        if self.ingested_at:
            meta["ingested_at"] = self.ingested_at
        for key, value in self.extra.items():
            meta[f"x_{key}"] = value
        return meta

    @classmethod
    def from_chroma(cls, doc_id: str, meta: dict[str, Any], text: str | None) -> DocumentRecord:
        return cls(
            doc_id=doc_id,
            title=str(meta.get("title", doc_id)),
            source=str(meta.get("source", "")),
            content_hash=str(meta.get("content_hash", "")),
            status=str(meta.get("status", "pending")),
            n_chunks=int(meta.get("n_chunks", 0)),
            date=meta.get("date"),
            ingested_at=meta.get("ingested_at"),
            extra={k[2:]: v for k, v in meta.items() if k.startswith("x_")},
            text=text,
            format=int(meta.get("format", 1)),
            kind=meta.get("kind"),
            pages=_pages(meta.get("pages")),
            chars=int(meta["chars"]) if "chars" in meta else (len(text) if text else None),
        )


def _pages(value: Any) -> list[tuple[int, int]] | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return [(int(a), int(b)) for a, b in (item.split(":") for item in value.split(","))]
    except ValueError:
        return None


@dataclass
class Passage:
    chunk: Chunk
    score: float  # fused RRF score
    dense_rank: int | None
    lexical_rank: int | None
    bm25: float = 0.0
    fused_rank: int = 0  # 1-based rank by the RRF score
    best: float = 0.0  # the answer model's probability for its best unit


@dataclass
class Retrieval:
    question_terms: list[str]
    query_vector: list[float]
    passages: list[Passage]
    lexical: LexicalSnapshot  # the BM25 statistics this retrieval saw
    candidates: list[Candidate] = field(default_factory=list)  # units of passages, best first
    # the documents the question named and retrieval searched alone (citeqa.scope)
    scope: list[str] | None = None


@dataclass
class Candidate:
    """One unit of a candidate passage, scored."""

    passage: Passage
    start: int  # offsets into the document text
    end: int
    text: str  # verbatim: document_text[start:end]
    display: str  # the same words unwrapped, for reading and scoring
    kind: str
    cos: float
    probability: float = 0.0  # that it answers the question (the answer model's units part)
    previous: Candidate | None = None  # the unit before it in its passage
    features: np.ndarray | None = None  # its row of FEATURES
    following: Candidate | None = None  # the unit after it in its passage
