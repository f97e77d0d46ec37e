"""The real server: `citeqa serve` under uvicorn, spoken to over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SEED_FILE, free_port, require_shared, wait_for_http

pytestmark = pytest.mark.slow


def test_served_api_answers_with_verified_citations(tmp_path: Path) -> None:
    require_shared()
    port = free_port()
    env = {**os.environ, "CITEQA_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "citeqa.cli",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/healthz", timeout=120, proc=proc)
        with httpx.Client(base_url=base, timeout=60) as http:
            upload = http.post(
                "/v1/documents",
                files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))],
            )
            assert upload.status_code == 200 and upload.json()["added"] == 1
            assert http.get("/readyz").json()["chunks"] > 0
            answer = http.post(
                "/v1/query",
                json={"question": "Is the use of ATACMS inside Russia still prohibited?"},
            ).json()
            assert answer["abstained"] is False
            text = http.get(f"/v1/documents/{SEED_FILE.name}").json()["text"]
            for citation in answer["citations"]:
                assert text[citation["start"] : citation["end"]] == citation["quote"]
            bad = http.post("/v1/query", json={"question": ""})
            assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert b"Traceback" not in stderr
