"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion,
then reranked by the answer model.

Dense retrieval finds paraphrases; stemmed BM25 (over each passage with its document's
title and heading path) finds rare names and exact terms that MiniLM misses. Both go
`depth` deep and RRF merges them. The best `rerank_depth` passages of that pool have
every unit scored by the answer model (citeqa.answering), and the passages are ranked by
their best unit: a passage holding one sentence that answers beats a passage that is
merely about the topic. Both backends answer from these passages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from citeqa.answering.scorer import Candidate, UnitScorer, rerank
from citeqa.components.embedder import Embedder
from citeqa.components.store import ChromaStore, Chunk
from citeqa.filters import Filters
from citeqa.lexical import LexicalIndex, LexicalSnapshot
from citeqa.text import question_terms

RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of top ranks


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


class Retriever:
    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        lexical: LexicalIndex,
        scorer: UnitScorer,
        rerank_depth: int = 15,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._lexical = lexical
        self.scorer = scorer
        self.rerank_depth = rerank_depth

    def depth(self, top_k: int) -> int:
        return max(top_k * 4, self.rerank_depth, 20)

    def pool(
        self, question: str, top_k: int, filters: Filters | None = None
    ) -> tuple[list[str], list[float], list[Passage], LexicalSnapshot]:
        """The question's terms and vector, and the fused candidate passages (RRF order,
        at most max(top_k, rerank_depth)), before any reranking."""
        depth = self.depth(top_k)
        wanted = question_terms(question)
        snapshot = self._lexical.snapshot()
        vector = self._embedder.embed_query(question)
        where = filters.chroma_where() if filters else None
        dense = self._dense(snapshot, vector, depth, where)
        lexical = snapshot.search(wanted, depth, filters)

        fused: dict[str, Passage] = {}
        for rank, (chunk, _score) in enumerate(dense, start=1):
            fused[chunk.id] = Passage(chunk, 1.0 / (RRF_K + rank), rank, None)
        for rank, (chunk, score) in enumerate(lexical, start=1):
            passage = fused.get(chunk.id)
            if passage is None:
                fused[chunk.id] = Passage(chunk, 1.0 / (RRF_K + rank), None, rank, score)
            else:
                passage.score += 1.0 / (RRF_K + rank)
                passage.lexical_rank = rank
                passage.bm25 = score
        ranked = sorted(fused.values(), key=lambda p: (-p.score, p.chunk.id))
        ranked = ranked[: max(top_k, self.rerank_depth)]
        for rank, passage in enumerate(ranked, start=1):
            passage.fused_rank = rank
        return wanted, vector, ranked, snapshot

    def retrieve(self, question: str, top_k: int, filters: Filters | None = None) -> Retrieval:
        wanted, vector, pool, snapshot = self.pool(question, top_k, filters)
        candidates = self.scorer.score(question, vector, pool, snapshot, self.depth(top_k))
        ranked, kept = rerank(pool, candidates, top_k)
        return Retrieval(wanted, vector, ranked, snapshot, kept)

    def _dense(
        self,
        snapshot: LexicalSnapshot,
        vector: list[float],
        depth: int,
        where: dict[str, Any] | None,
    ) -> list[tuple[Chunk, float]]:
        """The nearest chunks: ids and scores from Chroma, texts from the snapshot. A chunk
        written after the snapshot was taken is read from the store; one deleted since
        the search is left out."""
        nearest = self._store.nearest_ids(vector, depth, where)
        known = {cid: snapshot.chunk(cid) for cid, _ in nearest}
        newer = [cid for cid, chunk in known.items() if chunk is None]
        fetched = self._store.get_chunks(newer) if newer else {}
        dense = []
        for cid, similarity in nearest:
            chunk = known[cid] or fetched.get(cid)
            if chunk is not None:
                dense.append((chunk, similarity))
        return dense
