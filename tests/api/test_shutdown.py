"""Stopping `citeqa serve` (SIGTERM) while an upload is being ingested: the server exits
within 10 s, the upload is answered 503 `shutting_down`, and the store holds whole
documents only."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from ingest.engine import Engine
from tests.api.conftest import log_document, log_upload, start_serve

pytestmark = pytest.mark.slow


def _serve_logs(tmp_path: Path) -> tuple[Path, dict[str, str], subprocess.Popen[bytes], str]:
    """A real server on an empty store, and forty long documents to send it."""
    store = tmp_path / "store"
    texts = {f"log-{n:02d}.txt": log_document(n, 450) for n in range(40)}
    proc, url = start_serve({**os.environ, "CITEQA_DATA_DIR": str(store)})
    return store, texts, proc, url


def _stop_within_10_s(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server: it must exit within 10 s, with no traceback."""
    try:
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        took = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
        _, stderr = proc.communicate(timeout=30)
    assert took < 10, f"the server took {took:.1f} s to stop"
    assert b"Traceback" not in stderr, stderr.decode()[-3000:]


def _until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 240
    while not done():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_sigterm_during_an_upload_stops_the_server_and_keeps_whole_documents(
    tmp_path: Path, minilm: LocalMiniLMEmbedder
) -> None:
    store, texts, proc, url = _serve_logs(tmp_path)
    answered: list[httpx.Response | Exception] = []

    def upload() -> None:
        try:
            answered.append(httpx.post(f"{url}/v1/documents", files=log_upload(texts), timeout=300))
        except httpx.HTTPError as exc:
            answered.append(exc)

    uploader = threading.Thread(target=upload)
    try:
        uploader.start()
        _until(
            lambda: (
                httpx.get(f"{url}/v1/documents", timeout=10).json()["total"] > 0
                or not uploader.is_alive()
            ),
            "no document was stored",
        )
        assert uploader.is_alive(), "the upload finished before the stop: make it longer"
    finally:
        _stop_within_10_s(proc)
    uploader.join(timeout=30)
    (response,) = answered
    assert isinstance(response, httpx.Response), response
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "shutting_down"
    assert_whole_documents(Engine(Settings(data_dir=store), embedder=minilm), texts)


def assert_whole_documents(engine: Engine, texts: dict[str, str]) -> None:
    """Some but not all of the texts are stored, each whole and complete, and no chunk
    of any other."""
    manifest = engine.components.store.documents.manifest()
    assert 0 < len(manifest) < len(texts)  # stopped midway
    for doc_id, (_hash, status) in manifest.items():
        record = engine.components.store.documents.get(doc_id)
        assert status == "complete" and record is not None
        assert record.text == texts[doc_id]  # the whole text
        assert len(engine.components.store.chunks.ids(doc_id)) == record.n_chunks  # every chunk
    assert set(engine.components.store.chunks.ids()) == {
        cid for doc_id in manifest for cid in engine.components.store.chunks.ids(doc_id)
    }  # no chunk of a document that was rolled back


def test_sigterm_during_a_background_job_stops_the_server_and_fails_the_job(
    tmp_path: Path, minilm: LocalMiniLMEmbedder
) -> None:
    store, texts, proc, url = _serve_logs(tmp_path)
    try:
        posted = httpx.post(f"{url}/v1/documents?wait=false", files=log_upload(texts), timeout=120)
        assert posted.status_code == 202, posted.text
        job_id = posted.json()["job_id"]
        _until(
            lambda: httpx.get(f"{url}/v1/ingest-jobs/{job_id}", timeout=10).json()["processed"] > 0,
            "no document was stored",
        )
    finally:
        _stop_within_10_s(proc)
    engine = Engine(Settings(data_dir=store), embedder=minilm)
    job = engine.documents.job(job_id)
    assert job["status"] == "failed" and "server stopped" in job["message"]
    stored = engine.components.store.documents.manifest()
    assert job["report"] is not None and job["added"] == len(stored)
    assert_whole_documents(engine, texts)
