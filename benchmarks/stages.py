"""Where ingest and query time goes, stage by stage: wall-clock timers around the real
methods (no profiler, so Python-heavy stages are not inflated).

    python -m benchmarks.stages --chunks 400 [--store DIR]

Builds the benchmark corpus at the given size (see bench.py), ingests it into a fresh
store (or a copy of --store, to see how writes grow with the store), then asks the
benchmark's questions and prints milliseconds per chunk and per query for each stage.
"""

from __future__ import annotations

import argparse
import collections
import functools
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMES: dict[str, float] = collections.defaultdict(float)  # label -> seconds


def timed(owner: Any, name: str, label: str | None = None) -> None:
    """Replace owner.name with a wrapper that adds its wall time to TIMES[label]."""
    inner: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            TIMES[label or name] += time.perf_counter() - started

    setattr(owner, name, wrapper)


def report(title: str, count: int, unit: str, total: float) -> None:
    print(f"\n{title}: {count} x {unit}, {total:.1f} s, {total / count * 1000:.1f} ms per {unit}")
    for label, seconds in sorted(TIMES.items(), key=lambda item: -item[1]):
        print(f"  {label:34s} {seconds / count * 1000:7.2f} ms per {unit}")
    TIMES.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--store", type=Path, help="a store to copy and ingest into")
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args()

    import citeqa  # noqa: F401  (offline environment)
    from benchmarks.bench import make_corpus, questions
    from citeqa import segment
    from citeqa.answering import features as answer_features
    from citeqa.answering.extractive import ExtractiveAnswerer
    from citeqa.answering.scorer import UnitScorer
    from citeqa.components.store import ChangeLog, ChromaStore
    from citeqa.lexical import LexicalSnapshot
    from citeqa.settings import Settings
    from ingest import pipeline
    from ingest.chunking import chunk_spans
    from ingest.engine import Engine

    work = Path(tempfile.mkdtemp(prefix="citeqa-stages-"))
    try:
        make_corpus(args.chunks, work / "docs", 256)
        if args.store:
            shutil.copytree(args.store, work / "store")
        engine = Engine(Settings(data_dir=work / "store"))
        engine.health.warm_up()
        sample = next((work / "docs").iterdir()).read_text(encoding="utf-8")
        chunk_spans(sample, 256, 32)  # imports the splitter and the sentence model
        segment.segment(sample)

        for name in (
            "upsert_chunks",
            "put_documents",
            "update_documents_metadata",
            "delete_stale_chunks",
        ):
            timed(ChromaStore, name, f"store.{name}")
        timed(ChangeLog, "bump", "store.changes.bump")
        timed(pipeline, "segment", "segmentation (units, blocks)")
        timed(pipeline, "chunk_passages", "passages (LlamaIndex splitter over units)")
        timed(engine.components.embedder, "embed_chunks", "model: chunks and sentence vectors")
        started = time.perf_counter()
        result = engine.documents.ingest(pipeline.sources_from_paths([work / "docs"]))
        ingest_seconds = time.perf_counter() - started
        report("ingest", sum(d.chunks for d in result.documents), "chunk", ingest_seconds)

        for name in ("nearest_ids", "get_chunks", "get_documents"):
            timed(ChromaStore, name, f"store.{name}")
        timed(ChangeLog, "generation", "store.changes.generation")
        timed(engine.components.embedder, "embed_query", "model: question")
        timed(LexicalSnapshot, "search", "BM25 search")
        timed(UnitScorer, "units", "unit features (30 passages)")
        timed(answer_features, "rows", "  of which feature rows")
        timed(UnitScorer, "score", "units model (with the features)")
        timed(ExtractiveAnswerer, "confidence", "answerability model")
        asked = questions(args.questions + 10)
        for question in asked[:10]:
            engine.query.ask(question)
        TIMES.clear()
        started = time.perf_counter()
        for question in asked[10:]:
            engine.query.ask(question)
        report("query", len(asked) - 10, "query", time.perf_counter() - started)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
