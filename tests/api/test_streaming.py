"""POST /v1/query/stream (and /v1/query with "stream": true), and follow-up questions,
over the real app."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from citeqa.contract import Answer
from tests.api.conftest import LiveServer
from tests.api.sse import events, parse
from tests.conftest import LLMServer
from tests.fixtures.openai_server import SECRET, Step

QUESTION = "Who conveyed the decision to Ukraine?"


def verified(http: httpx.Client | TestClient, answer: dict) -> None:
    for citation in answer["citations"]:
        doc = http.get(f"/v1/documents/{citation['doc_id']}").json()
        assert doc["text"][citation["start"] : citation["end"]] == citation["quote"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/query", {"stream": True}),
        ("/v1/query/stream", {}),
        ("/v1/query/stream", {"stream": False}),
    ],
)
def test_offline_stream_sends_deltas_citations_then_the_same_answer(
    seeded: TestClient, path: str, body: dict
) -> None:
    response = seeded.post(path, json={"question": QUESTION, **body})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = parse(response.text)
    kinds = [kind for kind, _ in frames]
    assert kinds[-2:] == ["citations", "done"] and set(kinds[:-2]) == {"delta"}
    done = Answer.model_validate(frames[-1][1])
    plain = seeded.post("/v1/query", json={"question": QUESTION}).json()
    assert done.answer == plain["answer"] == " ".join(d["text"] for k, d in frames if k == "delta")
    assert [c.model_dump() for c in done.citations] == plain["citations"]
    assert frames[-2][1]["citations"] == plain["citations"]
    verified(seeded, plain)


def test_stream_input_errors_are_plain_json_errors(seeded: TestClient) -> None:
    for path, body in (("/v1/query", {"stream": True}), ("/v1/query/stream", {})):
        response = seeded.post(path, json={"question": "  ", **body})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_input"
    response = seeded.post(
        "/v1/query", json={"question": "q", "history": [{"role": "robot", "content": "x"}]}
    )
    assert response.status_code == 422 and "history" in response.json()["error"]["message"]


def test_llm_stream_over_http(live_llm: LiveServer, llm_server: LLMServer) -> None:
    with httpx.Client(base_url=live_llm.url, timeout=60) as http:
        with http.stream("POST", "/v1/query", json={"question": QUESTION, "stream": True}) as r:
            assert r.status_code == 200
            frames = list(events(r.iter_lines()))
        assert [k for k, _ in frames] == ["delta", "citations", "done"]
        done = frames[-1][1]
        assert done["backend"] == "llm:test-model" and "General Cavoli" in done["answer"]
        verified(http, done)
    assert llm_server.state.chat_requests[-1]["body"]["stream"] is True


def test_llm_down_before_any_output_is_a_503_without_upstream_text(
    live_llm: LiveServer, llm_server: LLMServer
) -> None:
    llm_server.state.push(*[Step(status=503, retry_after="1") for _ in range(3)])
    response = httpx.post(
        f"{live_llm.url}/v1/query", json={"question": QUESTION, "stream": True}, timeout=60
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "llm_unavailable"
    assert response.headers["retry-after"] == "1"
    assert SECRET not in response.text
    assert len(llm_server.state.chat_requests) == 3  # 1 + CITEQA_LLM_MAX_RETRIES (2)


def two_sentences(prompt: str) -> str:
    return json.dumps(
        {
            "sentences": [
                {
                    "text": "General Cavoli conveyed it.",
                    "citations": [{"passage": 1, "quote": "General Cavoli"}],
                },
                {"text": "x" * 400, "citations": [{"passage": 1, "quote": "General"}]},
            ],
            "abstain": False,
        }
    )


def test_llm_failure_midway_ends_the_stream_with_an_error_event(
    live_llm: LiveServer, llm_server: LLMServer
) -> None:
    llm_server.state.push(Step(content=two_sentences(""), chunk_size=20, drop=True))
    with httpx.Client(base_url=live_llm.url, timeout=60) as http:
        with http.stream("POST", "/v1/query", json={"question": QUESTION, "stream": True}) as r:
            frames = list(events(r.iter_lines()))
    kinds = [k for k, _ in frames]
    assert kinds[0] == "delta" and kinds[-1] == "error" and "done" not in kinds
    assert frames[-1][1]["error"]["code"] == "llm_unavailable"
    assert SECRET not in json.dumps(frames)


def test_a_client_that_disconnects_cancels_the_upstream_request(
    live_llm: LiveServer, llm_server: LLMServer
) -> None:
    # A long, slow reply: the first sentence arrives in about a second, the rest would
    # take about 20 s more.
    slow = two_sentences("").replace("x" * 400, "x" * 2400)
    llm_server.state.push(Step(content=slow, chunk_size=40, chunk_delay=0.3))
    with httpx.Client(base_url=live_llm.url, timeout=60) as http:
        with http.stream("POST", "/v1/query", json={"question": QUESTION, "stream": True}) as r:
            first = next(events(r.iter_lines()))
            assert first[0] == "delta"
    deadline = time.monotonic() + 20
    while llm_server.state.streams_cancelled == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert llm_server.state.streams_cancelled == 1
    assert llm_server.state.streams_finished == 0


def test_follow_up_questions_over_the_api(live_offline: LiveServer) -> None:
    history = [{"role": "user", "content": "What remains prohibited?"}]
    body = httpx.post(
        f"{live_offline.url}/v1/query",
        json={"question": "What about near Kyiv?", "history": history},
        timeout=60,
    ).json()
    assert body["standalone_question"] == "What about near Kyiv? remains prohibited"


@pytest.mark.parametrize("turns", [51])
def test_history_is_bounded(seeded: TestClient, turns: int, tmp_path: Path) -> None:
    history = [{"role": "user", "content": "q"}] * turns
    response = seeded.post("/v1/query", json={"question": "q", "history": history})
    assert response.status_code == 422
