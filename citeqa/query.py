"""The query pipeline: retrieval, then the steps that rerank what it found.

`Retriever.retrieve` returns the fused candidate pool; each step takes a retrieval and
returns a narrower, better-ordered one, the way LlamaIndex's query engine applies its
node postprocessors to what the retriever returns. Both backends answer from the result:
the extractive answerer from its scored units, the LLM from its passages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from citeqa.answering.scorer import UnitScorer, rerank
from citeqa.domain import Retrieval
from citeqa.filters import Filters
from citeqa.retrieve import Retriever


class Step(Protocol):
    """One stage after retrieval: the retrieval reranked (or narrowed) for the question."""

    def __call__(self, question: str, retrieval: Retrieval, top_k: int) -> Retrieval: ...


class UnitRanking:
    """Every unit of the pool scored by the answer model (citeqa.answering), and the
    passages ranked by their best unit: a passage holding one sentence that answers beats
    a passage that is merely about the topic. Keeps top_k passages and their units."""

    def __init__(self, scorer: UnitScorer, depth: Callable[[int], int]) -> None:
        self.scorer = scorer
        self._depth = depth  # the retrieval depth for top_k (a feature of the rows)

    def __call__(self, question: str, retrieval: Retrieval, top_k: int) -> Retrieval:
        candidates = self.scorer.score(
            question,
            retrieval.query_vector,
            retrieval.passages,
            retrieval.lexical,
            self._depth(top_k),
        )
        ranked, kept = rerank(retrieval.passages, candidates, top_k)
        return Retrieval(
            retrieval.question_terms,
            retrieval.query_vector,
            ranked,
            retrieval.lexical,
            kept,
            scope=retrieval.scope,
        )


class QueryPipeline:
    def __init__(self, retriever: Retriever, steps: Sequence[Step]) -> None:
        self.retriever = retriever
        self.steps = list(steps)

    def run(self, question: str, top_k: int, filters: Filters | None = None) -> Retrieval:
        """The retrieval for a question, through every step, best passages first."""
        found = self.retriever.retrieve(question, top_k, filters)
        for step in self.steps:
            found = step(question, found, top_k)
        return found
