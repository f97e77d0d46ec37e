"""Faults of the services citeqa depends on, seen through the real API over HTTP."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.api.conftest import LiveServer, make_app
from tests.conftest import ChromaServer, LLMServer
from tests.fixtures.openai_server import SECRET, Step

pytestmark = pytest.mark.slow

DOC = {"doc_id": "ferry.md", "text": "The ferry to Gull Island leaves at noon every day."}
QUESTION = {"question": "When does the ferry leave?"}


def open_sockets() -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except OSError:
            pass
    return count


def test_llm_faults_are_bounded_clean_and_leak_nothing(
    llm_server: LLMServer, data_dir: Path, minilm: LocalMiniLMEmbedder
) -> None:
    import threading

    settings = llm_server.settings(
        data_dir, llm_max_retries=1, llm_timeout=0.4, llm_retry_max_wait=0.3
    )
    faults = [
        lambda: Step(status=429, retry_after="0.1"),
        lambda: Step(status=500),
        lambda: Step(delay=1.5),  # hangs past the timeout
        lambda: Step(drop=True),
    ]
    with (
        LiveServer(make_app(settings, minilm)) as live,
        httpx.Client(base_url=live.url, timeout=30) as http,
    ):
        assert http.post("/v1/documents", json=DOC).status_code == 200
        assert http.post("/v1/query", json=QUESTION).status_code == 200  # warm, then measure
        threads, sockets = threading.active_count(), open_sockets()
        before = len(llm_server.state.chat_requests)
        slowest = 0.0
        for i in range(40):  # ten of each fault: a leak of one per fault would show
            fault = faults[i % len(faults)]
            llm_server.state.push(fault(), fault())  # the first try and the one retry
            started = time.monotonic()
            response = http.post("/v1/query", json=QUESTION)
            slowest = max(slowest, time.monotonic() - started)
            assert response.status_code in (503, 504), response.text
            body = response.json()
            assert set(body) == {"error"} and body["error"]["code"].startswith("llm_")
            assert SECRET not in response.text
            assert "retry-after" in response.headers
        attempts = len(llm_server.state.chat_requests) - before
        time.sleep(1.0)  # let hung upstream requests finish on the server side
        assert attempts == 80  # exactly 1 + CITEQA_LLM_MAX_RETRIES per question
        assert slowest < 3.0  # bounded: 2 attempts x 0.4 s timeout + waits + answer
        assert threading.active_count() <= threads + 4
        assert open_sockets() <= sockets + 8


def _store_errors(http: httpx.Client) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(http.get("/metrics").text)
        for sample in family.samples
        if sample.name == "citeqa_store_errors_total"
    )


def test_chroma_server_down_and_back_through_the_api(
    chroma_server: ChromaServer, data_dir: Path, minilm: LocalMiniLMEmbedder
) -> None:
    settings = Settings(data_dir=data_dir, chroma_url=chroma_server.url)
    with (
        LiveServer(make_app(settings, minilm)) as live,
        httpx.Client(base_url=live.url, timeout=60) as http,
    ):
        assert http.post("/v1/documents", json=DOC).status_code == 200
        assert http.get("/readyz").status_code == 200
        errors_before = _store_errors(http)
        chroma_server.stop()
        ready = http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["error"]["code"] == "store_unavailable"
        down = http.post("/v1/query", json=QUESTION)
        assert down.status_code == 503 and down.headers["retry-after"]
        assert down.json()["error"]["message"] == "the document store is not reachable"
        # what an operator sees: the failed store calls counted at /metrics
        assert _store_errors(http) >= errors_before + 2
        chroma_server.start()  # same port, same data; citeqa is not restarted
        assert http.get("/readyz").status_code == 200
        answer = http.post("/v1/query", json=QUESTION).json()
        assert not answer["abstained"] and "noon" in answer["answer"]
