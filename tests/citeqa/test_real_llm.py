"""The LLM path against a real OpenAI-compatible server (llama.cpp, Ollama, vLLM, OpenAI),
run only when CITEQA_TEST_LLM_BASE_URL is set, e.g.

    CITEQA_TEST_LLM_BASE_URL=http://127.0.0.1:8080/v1 CITEQA_TEST_LLM_MODEL=qwen2.5-7b \\
        .venv/bin/python -m pytest tests/citeqa/test_real_llm.py

(CITEQA_TEST_LLM_API_KEY for hosted ones). A real model may answer or abstain; whatever it
does, no citation may fail verification."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from citeqa.components.embedder import Embedder
from citeqa.contract import Turn
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from tests.conftest import SEED_DIR, assert_citations_verify, require_shared

URL = os.environ.get("CITEQA_TEST_LLM_BASE_URL")
pytestmark = pytest.mark.skipif(not URL, reason="CITEQA_TEST_LLM_BASE_URL is not set")


@pytest.fixture
def real_engine(data_dir: Path, embedder: Embedder) -> Engine:
    require_shared()
    settings = Settings(
        data_dir=data_dir,
        llm_base_url=URL,
        llm_model=os.environ.get("CITEQA_TEST_LLM_MODEL", "gpt-4o-mini"),
        llm_api_key=os.environ.get("CITEQA_TEST_LLM_API_KEY", "not-needed"),
        llm_response_format=os.environ.get("CITEQA_TEST_LLM_RESPONSE_FORMAT", "json_schema"),
    )
    engine = Engine(settings, embedder=embedder)
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    return engine


@pytest.mark.parametrize(
    "question",
    ["What remains prohibited?", "Who conveyed the decision to Ukraine?", "Who is the mayor?"],
)
def test_real_model_answers_only_with_verified_citations(
    real_engine: Engine, question: str
) -> None:
    answer = real_engine.query.ask(question)
    assert answer.backend.startswith("llm:")
    assert answer.abstained == (not answer.citations)
    assert_citations_verify(real_engine, answer)


def test_real_model_streams_and_condenses(real_engine: Engine) -> None:
    history = [Turn(role="user", content="What remains prohibited?")]
    events = list(real_engine.query.ask_stream("What about near Kyiv?", history=history))
    done = events[-1].answer  # type: ignore[attr-defined]
    assert done.standalone_question and done.standalone_question != "What about near Kyiv?"
    assert_citations_verify(real_engine, done)
