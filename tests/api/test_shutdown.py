"""Stopping `citeqa serve` (SIGTERM) while an upload is being ingested: the server exits
within 10 s, the upload is answered 503 `shutting_down`, and the store holds whole
documents only."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.engine import Engine
from citeqa.settings import Settings
from tests.conftest import REPO, free_port, wait_for_http

pytestmark = pytest.mark.slow

NOUNS = ["pump", "valve", "ledger", "ferry", "turbine", "archive", "bridge", "orchard"]
PLACES = ["the north depot", "Harbour Road", "the old mill", "bay four", "the upper yard"]


def _document(number: int, sentences: int) -> str:
    rng = random.Random(number)
    return " ".join(
        f"Entry {number}.{i}: the {rng.choice(NOUNS)} at {rng.choice(PLACES)} was checked on "
        f"day {rng.randint(1, 365)} and logged as item {rng.randint(100, 999)}."
        for i in range(sentences)
    )


def test_sigterm_during_an_upload_stops_the_server_and_keeps_whole_documents(
    tmp_path: Path, minilm: LocalMiniLMEmbedder
) -> None:
    store = tmp_path / "store"
    texts = {f"log-{n:02d}.txt": _document(n, 450) for n in range(40)}  # ~25 chunks each
    port = free_port()
    env = {**os.environ, "CITEQA_DATA_DIR": str(store)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "citeqa.cli", "serve", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    answered: list[httpx.Response | Exception] = []

    def upload() -> None:
        files = [("files", (name, text.encode(), "text/plain")) for name, text in texts.items()]
        try:
            answered.append(httpx.post(f"{url}/v1/documents", files=files, timeout=300))
        except httpx.HTTPError as exc:
            answered.append(exc)

    try:
        wait_for_http(f"{url}/healthz", timeout=180, proc=proc)
        uploader = threading.Thread(target=upload)
        uploader.start()
        deadline = time.monotonic() + 240
        while httpx.get(f"{url}/v1/documents", timeout=10).json()["total"] == 0:
            assert time.monotonic() < deadline and uploader.is_alive(), "no document was stored"
            time.sleep(0.2)
        assert uploader.is_alive(), "the upload finished before the stop: make it longer"
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        took = time.monotonic() - stopped_at
        uploader.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=30)
    assert took < 10, f"the server took {took:.1f} s to stop"
    assert b"Traceback" not in stderr, stderr.decode()[-3000:]
    (response,) = answered
    assert isinstance(response, httpx.Response), response
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "shutting_down"

    engine = Engine(Settings(data_dir=store), embedder=minilm)
    manifest = engine.store.manifest()
    assert 0 < len(manifest) < len(texts)  # stopped midway
    for doc_id, (_hash, status) in manifest.items():
        record = engine.store.get_document(doc_id)
        assert status == "complete" and record is not None
        assert record.text == texts[doc_id]  # the whole text
        assert len(engine.store.chunk_ids(doc_id)) == record.n_chunks  # every chunk
    assert set(engine.store.chunk_ids()) == {
        cid for doc_id in manifest for cid in engine.store.chunk_ids(doc_id)
    }  # no chunk of a document that was rolled back
