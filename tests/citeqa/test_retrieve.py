from __future__ import annotations

from citeqa.engine import Engine
from citeqa.filters import Filters
from ingest.pipeline import Source, sources_from_paths
from tests.conftest import REPO, SEED_DIR, require_shared


def test_hybrid_retrieval_ranks_the_atacms_passage_first(seed_engine: Engine) -> None:
    retrieval = seed_engine.retriever.retrieve("What remains prohibited for Ukraine?", 3)
    assert "ATACMS" in retrieval.passages[0].chunk.text
    assert retrieval.passages[0].lexical_rank == 1


def test_filters_restrict_dense_and_bm25_alike(engine: Engine) -> None:
    require_shared()
    engine.ingest(sources_from_paths([SEED_DIR, REPO / "examples"]))
    question = "What is prohibited or not allowed?"
    only_garden = Filters(doc_id="riverside-community-garden.html")
    passages = engine.retriever.retrieve(question, 10, only_garden).passages
    assert passages and {p.chunk.doc_id for p in passages} == {"riverside-community-garden.html"}

    dated_2025 = Filters(date_from="2025-01-01", date_to="2025-12-31")
    docs = {p.chunk.doc_id for p in engine.retriever.retrieve(question, 20, dated_2025).passages}
    assert docs == {"harbor-library-handbook.md", "bike-share-faq.txt"}  # the garden is undated

    seed_day = Filters(date_from="2024-05-30", date_to="2024-05-30")
    answer = engine.ask("Is the use of ATACMS inside Russia still prohibited?", filters=seed_day)
    assert answer.citations and all(c.date == "2024-05-30" for c in answer.citations)


def test_bm25_follows_ingest_and_delete_without_restart(engine: Engine) -> None:
    question = "Which zeppelin hangar opened?"
    assert engine.ask(question).abstained
    engine.ingest(
        [
            Source(
                doc_id="z",
                source="t",
                name="z.md",
                text="The zeppelin hangar opened in 1931 near the river.",
            )
        ]
    )
    answer = engine.ask(question)
    assert not answer.abstained and answer.citations[0].doc_id == "z"
    engine.delete_document("z")
    assert engine.ask(question).abstained
    assert engine.lexical.rebuilds >= 3
