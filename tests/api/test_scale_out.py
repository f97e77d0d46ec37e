"""Scale-out: stateless API processes sharing one real `chroma run` server."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SEED_FILE, ChromaServer, citeqa_serve, require_shared

pytestmark = [pytest.mark.slow, pytest.mark.server]


def verify(http: httpx.Client, answer: dict) -> None:
    for c in answer["citations"]:
        text = http.get(f"/v1/documents/{c['doc_id']}").json()["text"]
        assert text[c["start"] : c["end"]] == c["quote"]


def test_two_api_processes_share_one_chroma_server(
    chroma_server: ChromaServer, tmp_path: Path
) -> None:
    require_shared()
    env = {**os.environ, "CITEQA_CHROMA_URL": chroma_server.url, "CITEQA_DATA_DIR": str(tmp_path)}
    question = {"question": "Who conveyed the decision to Ukraine?"}
    with ExitStack() as stack:
        a = stack.enter_context(citeqa_serve(env, "--log-level", "warning"))
        b = stack.enter_context(citeqa_serve(env, "--workers", "2", "--log-level", "warning"))
        with (
            httpx.Client(base_url=a, timeout=120) as via_a,
            httpx.Client(base_url=b, timeout=120) as via_b,
        ):
            assert via_b.post("/v1/query", json=question).json()["abstained"]
            upload = via_a.post(
                "/v1/documents",
                files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))],
            )
            assert upload.status_code == 200 and upload.json()["added"] == 1
            # seen by the other process (two workers) at once, BM25 included: no restart
            for _ in range(4):  # several requests, so both workers answer
                answer = via_b.post("/v1/query", json=question).json()
                assert not answer["abstained"] and "General Cavoli" in answer["answer"]
                verify(via_b, answer)
            assert via_b.delete(f"/v1/documents/{SEED_FILE.name}").status_code == 204
            assert via_a.post("/v1/query", json=question).json()["abstained"]
            assert via_a.get(f"/v1/documents/{SEED_FILE.name}").status_code == 404


def test_workers_are_refused_on_the_embedded_store(tmp_path: Path) -> None:
    env = {**os.environ, "CITEQA_DATA_DIR": str(tmp_path)}
    env.pop("CITEQA_CHROMA_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--workers", "2"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "needs a Chroma server" in proc.stderr and "CITEQA_CHROMA_URL" in proc.stderr
