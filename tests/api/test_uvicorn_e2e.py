"""The real server: `citeqa serve` under uvicorn, spoken to over HTTP."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import SEED_FILE, citeqa_serve, require_shared

pytestmark = pytest.mark.slow


def test_served_api_answers_with_verified_citations(tmp_path: Path) -> None:
    require_shared()
    env = {**os.environ, "CITEQA_DATA_DIR": str(tmp_path / "data")}
    with (
        citeqa_serve(env, "--log-level", "warning") as base,
        httpx.Client(base_url=base, timeout=60) as http,
    ):
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
