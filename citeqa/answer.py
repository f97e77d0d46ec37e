"""Offline extractive answers: the retrieved sentences that best support the question.

Each candidate sentence gets a support score in [0, 1]:

    support = w * dense + (1 - w) * coverage

- dense: cosine similarity of the question's MiniLM vector and the sentence's, which was
  pooled from the chunk's token states at ingest and stored with it (citeqa.sentences),
  so answering runs no model; chunks stored without sentence vectors have their
  sentences embedded here instead (cached);
- coverage: the share of the question's terms, weighted by their BM25 idf over the whole
  store, that occur in the sentence. A question whose specific terms ("mayor") appear
  nowhere in the documents gets low coverage even when the sentence is on topic, which
  is what dense similarity alone cannot see.

The answer is the best sentence plus those within `relative_cutoff` of it; when the best
support is under `min_support` the answerer abstains. `w`, `min_support` and the cutoff
are settings, calibrated on the gold eval sets (`citeqa eval --calibrate`).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from citeqa.components.embedder import Embedder
from citeqa.retrieve import Passage, Retrieval
from citeqa.segment import unit_spans
from citeqa.settings import AnswerSettings
from citeqa.text import terms


@dataclass
class Candidate:
    passage: Passage
    start: int  # offsets into the document text
    end: int
    text: str
    dense: float
    coverage: float
    support: float = 0.0


class _VectorCache:
    def __init__(self, size: int = 20000) -> None:
        self._size = size
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def lookup(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        with self._lock:
            return [self._items.get(t) for t in texts]

    def store(self, texts: Sequence[str], vectors: Sequence[np.ndarray]) -> None:
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._items[text] = vector
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@functools.lru_cache(maxsize=20000)
def _term_set(sentence: str) -> frozenset[str]:
    """A sentence's terms; passages recur across questions, so they are kept."""
    return frozenset(terms(sentence))


def support_of(dense: float, coverage: float, dense_weight: float) -> float:
    return dense_weight * dense + (1.0 - dense_weight) * coverage


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, embedder: Embedder, settings: AnswerSettings) -> None:
        self._embedder = embedder
        self.settings = settings
        self._vectors = _VectorCache()

    def candidates(self, retrieval: Retrieval) -> list[Candidate]:
        """Every sentence of the retrieved passages, scored; best first."""
        seen: set[tuple[str, int, int]] = set()
        found: list[tuple[Passage, int, int, str]] = []
        stored: list[np.ndarray | None] = []
        for passage in retrieval.passages:
            chunk = passage.chunk
            sentences = chunk.sentence_vectors()
            if sentences is not None:
                spans = sentences.spans
            else:
                spans = unit_spans(chunk.text)
            for j, (span_start, span_end) in enumerate(spans):
                start, end = chunk.start + span_start, chunk.start + span_end
                key = (chunk.doc_id, start, end)
                if key in seen:
                    continue
                seen.add(key)
                found.append((passage, start, end, chunk.text[span_start:span_end]))
                stored.append(sentences.vectors[j] if sentences is not None else None)
        if not found:
            return []
        dense = self._dense_scores(retrieval.query_vector, [f[3] for f in found], stored)
        weights = {t: retrieval.lexical.idf(t) for t in set(retrieval.question_terms)}
        total = sum(weights.values())
        result = []
        for (passage, start, end, text), cosine in zip(found, dense, strict=True):
            if total > 0:
                present = _term_set(text)
                coverage = sum(w for t, w in weights.items() if t in present) / total
            else:  # a question of stop words only: nothing to weigh, trust similarity
                coverage = max(float(cosine), 0.0)
            result.append(
                Candidate(
                    passage,
                    start,
                    end,
                    text,
                    float(cosine),
                    coverage,
                    support_of(float(cosine), coverage, self.settings.dense_weight),
                )
            )
        result.sort(key=lambda c: (-c.support, c.passage.chunk.doc_id, c.start))
        return result

    def select(self, candidates: list[Candidate]) -> list[Candidate]:
        """The sentences that make the answer, in reading order; [] means abstain."""
        if not candidates or candidates[0].support < self.settings.min_support:
            return []
        best = candidates[0].support
        floor = max(self.settings.min_support, self.settings.relative_cutoff * best)
        chosen = [c for c in candidates if c.support >= floor][: self.settings.max_sentences]
        doc_order = {c.passage.chunk.doc_id: i for i, c in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda c: (doc_order[c.passage.chunk.doc_id], c.start))

    def _dense_scores(
        self,
        query_vector: Sequence[float],
        texts: list[str],
        stored: list[np.ndarray | None],
    ) -> np.ndarray:
        """Cosine of the question with each sentence: from the vectors stored at ingest,
        or, for chunks without them, by embedding the sentences now (cached)."""
        vectors = list(stored)
        todo = [i for i, v in enumerate(vectors) if v is None]
        if todo:
            cached = self._vectors.lookup([texts[i] for i in todo])
            missing = list(
                dict.fromkeys(texts[i] for i, v in zip(todo, cached, strict=True) if v is None)
            )
            fresh: dict[str, np.ndarray] = {}
            if missing:
                embedded = [
                    np.asarray(v, dtype=np.float32) for v in self._embedder.embed_documents(missing)
                ]
                self._vectors.store(missing, embedded)
                fresh = dict(zip(missing, embedded, strict=True))
            for i, v in zip(todo, cached, strict=True):
                vectors[i] = v if v is not None else fresh[texts[i]]
        matrix = np.vstack([v for v in vectors if v is not None])
        return matrix @ np.asarray(query_vector, dtype=np.float32)
