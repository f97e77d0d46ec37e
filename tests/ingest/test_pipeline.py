from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import Source, sources_from_paths
from tests.conftest import REPO, SHARED, CountingEmbedder, require_shared

LONG_V1 = " ".join(f"Paragraph {i} describes the aurora turbine model {i}." for i in range(120))
LONG_V2 = " ".join(f"Paragraph {i} describes the harbor crane model {i}." for i in range(40))


def text_source(doc_id: str, text: str) -> Source:
    return Source(doc_id=doc_id, source="test", name=f"{doc_id}.md", text=text)


def chunk_state(engine: Engine) -> Counter[str]:
    return Counter(engine.components.store.chunks.ids())


def test_reingest_unchanged_documents_embeds_nothing(
    engine: Engine, embedder: CountingEmbedder
) -> None:
    first = engine.documents.ingest(sources_from_paths([REPO / "examples"]))
    assert first.count("added") == 3 and first.chunks > 0
    calls_before, ids_before = embedder.calls, chunk_state(engine)
    again = engine.documents.ingest(sources_from_paths([REPO / "examples"]))
    assert again.count("skipped") == 3
    assert embedder.calls == calls_before
    assert chunk_state(engine) == ids_before


def test_changed_document_replaces_its_chunks_and_leaves_no_stale_ones(engine: Engine) -> None:
    engine.documents.ingest([text_source("doc", LONG_V1)])
    old_ids = set(engine.components.store.chunks.ids("doc"))
    report = engine.documents.ingest([text_source("doc", LONG_V2)])
    assert report.count("updated") == 1
    new_ids = set(engine.components.store.chunks.ids("doc"))
    assert new_ids and not (new_ids & old_ids)
    record = engine.components.store.documents.get("doc")
    assert record is not None and record.text == LONG_V2 and record.n_chunks == len(new_ids)
    answer = engine.query.ask("Which aurora turbine model is described?")
    assert all("aurora" not in c.quote for c in answer.citations)


def test_chunk_ids_are_deterministic_and_unique(
    engine: Engine, settings: Settings, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    engine.documents.ingest(sources_from_paths([REPO / "examples"]))
    other = Engine(settings.replace(data_dir=tmp_path / "other"), embedder=embedder)
    other.documents.ingest(sources_from_paths([REPO / "examples"]))
    ids = engine.components.store.chunks.ids()
    assert len(ids) == len(set(ids))
    assert Counter(ids) == Counter(other.components.store.chunks.ids())


def test_delete_removes_record_and_chunks(engine: Engine) -> None:
    engine.documents.ingest([text_source("a", LONG_V1), text_source("b", LONG_V2)])
    engine.documents.delete_document("a")
    assert engine.components.store.chunks.ids("a") == []
    assert engine.components.store.documents.get("a") is None
    assert engine.components.store.chunks.ids("b")
    assert all(c.doc_id != "a" for c in engine.query.ask("aurora turbine model").citations)


def test_short_documents_share_embedding_calls_and_keep_their_order(
    engine: Engine, embedder: CountingEmbedder
) -> None:
    engine.documents.ingest([text_source("kept", "The depot opens at seven.")])
    calls = embedder.calls
    sources = [
        text_source(f"note-{i:02d}", f"Locker {i} is on floor {i % 4} of the depot.")
        for i in range(40)
    ]
    # an unchanged document and a second version of one, among new ones
    sources[10:10] = [text_source("kept", "The depot opens at seven.")]
    sources.append(text_source("note-03", "Locker 3 moved to the roof."))
    report = engine.documents.ingest(sources)
    assert [d.doc_id for d in report.documents] == [s.doc_id for s in sources]
    assert report.documents[10].status == "skipped"
    assert report.count("added") == 40 and report.documents[-1].status == "updated"
    # forty new documents in one embedding call; the second version of note-03 in another
    assert embedder.calls == calls + 2
    record = engine.components.store.documents.get("note-03")
    assert record is not None and record.text == "Locker 3 moved to the roof."
    answer = engine.query.ask("Where is locker 17?")
    assert answer.citations and answer.citations[0].doc_id == "note-17"


class Failing(RuntimeError):
    pass


def test_an_error_midway_rolls_the_group_back_to_the_previous_versions(
    engine: Engine, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.documents.ingest([text_source("a", LONG_V1)])
    before_ids, before = chunk_state(engine), engine.components.store.documents.get("a")
    assert before is not None
    engine.documents.pipeline.write_batch = 1  # one embedding call per chunk
    inner, calls = embedder.embed_chunks, []

    def fail_on_the_third(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise Failing("the model broke")
        return inner(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(embedder, "embed_chunks", fail_on_the_third)
    with pytest.raises(Failing):
        engine.documents.ingest([text_source("b", LONG_V2), text_source("a", LONG_V2)])
    assert chunk_state(engine) == before_ids  # b's and a's new chunks are gone
    assert engine.components.store.documents.manifest() == {"a": (before.content_hash, "complete")}
    after = engine.components.store.documents.get("a")
    assert after is not None and after.text == LONG_V1 and after.n_chunks == before.n_chunks
    answer = engine.query.ask("Which aurora turbine model is described in paragraph 7?")
    assert answer.citations and all(c.doc_id == "a" for c in answer.citations)


def test_a_stop_request_ends_the_run_with_whole_documents_only(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from citeqa.errors import ShuttingDown
    from ingest import pipeline

    monkeypatch.setattr(pipeline, "GROUP_DOCUMENTS", 3)
    sources = [text_source(f"d{i}", f"Shelf {i} holds the {i}th atlas.") for i in range(9)]
    reported: list[str] = []

    def stop_after_the_first_group(outcome: object) -> None:
        reported.append(getattr(outcome, "doc_id", ""))
        engine.documents.pipeline.stop.set()

    with pytest.raises(ShuttingDown):
        engine.documents.ingest(sources, on_document=stop_after_the_first_group)
    assert reported == ["d0", "d1", "d2"]
    manifest = engine.components.store.documents.manifest()
    assert sorted(manifest) == ["d0", "d1", "d2"]
    assert all(status == "complete" for _hash, status in manifest.values())
    assert {c.doc_id for c in engine.components.store.chunks.iterate()} == {"d0", "d1", "d2"}


def test_unsupported_and_empty_files_are_reported_not_fatal(engine: Engine, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\nThe ferry leaves at noon.")
    (folder / "tool.exe").write_bytes(b"MZ")
    (folder / "empty.txt").write_text("   ")
    (folder / ".hidden.md").write_text("never ingested")
    report = engine.documents.ingest(sources_from_paths([folder]))
    by_id = {d.doc_id: d for d in report.documents}
    assert by_id["good.md"].status == "added"
    assert by_id["tool.exe"].status == "unsupported"
    assert by_id["empty.txt"].status == "failed"
    assert ".hidden.md" not in by_id


def test_binary_file_named_as_text_is_refused_before_any_embedding(
    engine: Engine, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.md").write_text("# Good\nThe ferry leaves at noon.")
    (folder / "noise.txt").write_bytes(random.Random(3).randbytes(200_000))
    report = engine.documents.ingest(sources_from_paths([folder]))
    by_id = {d.doc_id: d for d in report.documents}
    assert by_id["noise.txt"].status == "unsupported"
    assert "not text" in (by_id["noise.txt"].message or "")
    assert embedder.texts == by_id["good.md"].chunks  # the noise was never embedded
    assert engine.components.store.documents.get("noise.txt") is None


def test_unreadable_file_fails_alone(engine: Engine, tmp_path: Path) -> None:
    def refuse() -> bytes:
        raise PermissionError("denied")

    sources = [
        Source(doc_id="locked.txt", source="x", name="locked.txt", read=refuse),
        text_source("fine", "The ferry leaves at noon."),
    ]
    report = engine.documents.ingest(sources)
    assert [d.status for d in report.documents] == ["failed", "added"]
    assert report.documents[0].message == "could not read locked.txt"


def test_doc_ids_are_paths_relative_to_the_ingested_root(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "root" / "sub").mkdir(parents=True)
    (tmp_path / "root" / "sub" / "n.md").write_text("Nested note about lighthouses.")
    engine.documents.ingest(sources_from_paths([tmp_path / "root"]))
    assert engine.components.store.documents.get("sub/n.md") is not None


@pytest.mark.slow
@pytest.mark.parametrize("die_at", [1, 2, 3, 4, 5])
def test_ingest_killed_mid_run_then_rerun_gives_the_exact_chunk_set(
    die_at: int, tmp_path: Path, embedder: CountingEmbedder
) -> None:
    require_shared()
    docs = tmp_path / "docs"
    docs.mkdir()
    for path in sorted((SHARED / "evalsets" / "realtimeqa_cnn_2022" / "docs").glob("*.txt"))[:6]:
        shutil.copy(path, docs / path.name)
    settings = Settings(data_dir=tmp_path / "crashed", chunk_size=64, chunk_overlap=8)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fixtures.kill_ingest",
            str(settings.store.data_dir),
            str(docs),
            str(die_at),
        ],
        cwd=REPO,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]

    resumed = Engine(settings, embedder=embedder)
    partial = resumed.components.store.documents.manifest()
    assert any(status == "pending" for _hash, status in partial.values())
    resumed.documents.ingest(sources_from_paths([docs]))

    clean = Engine(settings.replace(data_dir=tmp_path / "clean"), embedder=embedder)
    clean.documents.ingest(sources_from_paths([docs]))
    assert chunk_state(resumed) == chunk_state(clean)
    manifest = resumed.components.store.documents.manifest()
    assert all(status == "complete" for _hash, status in manifest.values())
    for doc_id in manifest:  # no orphans: every chunk belongs to a complete record
        record = resumed.components.store.documents.get(doc_id, with_text=False)
        assert (
            record is not None
            and len(resumed.components.store.chunks.ids(doc_id)) == record.n_chunks
        )


def test_pdf_answers_cite_their_page(engine: Engine, tmp_path: Path) -> None:
    from tests.ingest.test_loaders import _pdf

    path = tmp_path / "manual.pdf"
    path.write_bytes(
        _pdf(["The pump must be primed before use.", "The filter is replaced every six months."])
    )
    report = engine.documents.ingest(sources_from_paths([path]))
    assert report.count("added") == 1
    answer = engine.query.ask("How often is the filter replaced?")
    assert not answer.abstained
    citation = answer.citations[0]
    assert citation.page == 2 and "six months" in citation.quote
    record = engine.components.store.documents.get("manual.pdf")
    assert record is not None and record.text is not None
    assert record.text[citation.start : citation.end] == citation.quote
