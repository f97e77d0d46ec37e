"""The reader's cost: query latency with CITEQA_READER=off (no cross-encoder), verify
(the default: the verifier reads the best units) and on (the reader reads the pool),
against a standard "retrieve 20, rerank with the same cross-encoder"
pipeline (a plain LlamaIndex VectorStoreIndex retriever over the same embedding model,
and a node postprocessor that scores the 20 passages with the same ONNX session), over
the same corpus and questions, measured in one run; and the memory the reader adds.

    python -m benchmarks.reader --docs build/corpora/licences \\
        --questions evals/sets/licences.jsonl --out benchmarks/reader.json

Latencies are of the whole answer for citeqa (retrieval, scoring, composition, citation
checks) and of retrieval plus reranking for the peer; each question is asked once to
warm the caches of neither side (the reader's pair cache is cleared between passes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_child(docs: Path, questions: Path, reader: str) -> float:
    """The peak RSS of a process that ingests the documents and answers every question
    with CITEQA_READER at this value, one process each, so none's memory counts for
    another."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.reader", "--docs", str(docs), "--questions",
         str(questions), "--rss-child", reader],
        cwd=REPO, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(done.stdout.strip().splitlines()[-1])


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
    }


def _peer(docs: Path, questions: list[str], reader: Any, embedder: Any) -> list[float]:
    """LlamaIndex: SentenceSplitter (256/32), VectorStoreIndex in memory over the same
    MiniLM, top 20, reranked by the cross-encoder, top 6 kept."""
    from llama_index.core import Settings as LISettings
    from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.postprocessor.types import BaseNodePostprocessor
    from llama_index.core.schema import NodeWithScore, QueryBundle

    class SameEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query)  # type: ignore[no-any-return]

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_documents([text])[0]  # type: ignore[no-any-return]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_documents(texts)  # type: ignore[no-any-return]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    class CrossEncoderRerank(BaseNodePostprocessor):
        top_n: int = 6

        def _postprocess_nodes(
            self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
        ) -> list[NodeWithScore]:
            assert query_bundle is not None
            logits = reader.score(query_bundle.query_str, [n.node.get_content() for n in nodes])
            for node, logit in zip(nodes, logits, strict=True):
                node.score = float(logit)
            return sorted(nodes, key=lambda n: -(n.score or 0.0))[: self.top_n]

    LISettings.embed_model = SameEmbedding()
    documents = SimpleDirectoryReader(str(docs), recursive=True).load_data()
    index = VectorStoreIndex.from_documents(
        documents, transformations=[SentenceSplitter(chunk_size=256, chunk_overlap=32)]
    )
    retriever = index.as_retriever(similarity_top_k=20)
    rerank = CrossEncoderRerank()
    times = []
    for question in questions:
        started = time.perf_counter()
        rerank.postprocess_nodes(retriever.retrieve(question), query_str=question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _citeqa(engine: Any, questions: list[str]) -> list[float]:
    times = []
    for question in questions:
        started = time.perf_counter()
        engine.query.ask(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=Path, required=True)
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "reader.json")
    parser.add_argument("--rss-child", choices=["on", "off", "verify"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    import citeqa  # noqa: F401  (offline environment)
    from citeqa.components.reader import CrossEncoderReader
    from citeqa.components.verifier import built
    from citeqa.settings import Settings
    from evals.run import fresh_engine
    from evals.sets import load_set

    questions = [r.question for r in load_set(args.questions)]
    if args.rss_child:
        with fresh_engine(Settings(reader=args.rss_child), args.docs) as engine:
            engine.health.warm_up()
            _citeqa(engine, questions)
        print(round(_peak_rss_mb(), 1))
        return 0
    with fresh_engine(Settings(reader="off"), args.docs) as off:
        embedder = off.components.embedder  # the peer embeds with the same model object
        off.health.warm_up()
        _citeqa(off, questions[:3])
        off_times = _citeqa(off, questions)
        reader = CrossEncoderReader()
        reader.warm_up()
        peer_times = _peer(args.docs, questions, reader, embedder)
    times = {}
    for mode in ("verify", "on"):
        with fresh_engine(Settings(reader=mode), args.docs) as engine:
            engine.health.warm_up()
            _citeqa(engine, questions[:3])
            if engine.query.scorer.reader is not None:  # a cold pair cache, as for the peer
                engine.query.scorer.reader = CrossEncoderReader()
            verification = engine.query.answerer.verification
            if verification is not None:
                verification.verifier = CrossEncoderReader(str(built()))
            times[mode] = _citeqa(engine, questions)
    peak = {mode: _rss_child(args.docs, args.questions, mode) for mode in ("off", "verify", "on")}
    result = {
        "docs": str(args.docs),
        "questions": len(questions),
        "reader_on": _percentiles(times["on"]),
        "reader_verify": _percentiles(times["verify"]),
        "reader_off": _percentiles(off_times),
        "peer_retrieve20_rerank": _percentiles(peer_times),
        "ratio_on_to_peer_p50": round(
            statistics.median(times["on"]) / statistics.median(peer_times), 3
        ),
        "ratio_verify_to_peer_p50": round(
            statistics.median(times["verify"]) / statistics.median(peer_times), 3
        ),
        "peak_rss_mb": {f"reader_{mode}": value for mode, value in peak.items()},
        "reader_adds_mb": round(peak["on"] - peak["off"], 1),
        "verifier_adds_mb": round(peak["verify"] - peak["off"], 1),
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
