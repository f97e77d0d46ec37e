"""Property test of ingest as a state machine: add, update, delete, re-ingest, and
crash-then-resume in any order. After every step the store equals a simple model, and
every answer's citations verify; at the end of each run the same invariants are
re-checked on the store reopened in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from citeqa.components.embedder import Embedder, LocalMiniLMEmbedder
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import Source
from tests.conftest import REPO
from tests.fixtures.store_snapshot import snapshot

pytestmark = pytest.mark.slow

DOC_IDS = ["alpha.md", "beta.txt", "gamma.md"]
SENTENCES = [
    "The ferry to Gull Island leaves at nine every morning.",
    "The lighthouse opens to visitors on weekends only.",
    "Tickets cost six euros and bicycles travel free.",
    "The island trail is four kilometres long.",
    "The pier cafe closes at dusk in winter.",
    "Swimming is allowed only at the north beach.",
]
texts = st.lists(st.sampled_from(SENTENCES), min_size=1, max_size=5).map(" ".join)


class Crash(RuntimeError):
    pass


class CrashingEmbedder:
    """The real model, failing on the n-th batch once armed (a crash mid-ingest)."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.fail_at: int | None = None

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self._inner.embed_documents(texts)

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        if self.fail_at is not None:
            self.fail_at -= 1
            if self.fail_at <= 0:
                self.fail_at = None
                raise Crash("crashed mid-ingest")
        return self._inner.embed_chunks(texts, spans)

    def embed_query(self, text: str) -> list[float]:
        return self._inner.embed_query(text)


def make_machine(model: LocalMiniLMEmbedder) -> type[RuleBasedStateMachine]:
    class IngestMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.dir = Path(tempfile.mkdtemp(prefix="citeqa-sm-"))
            # small chunks, so documents span several chunks and batches
            self.settings = Settings(
                data_dir=self.dir, chunk_size=32, chunk_overlap=4, embed_batch_size=1
            )
            self.embedder = CrashingEmbedder(model)
            self.engine = Engine(self.settings, embedder=self.embedder)
            self.engine.documents.pipeline.write_batch = 2  # several batches per document
            self.model: dict[str, str] = {}

        def _ingest(self, doc_id: str, text: str) -> str:
            source = Source(doc_id=doc_id, source=f"test/{doc_id}", name=doc_id, text=text)
            return self.engine.documents.ingest([source]).documents[0].status

        @rule(doc_id=st.sampled_from(DOC_IDS), text=texts)
        def add_or_update(self, doc_id: str, text: str) -> None:
            status = self._ingest(doc_id, text)
            expected = "skipped" if self.model.get(doc_id) == text else None
            assert expected is None or status == expected
            self.model[doc_id] = text

        @rule(doc_id=st.sampled_from(DOC_IDS))
        def reingest_unchanged(self, doc_id: str) -> None:
            if doc_id in self.model:
                assert self._ingest(doc_id, self.model[doc_id]) == "skipped"

        @rule(doc_id=st.sampled_from(DOC_IDS))
        def delete(self, doc_id: str) -> None:
            from citeqa.errors import DocumentNotFound

            if doc_id in self.model:
                self.engine.documents.delete_document(doc_id)
                del self.model[doc_id]
            else:
                with pytest.raises(DocumentNotFound):
                    self.engine.documents.delete_document(doc_id)

        @rule(doc_id=st.sampled_from(DOC_IDS), text=texts, at=st.integers(1, 3))
        def crash_then_resume(self, doc_id: str, text: str, at: int) -> None:
            self.embedder.fail_at = at
            try:
                self._ingest(doc_id, text)
            except Crash:
                pass
            self.embedder.fail_at = None
            self._ingest(doc_id, text)  # the resume
            self.model[doc_id] = text

        @invariant()
        def store_equals_model(self) -> None:
            check_snapshot(self.engine_snapshot(), self.model)

        @invariant()
        def answers_cite_verified_text(self) -> None:
            if not self.model:
                return
            answer = self.engine.query.ask("When does the ferry leave?")
            for c in answer.citations:
                assert self.model[c.doc_id][c.start : c.end] == c.quote

        def engine_snapshot(self) -> dict:
            return snapshot(self.engine.components.store)

        def teardown(self) -> None:
            reopened = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.fixtures.store_snapshot",
                    str(self.dir),
                    self.embedder.name,
                    str(self.embedder.dimension),
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert reopened.returncode == 0, reopened.stderr[-2000:]
            check_snapshot(json.loads(reopened.stdout), self.model)

    return IngestMachine


def check_snapshot(snapshot: dict, model: dict[str, str]) -> None:
    documents = snapshot["documents"]
    chunks: list[str] = snapshot["chunks"]
    assert len(chunks) == len(set(chunks)), "duplicate chunk ids"
    assert set(documents) == set(model), "the store's documents differ from the model"
    for doc_id, doc in documents.items():
        assert doc["status"] == "complete"
        assert doc["text"] == model[doc_id]
    by_doc: dict[str, str] = snapshot["by_doc"]
    assert set(by_doc) == set(chunks), "a chunk belongs to no document in the manifest"
    for doc_id, doc in documents.items():
        assert sum(1 for d in by_doc.values() if d == doc_id) == doc["n_chunks"]


def test_ingest_state_machine(minilm: LocalMiniLMEmbedder) -> None:
    run_state_machine_as_test(
        make_machine(minilm),
        settings=settings(
            max_examples=6,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
