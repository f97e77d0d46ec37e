from __future__ import annotations

import pytest

from citeqa.components.store import ChromaStore
from citeqa.errors import EmbedderMismatch
from citeqa.settings import Settings
from ingest.engine import Engine


@pytest.mark.model  # names the real model
def test_opening_a_store_with_another_embedder_is_a_clear_error(
    engine: Engine, settings: Settings
) -> None:
    with pytest.raises(EmbedderMismatch, match="all-MiniLM-L6-v2"):
        ChromaStore(settings, "openai:text-embedding-3-small", 1536)


def test_collection_prefix_separates_stores(engine: Engine, settings: Settings) -> None:
    other = ChromaStore(settings.replace(collection_prefix="other"), "x", 3)
    assert other.chunks.count() == 0


def test_completing_a_record_rewrites_its_metadata_and_keeps_its_text(engine: Engine) -> None:
    from citeqa.domain import DocumentRecord

    record = DocumentRecord(
        doc_id="memo",
        title="Memo",
        source="memo.txt",
        content_hash="h1",
        status="pending",
        n_chunks=2,
        text="The memo text, stored once.",
        extra={"team": "ops"},
    )
    engine.components.store.documents.put([record])
    done = DocumentRecord(**{**record.__dict__, "status": "complete", "text": None})
    done.ingested_at = "2026-11-25T12:00:00+00:00"
    engine.components.store.documents.update_metadata([done])
    stored = engine.components.store.documents.get("memo")
    assert stored is not None
    assert stored.text == "The memo text, stored once."
    assert (stored.status, stored.ingested_at, stored.extra) == (
        "complete",
        "2026-11-25T12:00:00+00:00",
        {"team": "ops"},
    )
