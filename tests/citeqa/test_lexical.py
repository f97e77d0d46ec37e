"""The BM25 index: the same scores as bm25s (which it replaced), and catching up from the
store's change records gives the same index as a rebuild from the whole store."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa import lexical
from citeqa.domain import Chunk
from citeqa.settings import Settings
from citeqa.text import question_terms, terms
from ingest.engine import Engine
from ingest.pipeline import Source, sources_from_paths
from tests.conftest import REPO, CountingEmbedder

QUESTIONS = [
    "When does the ferry leave?",
    "Who may borrow items from the library?",
    "What is the fine for a late return?",
    "How long is the island trail?",
    "ferry ferry ticket",  # a repeated term counts twice
    "zeppelin",  # a term no chunk has
]


def _chunks() -> list[Chunk]:
    chunks = []
    for n, path in enumerate(sorted((REPO / "examples").glob("*"))):
        for i, para in enumerate(p for p in path.read_text().split("\n\n") if p.strip()):
            chunks.append(Chunk(f"{n}-{i}", path.name, i, para, 0, len(para), {"title": path.stem}))
    chunks.append(Chunk("empty", "x", 0, "", 0, 0, {}))  # no terms at all
    return chunks


def test_scores_equal_those_of_bm25s() -> None:
    import bm25s

    chunks = _chunks()
    snapshot = lexical.build("g", chunks)
    reference = bm25s.BM25()  # k1 1.5, b 0.75, Lucene idf: what citeqa used before
    reference.index([terms(lexical.index_text(c)) or [""] for c in chunks], show_progress=False)
    assert snapshot.index is not None
    for question in QUESTIONS * 2:  # the second time from the index's cache of gains
        wanted = question_terms(question)
        ours = snapshot.index.scores(wanted)
        known = [t for t in wanted if t in reference.vocab_dict]
        theirs = reference.get_scores(known) if known else np.zeros(len(chunks))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def _source(doc_id: str, text: str) -> Source:
    return Source(doc_id=doc_id, source="t", name=f"{doc_id}.md", text=text)


def _same_index(engine: Engine, snapshot: lexical.LexicalSnapshot) -> None:
    """The snapshot answers as a fresh build over the whole store would."""
    fresh = lexical.build(snapshot.generation, list(engine.components.store.chunks.iterate()))
    assert {c for c in snapshot.ids if c} == {c for c in fresh.ids if c}
    assert snapshot.size == fresh.size
    for question in QUESTIONS + ["Which zeppelin hangar opened?", "When does the depot close?"]:
        wanted = question_terms(question)
        ours = {c.id: s for c, s in snapshot.search(wanted, 50, None)}
        theirs = {c.id: s for c, s in fresh.search(wanted, 50, None)}
        assert ours.keys() == theirs.keys()
        for cid, score in ours.items():
            assert score == pytest.approx(theirs[cid], rel=1e-5)
        for term in wanted:
            assert snapshot.df.get(term) == fresh.df.get(term)
            assert snapshot.idf(term) == pytest.approx(fresh.idf(term))


@pytest.mark.parametrize("merge_share", [lexical.MERGE_SHARE, 0.0])
def test_changes_are_applied_without_a_rebuild_and_match_one(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, merge_share: float
) -> None:
    monkeypatch.setattr(lexical, "MERGE_SHARE", merge_share)  # 0: merge at every change
    long = " ".join(f"The ferry to pier {i} leaves at {i} o'clock." for i in range(60))
    engine.documents.ingest([_source("ferry", long), _source("depot", "The depot closes at ten.")])
    engine.components.lexical.snapshot()
    rebuilds, updates = engine.components.lexical.rebuilds, engine.components.lexical.updates
    engine.documents.ingest([_source("hangar", "The zeppelin hangar opened in 1931.")])  # added
    engine.documents.ingest(
        [_source("depot", "The depot closes at midnight on Fridays.")]
    )  # updated
    engine.documents.delete_document("ferry")  # deleted
    snapshot = engine.components.lexical.snapshot()
    assert (
        engine.components.lexical.rebuilds == rebuilds
        and engine.components.lexical.updates == updates + 1
    )
    _same_index(engine, snapshot)
    answer = engine.query.ask("When does the depot close?")
    assert answer.citations and "midnight" in answer.citations[0].quote
    engine.documents.ingest([_source("ferry", long)])  # back again, one more change
    _same_index(engine, engine.components.lexical.snapshot())
    assert engine.components.lexical.rebuilds == rebuilds


def test_a_forked_or_missing_change_record_means_a_rebuild(engine: Engine) -> None:
    engine.documents.ingest([_source("a", "The north gate opens at six.")])
    engine.components.lexical.snapshot()
    rebuilds = engine.components.lexical.rebuilds
    engine.components.store.changes.bump()  # a writer that records no change (older versions)
    engine.components.lexical.snapshot()
    assert engine.components.lexical.rebuilds == rebuilds + 1
    # two writers moving the same marker: two change records from one generation
    start = engine.components.store.changes.generation()
    first = engine.components.store.changes.bump(["a"])
    engine.components.store.collection("meta").upsert(  # a rival writer, through Chroma itself
        ids=["change:rival"],
        embeddings=[[1.0]],
        documents=['["a"]'],
        metadatas=[{"kind": "change", "prev": start, "next": "rival"}],
    )
    assert engine.components.store.changes.since(start, first) is None


def test_old_change_records_are_dropped_and_a_reader_that_old_rebuilds(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citeqa.components import store

    engine.documents.ingest([_source("a", "The north gate opens at six.")])
    engine.components.lexical.snapshot()
    rebuilds = engine.components.lexical.rebuilds
    start = engine.components.store.changes.generation()
    monkeypatch.setattr(store, "CHANGES_KEPT_S", -1.0)  # every record is already too old
    engine.documents.ingest([_source("b", "The south gate opens at seven.")])
    assert (
        engine.components.store.changes.since(start, engine.components.store.changes.generation())
        is None
    )
    assert engine.query.ask("When does the south gate open?").citations[0].doc_id == "b"
    assert engine.components.lexical.rebuilds == rebuilds + 1


def test_a_store_too_large_to_hold_answers_the_same_from_ids(
    engine: Engine, settings: Settings, embedder: CountingEmbedder
) -> None:
    """Above CITEQA_LEXICAL_HOLD_CHUNKS the snapshot keeps chunk ids only and reads the
    candidates from the store: the same answers, suggestions and catching up."""
    engine.documents.ingest(sources_from_paths([REPO / "examples"]))
    lean = Engine(settings.replace(lexical_hold_chunks=0), embedder=embedder)
    assert (
        engine.components.lexical.snapshot().holds_chunks
        and not lean.components.lexical.snapshot().holds_chunks
    )

    def compare() -> None:
        for question in QUESTIONS:
            ours, theirs = engine.query.ask(question), lean.query.ask(question)
            assert theirs.answer == ours.answer and theirs.abstained == ours.abstained
            assert [(c.doc_id, c.start, c.end) for c in theirs.citations] == [
                (c.doc_id, c.start, c.end) for c in ours.citations
            ]
        assert lean.query.suggestions(3) == engine.query.suggestions(3)

    compare()
    engine.documents.ingest([_source("gate", "The north gate of the library opens at six.")])
    compare()
    assert lean.components.lexical.updates == 1
    assert not lean.components.lexical.snapshot().holds_chunks
