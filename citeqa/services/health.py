"""The health service: whether the engine can answer now (`readiness`, for /readyz and
`citeqa` commands), the store's format, and warming up what a first request would
otherwise pay for."""

from __future__ import annotations

from typing import Any

from citeqa import wordnet
from citeqa.components.container import Components
from citeqa.domain import STORE_FORMAT
from citeqa.segment import segment
from citeqa.services.query import QueryService
from citeqa.tokens import count_tokens


class HealthService:
    def __init__(self, components: Components, query: QueryService) -> None:
        self.components = components
        self.query = query
        self._format_status: tuple[str, dict[str, Any]] | None = None

    def verifier_name(self) -> str:
        """The verifier's name, or 'off'."""
        verified = self.query.answerer.verification
        return verified.verifier.name if verified is not None else "off"

    def format_status(self) -> dict[str, Any]:
        """The store's format and whether documents await `citeqa reindex` (read again
        when the store changes)."""
        store = self.components.store
        generation = store.changes.generation()
        cached = self._format_status
        if cached is None or cached[0] != generation:
            count = len(store.documents.outdated())
            cached = (
                generation,
                {"format": STORE_FORMAT, "documents_to_reindex": count, "reindex_due": count > 0},
            )
            self._format_status = cached
        return dict(cached[1])

    def models(self) -> dict[str, str]:
        """What answers run: the embedder, the reader ('off' when none), CITEQA_READER's
        mode (verify, on or off), the verifier and the backend (/readyz and
        /v1/models)."""
        parts = self.components
        return {
            "embedder": parts.embedder.name,
            "reader": parts.reader.name if parts.reader is not None else "off",
            "reader_mode": parts.settings.reader,
            "verifier": self.verifier_name(),
            "backend": self.query.backend_name,
        }

    def readiness(self) -> dict[str, Any]:
        parts = self.components
        parts.store.ping()
        return {
            "store": "chroma-server" if parts.settings.store.chroma_url else "chroma-embedded",
            **self.models(),
            "chunks": parts.store.chunks.count(),
            **self.format_status(),
        }

    def warm_up(self) -> None:
        """Load what the first query would otherwise pay for: the model, its batched
        path (sentence scoring encodes a batch), and the BM25 index; and what the first
        upload would: the sentence segmenter and the token counter (seconds to load)."""
        parts = self.components
        segment("Warm up. A second sentence, about 3.5 km long.")
        count_tokens("warm up")
        parts.embedder.embed_query("warm up")
        parts.embedder.embed_documents(
            ["A short sentence.", "Another, somewhat longer sentence here."]
        )
        if parts.reader is not None:
            parts.reader.score("warm up", ["A short passage to read.", "Another one."])
        verification = self.query.answerer.verification
        if verification is not None:
            verification.verifier.score("warm up", ["A short passage to read."])
        parts.lexical.snapshot()
        wordnet.related("warm")  # maps the WordNet files
