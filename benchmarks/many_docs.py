"""Ingest of many small documents against the raw encode rate of the same texts, in one run.

    python -m benchmarks.many_docs [--docs DIR] [--rounds 3] [--out FILE]

DIR defaults to ../shared/evalsets/squad2_dev_sample500/docs (411 short documents, about
one chunk each). Each round, in this order and in one process with the model already
loaded: MiniLM on torch (sentence-transformers, batches of 32, which it sorts by length),
the ONNX runtime citeqa uses by default (length-sorted batches of 32), and `citeqa ingest`'s
pipeline into a fresh embedded store (start-up excluded). The ratios are raw seconds over
ingest seconds of the same round (higher is better; 1.0 means ingest keeps up with a bare
encode of the documents' texts); the report gives each round and the median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DOCS = REPO.parent / "shared" / "evalsets" / "squad2_dev_sample500" / "docs"


def _texts(folder: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file()]


def _raw_torch(texts: list[str]) -> float:
    from citeqa.components.embedder import _load_minilm

    model = _load_minilm()
    started = time.perf_counter()
    model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    return time.perf_counter() - started


def _raw_onnx(texts: list[str]) -> float:
    from citeqa.components import minilm_onnx

    model = minilm_onnx.load()
    started = time.perf_counter()
    model.encode(texts, 32)
    return time.perf_counter() - started


def _ingest(folder: Path) -> tuple[float, int]:
    from citeqa.settings import Settings
    from ingest.engine import Engine
    from ingest.pipeline import sources_from_paths

    with tempfile.TemporaryDirectory() as data:
        engine = Engine(Settings(data_dir=Path(data)))
        engine.components.embedder.embed_documents(["warm"])
        started = time.perf_counter()
        result = engine.documents.ingest(sources_from_paths([folder]))
        seconds = time.perf_counter() - started
        return seconds, result.chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = _texts(args.docs)
    _raw_torch(texts[:8])
    _raw_onnx(texts[:8])
    rounds: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        torch_s, onnx_s = _raw_torch(texts), _raw_onnx(texts)
        ingest_s, chunks = _ingest(args.docs)
        rounds.append(
            {
                "raw_torch_s": round(torch_s, 2),
                "raw_onnx_s": round(onnx_s, 2),
                "ingest_s": round(ingest_s, 2),
                "chunks": chunks,
                "ingest_vs_raw_torch": round(torch_s / ingest_s, 3),
                "ingest_vs_raw_onnx": round(onnx_s / ingest_s, 3),
            }
        )
        print(json.dumps(rounds[-1]), flush=True)
    report = {
        "documents": len(texts),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "median_vs_raw_torch": statistics.median(r["ingest_vs_raw_torch"] for r in rounds),
        "median_vs_raw_onnx": statistics.median(r["ingest_vs_raw_onnx"] for r in rounds),
    }
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
