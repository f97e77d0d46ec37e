"""Against a real `chroma run` server, as several stateless API processes would use it."""

from __future__ import annotations

import pytest

from citeqa.errors import StoreUnavailable
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import Source, sources_from_paths
from tests.conftest import (
    SEED_DIR,
    ChromaServer,
    CountingEmbedder,
    assert_citations_verify,
    require_shared,
)

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_two_engines_share_one_chroma_server(
    chroma_server: ChromaServer, embedder: CountingEmbedder
) -> None:
    require_shared()
    settings = Settings(chroma_url=chroma_server.url)
    writer = Engine(settings, embedder=embedder)
    reader = Engine(settings, embedder=embedder)  # its own BM25 index, like another process
    assert reader.query.ask("Is the use of ATACMS inside Russia still prohibited?").abstained

    writer.documents.ingest(sources_from_paths([SEED_DIR]))
    answer = reader.query.ask("Is the use of ATACMS inside Russia still prohibited?")
    assert not answer.abstained and any("ATACMS" in c.quote for c in answer.citations)
    assert_citations_verify(reader, answer)

    writer.documents.ingest(
        [Source(doc_id="z", source="t", name="z.md", text="The zeppelin hangar opened in 1931.")]
    )
    assert reader.query.ask("When did the zeppelin hangar open?").citations[0].doc_id == "z"
    writer.documents.delete_document("z")
    assert reader.query.ask("When did the zeppelin hangar open?").abstained
    # the reader built its BM25 index once, then caught up from the writer's change records
    assert (reader.components.lexical.rebuilds, reader.components.lexical.updates) == (1, 3)


def test_store_down_is_a_clear_error_and_recovers(
    chroma_server: ChromaServer, embedder: CountingEmbedder
) -> None:
    engine = Engine(Settings(chroma_url=chroma_server.url), embedder=embedder)
    engine.documents.ingest(
        [Source(doc_id="z", source="t", name="z.md", text="The zeppelin hangar opened in 1931.")]
    )
    chroma_server.stop()
    with pytest.raises(StoreUnavailable):
        engine.health.readiness()
    with pytest.raises(StoreUnavailable):
        engine.query.ask("When did the zeppelin hangar open?")
    chroma_server.start()  # same port, same data
    assert engine.health.readiness()["chunks"] == 1
    assert not engine.query.ask("When did the zeppelin hangar open?").abstained
