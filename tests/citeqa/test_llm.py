"""The one retry layer, against a real OpenAI-protocol server through the real client."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from citeqa.components.llm import ChatLLM
from citeqa.errors import LLMTimeout, LLMUnavailable
from citeqa.generate import ANSWER_SCHEMA
from tests.conftest import LLMServer
from tests.fixtures.openai_server import SECRET, Step

MESSAGES = [{"role": "user", "content": "Say hi."}]


def make_llm(server: LLMServer, data_dir: Path, **overrides: object) -> tuple[ChatLLM, list[float]]:
    waits: list[float] = []
    return ChatLLM(server.settings(data_dir, **overrides), sleep=waits.append), waits


def _llm_count(outcome: str) -> float:
    from citeqa import metrics

    value = metrics.REGISTRY.get_sample_value("citeqa_llm_requests_total", {"outcome": outcome})
    return value or 0.0


def test_complete_returns_the_reply_and_asks_for_structured_output(
    llm_server: LLMServer, data_dir: Path
) -> None:
    llm, waits = make_llm(llm_server, data_dir)
    llm_server.state.push(Step(content="hello"))
    assert llm.complete(MESSAGES, ANSWER_SCHEMA) == "hello"
    body = llm_server.state.chat_requests[0]["body"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == ANSWER_SCHEMA
    assert body["model"] == "test-model" and body["temperature"] == 0.0
    assert waits == []


def test_429_and_500_are_retried_honouring_retry_after(
    llm_server: LLMServer, data_dir: Path
) -> None:
    llm, waits = make_llm(llm_server, data_dir, llm_max_retries=2)
    llm_server.state.push(Step(status=429, retry_after="1.5"), Step(status=500), Step(content="ok"))
    before = {o: _llm_count(o) for o in ("ok", "retried", "failed")}
    assert llm.complete(MESSAGES) == "ok"
    assert len(llm_server.state.chat_requests) == 3
    # the metrics an operator reads (/metrics): two retried attempts, one success
    assert {o: _llm_count(o) - n for o, n in before.items()} == {
        "ok": 1,
        "retried": 2,
        "failed": 0,
    }
    assert waits[0] == 1.5  # the server's Retry-After
    assert 0 < waits[1] <= 2.0  # backoff, capped by llm_retry_max_wait


def test_retries_are_bounded_and_the_error_hides_upstream_text(
    llm_server: LLMServer, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    llm, waits = make_llm(llm_server, data_dir, llm_max_retries=2)
    llm_server.state.push(*[Step(status=503) for _ in range(5)])
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LLMUnavailable) as info:
        llm.complete(MESSAGES)
    assert len(llm_server.state.chat_requests) == 3  # 1 + 2 retries, no more
    assert len(waits) == 2
    assert _llm_count("failed") >= 1
    assert SECRET not in info.value.message
    assert SECRET not in caplog.text and "test-key" not in caplog.text


def test_retry_after_beyond_the_cap_ends_retries_and_is_passed_on(
    llm_server: LLMServer, data_dir: Path
) -> None:
    llm, waits = make_llm(llm_server, data_dir, llm_retry_max_wait=2.0)
    llm_server.state.push(Step(status=429, retry_after="30"))
    with pytest.raises(LLMUnavailable) as info:
        llm.complete(MESSAGES)
    assert len(llm_server.state.chat_requests) == 1 and waits == []
    assert info.value.retry_after == 30


def test_a_refused_key_is_not_retried(llm_server: LLMServer, data_dir: Path) -> None:
    llm, _ = make_llm(llm_server, data_dir, llm_api_key="wrong")
    with pytest.raises(LLMUnavailable, match="API key") as info:
        llm.complete(MESSAGES)
    assert len(llm_server.state.chat_requests) == 1
    assert "wrong" not in info.value.message


def test_slow_replies_time_out_then_retry(llm_server: LLMServer, data_dir: Path) -> None:
    llm, _ = make_llm(llm_server, data_dir, llm_timeout=0.3, llm_max_retries=1)
    llm_server.state.push(Step(delay=1.0), Step(content="in time"))
    assert llm.complete(MESSAGES) == "in time"
    llm_server.state.push(Step(delay=1.0), Step(delay=1.0))
    with pytest.raises(LLMTimeout):
        llm.complete(MESSAGES)
    assert len(llm_server.state.chat_requests) == 4


def test_dropped_connections_are_retried(llm_server: LLMServer, data_dir: Path) -> None:
    llm, _ = make_llm(llm_server, data_dir)
    llm_server.state.push(Step(drop=True), Step(content="second try"))
    assert llm.complete(MESSAGES) == "second try"


def test_a_server_without_structured_output_is_asked_again_in_plain_text(
    llm_server: LLMServer, data_dir: Path
) -> None:
    llm, waits = make_llm(llm_server, data_dir)
    llm_server.state.supports_schema = False
    llm_server.state.push(Step(content="plain"), Step(content="again"))
    assert llm.complete(MESSAGES, ANSWER_SCHEMA) == "plain"
    first, second = (r["body"] for r in llm_server.state.chat_requests)
    assert "response_format" in first and "response_format" not in second
    assert llm.complete(MESSAGES, ANSWER_SCHEMA) == "again"  # remembered: no second 400
    assert len(llm_server.state.chat_requests) == 3 and waits == []


def test_stream_yields_deltas_and_retries_only_before_the_first(
    llm_server: LLMServer, data_dir: Path
) -> None:
    llm, _ = make_llm(llm_server, data_dir)
    llm_server.state.push(Step(status=500), Step(content="abcdefghij" * 3, chunk_size=4))
    assert "".join(llm.stream(MESSAGES)) == "abcdefghij" * 3
    llm_server.state.push(Step(content="x" * 40, chunk_size=4, drop=True))
    got: list[str] = []
    with pytest.raises(LLMUnavailable):
        for delta in llm.stream(MESSAGES):
            got.append(delta)
    assert got  # some text came, so the failure was not retried
    assert len(llm_server.state.chat_requests) == 3


def test_closing_a_stream_cancels_the_upstream_request(
    llm_server: LLMServer, data_dir: Path
) -> None:
    import time

    llm, _ = make_llm(llm_server, data_dir)
    llm_server.state.push(Step(content="y" * 400, chunk_size=4, chunk_delay=0.05))
    deltas = llm.stream(MESSAGES)
    assert next(deltas)
    deltas.close()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 5
    while llm_server.state.streams_cancelled == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert llm_server.state.streams_cancelled == 1
    assert llm_server.state.streams_finished == 0
