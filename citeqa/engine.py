"""The engine: one object that the CLI, the API and the evals all run.

It owns the embedder, the store, the BM25 index, the retriever and the answerer, all
built from one Settings. Nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from citeqa.answer import Candidate, ExtractiveAnswerer
from citeqa.citations import verifies
from citeqa.components.embedder import Embedder, make_embedder
from citeqa.components.store import ChromaStore, DocumentRecord
from citeqa.contract import ABSTAIN_TEXT, Answer, Citation, Timings
from citeqa.errors import DocumentNotFound, InvalidInput, QuestionTooLong
from citeqa.filters import Filters
from citeqa.lexical import LexicalIndex
from citeqa.retrieve import Retriever
from citeqa.settings import Settings
from ingest.chunking import count_tokens
from ingest.pipeline import DocumentOutcome, IngestPipeline, IngestResult, Source

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder if embedder is not None else make_embedder(settings)
        self.store = ChromaStore(settings, self.embedder.name, self.embedder.dimension)
        self.lexical = LexicalIndex(self.store)
        self.retriever = Retriever(self.store, self.embedder, self.lexical)
        self.answerer = ExtractiveAnswerer(self.embedder, settings.answer)
        self.pipeline = IngestPipeline(self.store, self.embedder, settings)

    # -- asking ---------------------------------------------------------------------------
    def validate_question(self, question: str, top_k: int | None) -> tuple[str, int]:
        question = (question or "").strip()
        if not question:
            raise InvalidInput("the question is empty")
        if count_tokens(question) > self.settings.max_question_tokens:
            raise QuestionTooLong(
                f"the question is longer than {self.settings.max_question_tokens} tokens"
            )
        k = self.settings.top_k if top_k is None else top_k
        if not 1 <= k <= self.settings.max_top_k:
            raise InvalidInput(f"top_k must be between 1 and {self.settings.max_top_k}")
        return question, k

    def ask(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> Answer:
        answer, _candidates = self.ask_with_candidates(question, top_k, filters)
        return answer

    def ask_with_candidates(
        self, question: str, top_k: int | None = None, filters: Filters | None = None
    ) -> tuple[Answer, list[Candidate]]:
        """The answer plus every scored candidate sentence (the evals calibrate on them)."""
        question, k = self.validate_question(question, top_k)
        started = time.perf_counter()
        retrieval = self.retriever.retrieve(question, k, filters)
        retrieved = time.perf_counter()
        candidates = self.answerer.candidates(retrieval)
        chosen = self.answerer.select(candidates)
        citations = self._verified_citations(chosen)
        if citations:
            text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
        else:
            text = ABSTAIN_TEXT
        done = time.perf_counter()
        answer = Answer(
            question=question,
            answer=text,
            abstained=not citations,
            citations=citations,
            backend=self.answerer.name,
            timings_ms=Timings(
                retrieve=round((retrieved - started) * 1000, 2),
                answer=round((done - retrieved) * 1000, 2),
                total=round((done - started) * 1000, 2),
            ),
        )
        return answer, candidates

    def _verified_citations(self, chosen: list[Candidate]) -> list[Citation]:
        records = self.store.get_documents([c.passage.chunk.doc_id for c in chosen])
        citations: list[Citation] = []
        for cand in chosen:
            chunk = cand.passage.chunk
            record = records.get(chunk.doc_id)
            if record is None or not verifies(record, cand.text, cand.start, cand.end):
                # The document changed or vanished since retrieval: never cite it.
                log.info("dropped a citation that no longer verifies (doc %s)", chunk.doc_id)
                continue
            citations.append(
                Citation(
                    n=len(citations) + 1,
                    doc_id=chunk.doc_id,
                    title=record.title,
                    source=record.source,
                    date=record.date,
                    quote=cand.text,
                    start=cand.start,
                    end=cand.end,
                    score=round(cand.support, 4),
                    page=chunk.metadata.get("page"),
                )
            )
        return citations

    # -- documents ------------------------------------------------------------------------
    def ingest(
        self,
        sources: Iterable[Source],
        on_document: Callable[[DocumentOutcome], None] | None = None,
        on_chunks: Callable[[int], None] | None = None,
    ) -> IngestResult:
        return self.pipeline.run(sources, on_document=on_document, on_chunks=on_chunks)

    def get_document(self, doc_id: str) -> DocumentRecord:
        record = self.store.get_document(doc_id)
        if record is None or record.status != "complete":
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return record

    def list_documents(self, limit: int = 50, offset: int = 0) -> tuple[list[DocumentRecord], int]:
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidInput("limit must be 1-1000 and offset not negative")
        return self.store.list_documents(limit, offset)

    def delete_document(self, doc_id: str) -> None:
        if not self.pipeline.delete(doc_id):
            raise DocumentNotFound(f"no document with id {doc_id!r}")

    # -- health ---------------------------------------------------------------------------
    def readiness(self) -> dict[str, Any]:
        self.store.ping()
        return {
            "store": "chroma-server" if self.settings.chroma_url else "chroma-embedded",
            "embedder": self.embedder.name,
            "chunks": self.store.count_chunks(),
        }

    def warm_up(self) -> None:
        """Load what the first query would otherwise pay for: the model, its batched
        path (sentence scoring encodes a batch), and the BM25 index."""
        self.embedder.embed_query("warm up")
        self.embedder.embed_documents(
            ["A short sentence.", "Another, somewhat longer sentence here."]
        )
        self.lexical.snapshot()
