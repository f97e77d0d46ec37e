"""Hybrid retrieval: dense (Chroma) and BM25 candidates fused by reciprocal rank fusion.

Dense retrieval finds paraphrases; stemmed BM25 finds rare names and exact terms that
MiniLM misses. Neither is reliable alone, so both rank candidates and RRF merges them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

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


@dataclass
class Retrieval:
    question_terms: list[str]
    query_vector: list[float]
    passages: list[Passage]
    lexical: LexicalSnapshot  # the BM25 statistics this retrieval saw


class Retriever:
    def __init__(self, store: ChromaStore, embedder: Embedder, lexical: LexicalIndex) -> None:
        self._store = store
        self._embedder = embedder
        self._lexical = lexical

    def retrieve(self, question: str, top_k: int, filters: Filters | None = None) -> Retrieval:
        depth = max(top_k * 4, 20)
        wanted = question_terms(question)
        snapshot = self._lexical.snapshot()
        vector = self._embedder.embed_query(question)
        where = filters.chroma_where() if filters else None
        dense = self._dense(snapshot, vector, depth, where)
        lexical = snapshot.search(wanted, depth, filters)

        fused: dict[str, Passage] = {}
        for rank, (chunk, _score) in enumerate(dense, start=1):
            fused[chunk.id] = Passage(chunk, 1.0 / (RRF_K + rank), rank, None)
        for rank, (chunk, _score) in enumerate(lexical, start=1):
            passage = fused.get(chunk.id)
            if passage is None:
                fused[chunk.id] = Passage(chunk, 1.0 / (RRF_K + rank), None, rank)
            else:
                passage.score += 1.0 / (RRF_K + rank)
                passage.lexical_rank = rank
        ranked = sorted(fused.values(), key=lambda p: (-p.score, p.chunk.id))[:top_k]
        # The snapshot keeps no sentence vectors (memory): read those of the passages
        # answered from, in one read, when the store has them.
        lacking = [
            p.chunk.id
            for p in ranked
            if p.chunk.packed is None
            and p.chunk.sentences is None
            and p.chunk.id in snapshot.with_vectors
        ]
        if lacking:
            found = self._store.sentence_vectors(lacking)
            for passage in ranked:
                if passage.chunk.id in found:
                    passage.chunk = replace(passage.chunk, sentences=found[passage.chunk.id])
        return Retrieval(wanted, vector, ranked, snapshot)

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
