"""Cost against store size: stores of N chunks served over HTTP, with a stand-in embedder.

    python -m benchmarks.scale --sizes 10000,100000 [--questions 100] [--out FILE]

For each size it builds a store from the benchmark corpus (bench.make_corpus: eval-set
paragraphs drawn with a fixed seed) through the real ingest pipeline, with a fast
deterministic stand-in for MiniLM of the same dimension (feature hashing of the words).
The store, BM25, fusion, the answer model and citation verification are the real ones;
only the neural model is skipped, so the figures are the costs that grow with N. Each
step runs in its own process (the embedded store belongs to one process at a time):

1. ingest the corpus (context only: not a target);
2. build the BM25 index once, timing it and its memory (RSS growth);
3. serve the store with real uvicorn (warmed up as `citeqa serve` is: model, BM25
   index, segmenter) and ask the benchmark's questions one at a time over HTTP (p50,
   p95 after a warm-up round), then post a new document and time until a query cites
   it, twice (`first_visible_after_ingest_s`, `visible_after_ingest_s`); the server's
   peak RSS, and the store's size on disk.

Writes a JSON list, one object per size, and a PNG of each cost against N beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.bench import REPO, make_corpus, peak_rss_mb, percentile, questions
from citeqa.components.hashing import HashEmbedder


def _engine(store: Path) -> Any:
    from citeqa.settings import Settings
    from ingest.engine import Engine

    return Engine(Settings(data_dir=store), embedder=HashEmbedder())


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def step_ingest(store: Path, docs: Path) -> dict[str, Any]:
    from ingest.pipeline import sources_from_paths

    engine = _engine(store)
    started = time.perf_counter()
    result = engine.documents.ingest(sources_from_paths([docs]))
    return {"chunks": result.chunks, "ingest_s": round(time.perf_counter() - started, 1)}


def step_bm25(store: Path) -> dict[str, Any]:
    engine = _engine(store)
    engine.components.store.changes.generation()
    before = _rss_mb()
    started = time.perf_counter()
    snapshot = engine.components.lexical.snapshot()
    seconds = time.perf_counter() - started
    return {
        "bm25_chunks": snapshot.size,
        "bm25_build_s": round(seconds, 2),
        "bm25_rss_mb": round(_rss_mb() - before, 1),
    }


def step_serve(store: Path, port: int) -> None:
    import uvicorn

    from api.app import create_app
    from citeqa.settings import Settings

    app = create_app(Settings(data_dir=store), embedder=HashEmbedder())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _step(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"step {args[0]} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure_http(store: Path, asked: list[str], start_timeout: float) -> dict[str, Any]:
    import httpx

    port = _free_port()
    launched = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scale", "serve", str(store), str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the benchmark server did not start")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    start_s = time.perf_counter() - launched
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with httpx.Client(base_url=url, timeout=600) as http:
            started = time.perf_counter()
            http.post("/v1/query", json={"question": asked[0]}).raise_for_status()
            first_s = time.perf_counter() - started  # cold caches; BM25 was built at start-up
            for question in asked:  # warm-up round: query vectors, caches
                http.post("/v1/query", json={"question": question}).raise_for_status()
            times = []
            for question in asked:
                started = time.perf_counter()
                http.post("/v1/query", json={"question": question}).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            cold = _time_to_visible(http, "first")  # the first upload loads the segmenter
            posted_s, visible_s = _time_to_visible(http, "second")
        return {
            "p50_ms": round(percentile(times, 50), 1),
            "p95_ms": round(percentile(times, 95), 1),
            "mean_ms": round(statistics.fmean(times), 1),
            "server_start_s": round(start_s, 1),  # warm-up: the BM25 build included
            "first_query_s": round(first_s, 2),
            "ingest_one_s": round(posted_s, 2),
            "visible_after_ingest_s": round(visible_s, 2),
            "first_visible_after_ingest_s": round(cold[1], 2),
            "peak_rss_mb": peak_rss_mb(server.pid),
        }
    finally:
        server.terminate()
        server.wait(timeout=60)


def _time_to_visible(http: Any, name: str) -> tuple[float, float]:
    """Post one new document, then ask about it until it is cited: the seconds the post
    took, and until the answer cites it."""
    marker = f"zq{name}x{int(time.time() * 1000)}"
    document = {
        "doc_id": f"late-{marker}",
        "text": f"The {marker} valve at the east pier is opened every Thursday.",
    }
    started = time.perf_counter()
    http.post("/v1/documents", json=document).raise_for_status()
    posted_s = time.perf_counter() - started
    late = {"question": f"When is the {marker} valve opened?"}
    while True:
        answer = http.post("/v1/query", json=late).json()
        if any(c["doc_id"] == document["doc_id"] for c in answer.get("citations", [])):
            return posted_s, time.perf_counter() - started
        if time.perf_counter() - started > 600:
            raise RuntimeError("the new document never became visible")


def _disk_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)


def run_size(target: int, n_questions: int, work: Path, start_timeout: float) -> dict[str, Any]:
    """One size measured; a store already built in `work` (its ingest figures saved
    beside it) is measured again without being rebuilt (a 1M store takes over an hour);
    it then holds the two late documents each earlier measurement posted."""
    docs, store = work / f"docs-{target}", work / f"store-{target}"
    built = work / f"ingested-{target}.json"
    if store.is_dir() and built.is_file():
        result: dict[str, Any] = json.loads(built.read_text())
    else:
        shutil.rmtree(store, ignore_errors=True)
        n_docs, n_tokens = make_corpus(target, docs, 256)
        result = {"target": target, "documents": n_docs, "tokens": n_tokens}
        result.update(_step("ingest", str(store), str(docs)))
        built.write_text(json.dumps(result))
    result.update(_step("bm25", str(store)))
    result.update(measure_http(store, questions(n_questions), start_timeout))
    result["disk_mb"] = _disk_mb(store)
    return result


def plot(rows: list[dict[str, Any]], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["chunks"] for r in rows]
    panels = [
        ("query latency over HTTP (ms)", [("p50_ms", "p50"), ("p95_ms", "p95")]),
        ("BM25 build (s)", [("bm25_build_s", "full build")]),
        ("one new document visible after (s)", [("visible_after_ingest_s", "post + query")]),
        ("memory and disk (MB)", [("peak_rss_mb", "server peak RSS"), ("disk_mb", "store")]),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(16, 3.8))
    for ax, (title, series) in zip(axes, panels, strict=True):
        for key, label in series:
            ax.plot(sizes, [r[key] for r in rows], marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("chunks")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(target, dpi=110)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("ingest", "bm25", "serve"):
        step, *rest = sys.argv[1:]
        if step == "serve":
            step_serve(Path(rest[0]), int(rest[1]))
            return
        out = (
            step_ingest(Path(rest[0]), Path(rest[1]))
            if step == "ingest"
            else step_bm25(Path(rest[0]))
        )
        print(json.dumps(out))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="store sizes in chunks")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "scale.json")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="where to build (a temp dir, removed after); a folder given here is kept, and "
        "the stores built in it are reused by the next run",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=3600,
        help="seconds the server may take to start (it builds BM25 over the whole store)",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work or Path(tempfile.mkdtemp(prefix="citeqa-scale-"))
    rows = []
    try:
        for target in (int(s) for s in args.sizes.split(",")):
            rows.append(run_size(target, args.questions, work, args.start_timeout))
            print(json.dumps(rows[-1]), flush=True)
            args.out.write_text(json.dumps(rows, indent=2) + "\n")
            plot(rows, args.out.with_suffix(".png"))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
