"""`make bench-scale` at a small size: every step runs (ingest with the stand-in
embedder, BM25 build, real uvicorn, a late document found) and the report has the
fields BENCHMARKS.md reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from citeqa.components.hashing import HashEmbedder
from tests.conftest import REPO, require_shared

FIELDS = (
    "chunks",
    "p50_ms",
    "p95_ms",
    "bm25_build_s",
    "visible_after_ingest_s",
    "first_visible_after_ingest_s",
    "peak_rss_mb",
    "disk_mb",
)


def test_the_stand_in_embedder_is_deterministic_and_of_the_model_dimension() -> None:
    embedder = HashEmbedder()
    first = np.array(embedder.embed_query("The ferry leaves at nine."))
    again = np.array(HashEmbedder().embed_query("The ferry leaves at nine."))
    other = np.array(embedder.embed_query("Quarterly tax returns are due in April."))
    assert first.shape == (384,) and abs(float(first @ first) - 1.0) < 1e-5
    assert np.array_equal(first, again) and float(first @ other) < 0.9
    vectors, units = embedder.embed_chunks(["One. Two three."], [[(0, 4), (5, 15)]])
    assert len(vectors[0]) == 384 and units[0] is not None and units[0].shape == (2, 384)


@pytest.mark.slow
def test_bench_scale_runs_at_a_small_size(tmp_path: Path) -> None:
    require_shared()
    out = tmp_path / "scale.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.scale",
            "--sizes",
            "200,400",
            "--questions",
            "5",
            "--out",
            str(out),
        ],
        cwd=REPO,
        check=True,
        timeout=900,
        capture_output=True,
    )
    rows = json.loads(out.read_text())
    assert [r["target"] for r in rows] == [200, 400]
    for row in rows:
        assert all(isinstance(row[f], int | float) and row[f] > 0 for f in FIELDS), row
        assert row["bm25_chunks"] == row["chunks"]
        assert row["server_start_s"] > 0
    assert rows[1]["chunks"] > rows[0]["chunks"]
    assert out.with_suffix(".png").stat().st_size > 10_000


@pytest.mark.slow
def test_bench_scale_reuses_a_store_built_in_a_kept_work_folder(tmp_path: Path) -> None:
    require_shared()
    work = tmp_path / "work"

    def run(out: Path) -> dict[str, object]:
        subprocess.run(
            [sys.executable, "-m", "benchmarks.scale", "--sizes", "200", "--questions", "3"]
            + ["--work", str(work), "--out", str(out)],
            cwd=REPO,
            check=True,
            timeout=900,
            capture_output=True,
        )
        return dict(json.loads(out.read_text())[0])

    first = run(tmp_path / "first.json")
    store = work / "store-200" / "chroma.sqlite3"
    built_at = store.stat().st_mtime_ns
    (work / "docs-200").rename(tmp_path / "docs-moved")  # a rebuild would need them
    second = run(tmp_path / "second.json")
    assert second["ingest_s"] == first["ingest_s"]  # the saved figure, not a new ingest
    assert second["chunks"] == first["chunks"] == first["bm25_chunks"]
    # the store as the first run left it: with its two late documents, a chunk each
    assert second["bm25_chunks"] == first["chunks"] + 2
    # measured again: the server posted its two late documents into the reused store
    assert store.stat().st_mtime_ns > built_at
    assert second["p50_ms"] > 0
