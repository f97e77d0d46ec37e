"""Stores built before part 5 keep answering, say that a reindex is due, and `citeqa
reindex` (or POST /v1/reindex) rebuilds them, resumably.

tests/data/stores/v1-pre-part5.tar.gz is a real store written by main at d5d0834 (the
last commit before part 5): examples/, a three-page PDF with a running header and page
footers made by reportlab, and a hard-wrapped notice (see tests/data/stores/README.md).
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citeqa.domain import STORE_FORMAT
from citeqa.settings import Settings
from ingest.engine import Engine
from tests.api.conftest import make_app
from tests.conftest import CountingEmbedder, assert_citations_verify

# stores built with the real model (tests/data/stores), read with it (not in make test-fast)
pytestmark = pytest.mark.model

V1_STORE = Path(__file__).resolve().parents[1] / "data" / "stores" / "v1-pre-part5.tar.gz"
DOCUMENTS = 5


@pytest.fixture
def old_store(data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(V1_STORE) as archive:
        archive.extractall(data_dir, filter="data")
    return data_dir


def _quote(engine: Engine, question: str) -> str:
    answer = engine.query.ask(question)
    assert not answer.abstained, question
    assert_citations_verify(engine, answer)
    return answer.citations[0].quote


def test_an_old_store_answers_says_a_reindex_is_due_and_is_rebuilt(
    old_store: Path, settings: Settings, embedder: CountingEmbedder
) -> None:
    engine = Engine(settings, embedder=embedder)
    status = engine.health.readiness()
    assert status["format"] == STORE_FORMAT
    assert status["reindex_due"] is True and status["documents_to_reindex"] == DOCUMENTS
    old_ids = set(engine.components.store.chunks.ids())
    # the old chunks still answer, with citations that verify (a line fragment here)
    before = _quote(engine, "When will the water supply to the north terrace be interrupted?")
    assert before.endswith("interrupted on")

    done, remaining = engine.documents.reindex(limit=2)
    assert done.count("updated") == 2 and remaining == DOCUMENTS - 2
    assert engine.health.readiness()["documents_to_reindex"] == DOCUMENTS - 2
    done, remaining = engine.documents.reindex()  # resumes with the rest
    assert done.count("updated") == DOCUMENTS - 2 and remaining == 0
    status = engine.health.readiness()
    assert status["reindex_due"] is False and status["documents_to_reindex"] == 0

    new_ids = set(engine.components.store.chunks.ids())
    assert not new_ids & old_ids  # every old chunk was replaced
    after = _quote(engine, "When will the water supply to the north terrace be interrupted?")
    assert " ".join(after.split()).endswith("while the main valve is replaced.")
    # the PDF's page furniture is no unit any more, and pages are kept
    pdf = engine.query.ask("Who must board vessels longer than forty metres?")
    assert "Harbour Rules" not in pdf.citations[0].quote
    assert pdf.citations[0].page == 1
    # an unchanged re-ingest after the reindex embeds nothing
    calls = embedder.calls
    assert engine.documents.reindex()[0].documents == [] and embedder.calls == calls


def test_reindex_survives_being_stopped_midway(
    old_store: Path, settings: Settings, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "GROUP_DOCUMENTS", 1)  # each document its own write
    engine = Engine(settings, embedder=embedder)

    class Stop(Exception):
        pass

    def stop_after_first(outcome: object) -> None:
        raise Stop

    with pytest.raises(Stop):
        engine.documents.reindex(on_document=stop_after_first)
    fresh = Engine(settings, embedder=embedder)  # as after a restart
    assert fresh.health.readiness()["documents_to_reindex"] == DOCUMENTS - 1
    _done, remaining = fresh.documents.reindex()
    assert remaining == 0
    answer = fresh.query.ask("How many items can a member borrow at a time?")
    assert_citations_verify(fresh, answer)


def test_reindex_through_the_api_needs_an_admin_key(
    old_store: Path, settings: Settings, minilm: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CITEQA_API_KEYS", "reader-key-1:read,admin-key-1:admin")
    keyed = Settings(data_dir=settings.store.data_dir)
    with TestClient(make_app(keyed, minilm)) as client:  # type: ignore[arg-type]
        read = {"Authorization": "Bearer reader-key-1"}
        admin = {"Authorization": "Bearer admin-key-1"}
        ready = client.get("/readyz", headers=read).json()
        assert ready["reindex_due"] is True and ready["documents_to_reindex"] == DOCUMENTS
        assert client.post("/v1/reindex", headers=read).status_code == 403
        for limit in (0, True, "3"):
            bad = client.post("/v1/reindex", headers=admin, json={"limit": limit})
            assert bad.status_code == 422 and "error" in bad.json()
        first = client.post("/v1/reindex", headers=admin, json={"limit": 3})
        assert first.status_code == 200, first.text
        assert first.json()["reindexed"] == 3 and first.json()["remaining"] == DOCUMENTS - 3
        rest = client.post("/v1/reindex", headers=admin).json()
        assert rest["remaining"] == 0 and rest["format"] == STORE_FORMAT
        assert client.get("/readyz", headers=read).json()["reindex_due"] is False
