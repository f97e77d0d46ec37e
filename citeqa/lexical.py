"""BM25 over all chunks (bm25s, stemmed terms), kept in step with the shared store.

The index is rebuilt from Chroma whenever the store's generation marker differs from the
one it was built at, so every process sees ingests and deletes made by any other process
on the next query, with no restart. It also provides the document frequencies that
answer scoring uses to weigh question terms.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from citeqa.components.store import ChromaStore, Chunk
from citeqa.dates import date_as_int
from citeqa.filters import Filters
from citeqa.segment import display_text
from citeqa.text import terms

log = logging.getLogger(__name__)


@dataclass
class LexicalSnapshot:
    """The BM25 index and term statistics of one store generation (immutable)."""

    generation: str
    chunks: list[Chunk]
    retriever: object | None  # bm25s.BM25, None when the store is empty
    df: Counter[str]
    doc_ids: np.ndarray
    sources: np.ndarray
    dates: np.ndarray  # yyyymmdd, 0 when undated
    by_id: dict[str, Chunk] = field(default_factory=dict)  # the same chunks, by id

    @property
    def size(self) -> int:
        return len(self.chunks)

    def chunk(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id as of this generation. Chunk ids carry their
        document's content hash, so an id found here has the store's current text."""
        return self.by_id.get(chunk_id)

    def search(
        self, question_terms: list[str], k: int, filters: Filters | None
    ) -> list[tuple[Chunk, float]]:
        if self.retriever is None or not question_terms:
            return []
        scores = np.asarray(self.retriever.get_scores(question_terms), dtype=np.float64)  # type: ignore[attr-defined]
        if filters is not None and not filters.is_empty():
            scores = np.where(_mask(self, filters), scores, 0.0)
        k = min(k, self.size)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, term: str) -> float:
        """BM25's idf from chunk document frequencies; a term the store has never seen
        gets the largest. (Add-one smoothing of unseen terms was measured worse on every
        gold set: unanswerable questions name what the documents lack.)"""
        n = max(self.size, 1)
        df = self.df.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


def context_line(chunk: Chunk) -> str:
    """A chunk's document context (title, opening headings, file name) and heading path;
    chunks stored without a context have their title."""
    document = chunk.metadata.get("context") or chunk.metadata.get("title") or ""
    return f"{document} {chunk.metadata.get('headings') or ''}".strip()


def index_text(chunk: Chunk) -> str:
    """What BM25 reads of a chunk: its document's context, its heading path and its words
    (line-end hyphenation joined), so that a question naming the document or the
    section ("version 3 of the GPL", "under Options") finds its passages."""
    context = context_line(chunk)
    return f"{context}\n{display_text(chunk.text)}"


class LexicalIndex:
    def __init__(self, store: ChromaStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._snapshot: LexicalSnapshot | None = None
        self.rebuilds = 0

    def snapshot(self) -> LexicalSnapshot:
        """The index for the store's current generation, rebuilt first if stale."""
        generation = self._store.generation()
        current = self._snapshot
        if current is not None and current.generation == generation:
            return current
        with self._lock:
            current = self._snapshot
            if current is None or current.generation != generation:
                current = self._build(generation)
                self._snapshot = current
        return current

    def _build(self, generation: str) -> LexicalSnapshot:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG
        # The chunks keep their units' vectors in the stored (int8, base64) form: the
        # answer model scores the units of some 30 candidate passages per query.
        chunks = list(self._store.iter_chunks())
        tokens = [terms(index_text(c)) for c in chunks]
        df: Counter[str] = Counter()
        for toks in tokens:
            df.update(set(toks))
        retriever = None
        if chunks:
            retriever = bm25s.BM25()
            # An empty token list would make bm25s drop the row; keep rows aligned.
            retriever.index([t or [""] for t in tokens], show_progress=False)
        self.rebuilds += 1
        log.info("BM25 index built over %d chunks", len(chunks))
        return LexicalSnapshot(
            generation=generation,
            chunks=chunks,
            retriever=retriever,
            df=df,
            doc_ids=np.array([c.doc_id for c in chunks], dtype=object),
            sources=np.array([c.metadata.get("source", "") for c in chunks], dtype=object),
            dates=np.array([int(c.metadata.get("date_int") or 0) for c in chunks], dtype=np.int64),
            by_id={c.id: c for c in chunks},
        )


def _mask(snap: LexicalSnapshot, filters: Filters) -> np.ndarray:
    mask = np.ones(snap.size, dtype=bool)
    ids = filters.doc_ids()
    if ids is not None:
        mask &= np.isin(snap.doc_ids, np.array(ids, dtype=object))
    if filters.source:
        mask &= snap.sources == filters.source
    if filters.date_from:
        mask &= snap.dates >= (date_as_int(filters.date_from) or 0)
    if filters.date_to:
        mask &= (snap.dates <= (date_as_int(filters.date_to) or 0)) & (snap.dates > 0)
    return mask
