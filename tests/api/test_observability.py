"""What an operator sees: X-Request-ID on every response and in every log line, JSON
log lines, questions kept out of the logs, and Prometheus metrics scraped after real
requests."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import SEED_FILE, citeqa_serve, require_shared

ANSWERED = "Who conveyed the decision to Ukraine?"
ABSTAINED = "Who is the mayor of Kharkiv?"


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_request_id_is_kept_or_made_and_returned(seeded: TestClient) -> None:
    given = seeded.get("/healthz", headers={"X-Request-ID": "trace-42.a"})
    assert given.headers["x-request-id"] == "trace-42.a"
    made = seeded.get("/healthz").headers["x-request-id"]
    assert len(made) == 32 and made != seeded.get("/healthz").headers["x-request-id"]
    for insane in ("a b", "x" * 200, "id;drop"):
        replaced = seeded.get("/healthz", headers={"X-Request-ID": insane})
        assert replaced.headers["x-request-id"] != insane
        assert len(replaced.headers["x-request-id"]) == 32
    # errors carry it too, the JSON error contract unchanged
    missing = seeded.get("/v1/documents/nope.md", headers={"X-Request-ID": "r-404"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "r-404"
    assert missing.json()["error"]["code"] == "document_not_found"


def test_metrics_count_real_requests(seeded: TestClient) -> None:
    before = scrape(seeded)
    assert seeded.post("/v1/query", json={"question": ANSWERED}).json()["abstained"] is False
    assert seeded.post("/v1/query", json={"question": ABSTAINED}).json()["abstained"] is True
    assert seeded.post("/v1/query", json={"question": ""}).status_code == 422
    assert seeded.get("/v1/documents/nope.md").status_code == 404
    added = seeded.post(
        "/v1/documents", json={"doc_id": "ferry.md", "text": "The ferry leaves at noon."}
    )
    assert added.status_code == 200
    broken = seeded.post("/v1/documents", files=[("files", ("broken.pdf", b"%PDF-1.4 no"))])
    assert broken.status_code == 422
    after = scrape(seeded)

    requests = "citeqa_http_requests_total"
    assert delta(before, after, requests, route="/v1/query", method="POST", status="200") == 2
    assert delta(before, after, requests, route="/v1/query", method="POST", status="422") == 1
    assert (
        delta(
            before, after, requests, route="/v1/documents/{doc_id:path}", method="GET", status="404"
        )
        == 1
    )
    assert delta(before, after, "citeqa_http_request_seconds_count", route="/v1/query") == 3
    answers = "citeqa_answers_total"
    assert delta(before, after, answers, backend="extractive", abstained="false") == 1
    assert delta(before, after, answers, backend="extractive", abstained="true") == 1
    assert delta(before, after, "citeqa_retrieve_seconds_count") == 2
    assert delta(before, after, "citeqa_answer_seconds_sum") > 0
    assert delta(before, after, "citeqa_ingest_documents_total", status="added") == 1
    assert delta(before, after, "citeqa_ingest_documents_total", status="failed") == 1
    assert delta(before, after, "citeqa_ingest_chunks_total") >= 1
    # the families an operator alerts on are declared even before they count anything
    text = seeded.get("/metrics").text
    for family in ("citeqa_llm_requests", "citeqa_store_errors", "citeqa_ingest_documents"):
        assert f"# HELP {family}" in text


@pytest.mark.slow
@pytest.mark.parametrize("log_questions", [False, True])
def test_json_logs_carry_the_request_id_and_keep_questions_out(
    tmp_path: Path, log_questions: bool
) -> None:
    require_shared()
    env = {
        **os.environ,
        "CITEQA_DATA_DIR": str(tmp_path / "data"),
        "CITEQA_LOG_FORMAT": "json",
        "CITEQA_LOG_QUESTIONS": "1" if log_questions else "0",
    }
    log = tmp_path / "server.log"
    with citeqa_serve(env, log=log) as base, httpx.Client(base_url=base, timeout=60) as http:
        upload = http.post(
            "/v1/documents",
            files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))],
            headers={"X-Request-ID": "upload-1"},
        )
        assert upload.status_code == 200
        answer = http.post(
            "/v1/query", json={"question": ANSWERED}, headers={"X-Request-ID": "ask-1"}
        )
        assert answer.status_code == 200 and answer.headers["x-request-id"] == "ask-1"
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert entries and all(
        {"time", "level", "logger", "message", "request_id"} <= set(e) for e in entries
    )
    ask = [e for e in entries if e["request_id"] == "ask-1"]
    # uvicorn's access line and citeqa's answer line both carry the request's id
    assert any(e["logger"] == "uvicorn.access" and "/v1/query" in e["message"] for e in ask)
    answered = [e for e in ask if e["message"].startswith("answer:")]
    assert len(answered) == 1 and "abstained=False" in answered[0]["message"]
    assert any(e["request_id"] == "upload-1" for e in entries)
    assert (ANSWERED in log.read_text(encoding="utf-8")) is log_questions
