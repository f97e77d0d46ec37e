"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion.

Dense retrieval finds paraphrases; stemmed BM25 (over each passage with its document's
title and heading path) finds rare names and exact terms that MiniLM misses. Both go
`depth` deep and RRF merges them into the candidate pool. A retriever returns candidates
and scores no answers: reranking them is the query pipeline's next step (citeqa.query).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, TypeVar

from citeqa.components.embedder import Embedder
from citeqa.components.store import ChunkSource
from citeqa.domain import Chunk, Passage, Retrieval
from citeqa.filters import Filters
from citeqa.lexical import LexicalIndex, LexicalSnapshot
from citeqa.scope import named_documents
from citeqa.text import question_terms

K = TypeVar("K", bound=Hashable)
RRF_K = 60  # the constant from Cormack et al. (2009); damps the weight of top ranks


def rrf(*rankings: Iterable[K]) -> dict[K, float]:
    """Reciprocal rank fusion: each key's sum, over the rankings that hold it, of
    1 / (RRF_K + its rank there), ranks counted from 1."""
    fused: dict[K, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
    return fused


class Retriever:
    def __init__(
        self,
        store: ChunkSource,
        embedder: Embedder,
        lexical: LexicalIndex,
        rerank_depth: int = 15,
        scope: bool = True,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._lexical = lexical
        self.rerank_depth = rerank_depth
        self.scope = scope

    def depth(self, top_k: int) -> int:
        return max(top_k * 4, self.rerank_depth, 20)

    def retrieve(self, question: str, top_k: int, filters: Filters | None = None) -> Retrieval:
        """The fused candidate pool (RRF order, at most max(top_k, rerank_depth)
        passages), with the question's terms and vector and the BM25 statistics seen."""
        depth = self.depth(top_k)
        wanted = question_terms(question)
        snapshot = self._lexical.snapshot()
        scope = self._scope(question, filters, snapshot)
        if scope is not None:
            filters = (filters or Filters()).model_copy(update={"doc_id": scope})
        vector = self._embedder.embed_query(question)
        where = filters.chroma_where() if filters else None
        dense = self._dense(snapshot, vector, depth, where)
        lexical = snapshot.search(wanted, depth, filters)

        scores = rrf([c.id for c, _s in dense], [c.id for c, _s in lexical])
        fused: dict[str, Passage] = {}
        for rank, (chunk, _score) in enumerate(dense, start=1):
            fused[chunk.id] = Passage(chunk, scores[chunk.id], rank, None)
        for rank, (chunk, score) in enumerate(lexical, start=1):
            passage = fused.get(chunk.id)
            if passage is None:
                fused[chunk.id] = Passage(chunk, scores[chunk.id], None, rank, score)
            else:
                passage.lexical_rank = rank
                passage.bm25 = score
        # RRF scores tie often (dense rank r alone against lexical rank r alone); ties go
        # by place in the documents, not by chunk id: an id hashes the document's source
        # path, so the same files stored from another folder would be ranked otherwise
        ranked = sorted(fused.values(), key=lambda p: (-p.score, p.chunk.doc_id, p.chunk.index))
        ranked = ranked[: max(top_k, self.rerank_depth)]
        for rank, passage in enumerate(ranked, start=1):
            passage.fused_rank = rank
        return Retrieval(wanted, vector, ranked, snapshot, scope=scope)

    def _scope(
        self, question: str, filters: Filters | None, snapshot: LexicalSnapshot
    ) -> list[str] | None:
        """The documents the question names by name and version (citeqa.scope), sorted,
        unless scoping is off or the caller chose the documents (a doc_id filter); None:
        all."""
        if not self.scope or (filters is not None and filters.doc_ids() is not None):
            return None
        named = named_documents(question, snapshot.name_index)
        if named is None or len(named) == len(snapshot.names):
            return None
        return sorted(named)

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
        nearest = self._store.chunks.nearest_ids(vector, depth, where)
        known = {cid: snapshot.chunk(cid) for cid, _ in nearest}
        newer = [cid for cid, chunk in known.items() if chunk is None]
        fetched = self._store.chunks.get(newer) if newer else {}
        dense = []
        for cid, similarity in nearest:
            chunk = known[cid] or fetched.get(cid)
            if chunk is not None:
                dense.append((chunk, similarity))
        return dense
