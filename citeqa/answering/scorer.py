"""Scores every unit of a retrieval's candidate passages with the answer model (and, with
a reader, the reader's logit for each unit read in its context)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from citeqa.answering.features import (
    READER_FLOOR,
    PassageView,
    QuestionProfile,
    profile,
    rows,
    soft_coverages,
    tokens,
)
from citeqa.answering.model import AnswerModel
from citeqa.cache import LRU
from citeqa.components.embedder import Embedder
from citeqa.components.reader import Reader
from citeqa.domain import Candidate, Chunk, Passage
from citeqa.lexical import context_line
from citeqa.segment import display_text, segment
from citeqa.text import terms

if TYPE_CHECKING:
    from citeqa.lexical import LexicalSnapshot


@functools.lru_cache(maxsize=20_000)
def _terms_of(text: str) -> frozenset[str]:
    return frozenset(terms(text))


Context = tuple[frozenset[str], frozenset[str]]
# a chunk's units (start, end, kind), their vectors and display texts
_Decoded = tuple[list[tuple[int, int, str]], np.ndarray, list[str]]


def _context(chunk: Chunk) -> Context:
    """The terms and tokens of a passage's document context and heading path."""
    line = context_line(chunk)
    return _terms_of(line), tokens(line)


@functools.lru_cache(maxsize=4096)
def _segmented(text: str) -> tuple[tuple[int, int, str], ...]:
    """Units of a passage stored without them (older stores, other embedders)."""
    return tuple((u.start, u.end, u.kind) for u in segment(text).units)


# what the reader reads of a unit's context: the end of the unit before it
PREVIOUS_CHARS = 300
# The reader reads the units that look most like an answer before it reads anything:
# by cosine with the question plus half their soft coverage of its terms. On the gold
# sets' pools (23-130 units, median 75-125 on real documents) the top 24 by that
# measure hold the gold evidence for 0.93-1.0 of the questions whose pool holds it at
# all (2026-12-06, dumps of evals/train.py); the others get READER_FLOOR, as a unit no
# reader read. The answer model is trained with the same choice.
READ_UNITS = 24


def reader_text(context: str, previous: str | None, display: str) -> str:
    """A unit as the reader reads it: its document's title and heading path, the unit
    before it (its end), and the unit."""
    lead = (previous or "")[-PREVIOUS_CHARS:]
    return f"{context}\n{lead} {display}".strip() if lead else f"{context}\n{display}".strip()


class UnitScorer:
    def __init__(
        self, embedder: Embedder, model: AnswerModel | None, reader: Reader | None = None
    ) -> None:
        self._embedder = embedder
        self.model = model
        self.reader = reader
        # unit vectors embedded at query time, by text
        self._vectors: LRU[str, np.ndarray] = LRU(20_000)
        self._contexts: LRU[str, Context] = LRU(50_000)
        # decoded units of recently scored chunks: about 15 KB each
        self._chunks: LRU[str, _Decoded] = LRU(2_000)

    def units(
        self, question: str, vector: Sequence[float], passages: Sequence[Passage],
        snapshot: LexicalSnapshot, depth: int,
    ) -> tuple[QuestionProfile, list[Candidate], np.ndarray]:  # fmt: skip
        """Every unit of the passages with its feature row (rows align with the list)."""
        asked = profile(question, snapshot.idf, lambda term: snapshot.df.get(term, 0))
        query = np.asarray(vector, dtype=np.float32)
        views: list[PassageView] = []
        candidates: list[Candidate] = []
        read: list[str] = []  # what the reader reads of each unit, in candidate order
        for passage in passages:
            chunk = passage.chunk
            units, vectors, displays = self._units_of(chunk)
            if not units:
                continue
            cosines = vectors @ query
            previous = None
            if self.reader is not None:
                line = context_line(chunk)
                read.extend(
                    reader_text(line, displays[j - 1] if j else None, shown)
                    for j, shown in enumerate(displays)
                )
            for (start, end, kind), cos, shown in zip(units, cosines, displays, strict=True):
                candidate = Candidate(
                    passage,
                    chunk.start + start,
                    chunk.start + end,
                    chunk.text[start:end],
                    shown,
                    kind,
                    float(cos),
                    previous=previous,
                )
                if previous is not None:
                    previous.following = candidate
                candidates.append(candidate)
                previous = candidate
            heading_terms, heading_tokens = self._context(chunk)
            views.append(
                PassageView(
                    units=units,
                    displays=displays,
                    cosines=cosines,
                    heading_terms=heading_terms,
                    heading_tokens=heading_tokens,
                    fused_rank=passage.fused_rank,
                    dense_rank=passage.dense_rank,
                    lexical_rank=passage.lexical_rank,
                    bm25=passage.bm25,
                )
            )
        if self.reader is not None and read:
            logits = np.full(len(read), READER_FLOOR, dtype=np.float32)
            chosen = _worth_reading(asked, candidates)
            if chosen.size:
                logits[chosen] = self.reader.score(question, [read[i] for i in chosen])
            offset = 0
            for view in views:
                view.reader = logits[offset : offset + len(view.units)]
                offset += len(view.units)
        return asked, candidates, rows(asked, views, depth)

    def score(
        self, question: str, vector: Sequence[float], passages: Sequence[Passage],
        snapshot: LexicalSnapshot, depth: int,
    ) -> list[Candidate]:  # fmt: skip
        """The units with their probabilities, best first (ties: reading order)."""
        _asked, candidates, table = self.units(question, vector, passages, snapshot, depth)
        if self.model is not None:
            probabilities = self.model.units.probabilities(table)
        else:  # no model yet (training): similarity stands in
            probabilities = np.asarray([c.cos for c in candidates], dtype=np.float32)
        for candidate, p, row in zip(candidates, probabilities, table, strict=True):
            candidate.probability = float(p)
            candidate.features = row
        return best_first(candidates)

    def _context(self, chunk: Chunk) -> Context:
        found = self._contexts.get(chunk.id)
        if found is None:
            found = _context(chunk)
            self._contexts.put(chunk.id, found)
        return found

    def _units_of(self, chunk: Chunk) -> _Decoded:
        """A chunk's units, their vectors and display texts (kept for the most recently
        scored chunks: a chunk id names one text for good)."""
        found = self._chunks.get(chunk.id)
        if found is not None:
            return found
        stored = chunk.unit_vectors()
        if stored is not None:
            units = [(a, b, stored.kind(i)) for i, (a, b) in enumerate(stored.spans)]
            vectors = stored.vectors
            displays = [display_text(chunk.text[a:b]) for a, b, _ in units]
        else:
            units = list(_segmented(chunk.text))
            if not units:
                return [], np.zeros((0, 0), dtype=np.float32), []
            displays = [display_text(chunk.text[a:b]) for a, b, _ in units]
            vectors = self._embed(displays)
        self._chunks.put(chunk.id, (units, vectors, displays))
        return units, vectors, displays

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of units stored without them, embedded now (cached by text)."""
        known = {t: v for t in texts if (v := self._vectors.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            for text, vector in zip(missing, self._embedder.embed_documents(missing), strict=True):
                known[text] = np.asarray(vector, dtype=np.float32)
                self._vectors.put(text, known[text])
        return np.vstack([known[t] for t in texts])


def _worth_reading(asked: QuestionProfile, candidates: Sequence[Candidate]) -> np.ndarray:
    """The indexes of the READ_UNITS candidates the reader reads, in candidate order."""
    if len(candidates) <= READ_UNITS:
        return np.arange(len(candidates))
    cosines = np.asarray([c.cos for c in candidates], dtype=np.float32)
    looks = cosines + 0.5 * soft_coverages(asked, [c.display for c in candidates])
    return np.sort(np.argsort(-looks, kind="stable")[:READ_UNITS])


def best_first(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Best probability first; ties by the passage's fused rank, then reading order."""
    return sorted(candidates, key=lambda c: (-c.probability, c.passage.fused_rank, c.start))


def rerank(
    pool: Sequence[Passage], candidates: Sequence[Candidate], top_k: int
) -> tuple[list[Passage], list[Candidate]]:
    """The top_k passages by their best unit's probability (then fused rank), and the
    units of those passages, best first (candidates come best first)."""
    best: dict[int, float] = {}
    for candidate in candidates:
        key = id(candidate.passage)
        best[key] = max(best.get(key, 0.0), candidate.probability)
    for passage in pool:
        passage.best = best.get(id(passage), 0.0)
    ranked = sorted(pool, key=lambda p: (-p.best, p.fused_rank))[:top_k]
    kept = {id(p) for p in ranked}
    return ranked, [c for c in candidates if id(c.passage) in kept]
