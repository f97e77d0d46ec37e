"""citeqa's OpenAI-compatible routes through third-party clients nobody here wrote: the
official `openai` package, langchain-openai, litellm (in its own venv, `make clients`)
and the official `openai` npm package under Node. Each asks plainly and streamed, and
the quotes of the "Sources" block it received are checked against the stored text."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import openai
import pytest

from tests.api.conftest import CLIENTS_PYTHON, NODE_CLIENTS, REPO, LiveServer, require_clients

pytestmark = pytest.mark.slow

QUESTION = "Who conveyed the decision to Ukraine?"
_SOURCE = re.compile(r'^\[(\d+)\] (.+?)(?:, p\. \d+)? \(chars (\d+)-(\d+)\): "(.*)"$')


def checked_sources(live: LiveServer, content: str) -> int:
    """How many of the content's "Sources:" lines quote the stored text exactly at their
    offsets (every line must)."""
    assert "\n\nSources:\n" in content, content
    documents = httpx.get(f"{live.url}/v1/documents").json()["documents"]
    by_title = {d["title"]: d["doc_id"] for d in documents}
    lines = content.split("\n\nSources:\n", 1)[1].splitlines()
    for line in lines:
        found = _SOURCE.match(line)
        assert found, line
        _n, title, start, end, quote = found.groups()
        text = httpx.get(f"{live.url}/v1/documents/{by_title[title]}").json()["text"]
        assert text[int(start) : int(end)] == quote
    return len(lines)


def test_official_client_models_and_usage_chunk(live_offline: LiveServer) -> None:
    client = openai.OpenAI(base_url=f"{live_offline.url}/v1", api_key="unused", max_retries=0)
    assert client.models.retrieve("citeqa").id == "citeqa"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found"
    chunks = list(
        client.chat.completions.create(
            model="citeqa",
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "General Cavoli" in text and checked_sources(live_offline, text) >= 1


def test_official_client_refusals_are_openai_errors(live_offline: LiveServer) -> None:
    client = openai.OpenAI(base_url=f"{live_offline.url}/v1", api_key="unused", max_retries=0)
    ask = [{"role": "user", "content": QUESTION}]
    with pytest.raises(openai.NotFoundError) as other_model:
        client.chat.completions.create(model="gpt-4o", messages=ask)
    assert other_model.value.code == "model_not_found"
    refusals = [
        ({"n": 2}, "n"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]},
            "tools",
        ),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ]
    for options, param in refusals:
        for stream in (False, True):
            # streamed or not, the refusal is an HTTP error before any stream starts
            with pytest.raises(openai.BadRequestError) as refused:
                client.chat.completions.create(
                    model="citeqa", messages=ask, stream=stream, **options
                )
            assert refused.value.param == param, options
            assert refused.value.type == "invalid_request_error"
    with pytest.raises(openai.BadRequestError) as invalid:
        client.chat.completions.create(model="citeqa", messages=[], stream=True)
    assert invalid.value.param == "messages"
    # the citeqa routes keep their own error contract
    response = httpx.post(f"{live_offline.url}/v1/query", json={"question": ""})
    assert response.status_code == 422
    assert set(response.json()["error"]) == {"code", "message"}


def test_langchain_openai_plain_streamed_and_usage(live_offline: LiveServer) -> None:
    from langchain_openai import ChatOpenAI

    chat = ChatOpenAI(
        model="citeqa",
        base_url=f"{live_offline.url}/v1",
        api_key="unused",  # type: ignore[arg-type]
        max_retries=0,
        stream_usage=True,
    )
    reply = chat.invoke(QUESTION)
    assert isinstance(reply.content, str) and "General Cavoli" in reply.content
    assert checked_sources(live_offline, reply.content) >= 1
    assert reply.usage_metadata is not None and reply.usage_metadata["total_tokens"] > 0
    total = None
    for part in chat.stream(QUESTION):
        total = part if total is None else total + part
    assert total is not None and isinstance(total.content, str)
    assert "General Cavoli" in total.content
    assert checked_sources(live_offline, total.content) >= 1
    assert total.usage_metadata is not None and total.usage_metadata["total_tokens"] > 0


def test_litellm_plain_and_streamed(live_offline: LiveServer) -> None:
    require_clients(CLIENTS_PYTHON)
    script = REPO / "tests" / "clients" / "litellm_checks.py"
    done = subprocess.run(
        [str(CLIENTS_PYTHON), str(script), live_offline.url, QUESTION],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("plain", "streamed"):
        assert "General Cavoli" in found[key]
        assert checked_sources(live_offline, found[key]) >= 1
    assert found["plain_usage"] > 0 and found["streamed_usage"] > 0
    assert found["unknown_model_status"] == 404


def test_official_node_client_plain_and_streamed(live_offline: LiveServer) -> None:
    require_clients(NODE_CLIENTS / "node_modules" / "openai")
    node = shutil.which("node")
    assert node, "node is missing: `make clients` installs Debian's nodejs"
    script = REPO / "tests" / "clients" / "openai_checks.cjs"
    done = subprocess.run(
        [node, str(script), live_offline.url, QUESTION],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_CLIENTS / "node_modules")},
        cwd=NODE_CLIENTS,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("plain", "streamed"):
        assert "General Cavoli" in found[key]
        assert checked_sources(live_offline, found[key]) >= 1
    assert found["model"] == "citeqa" and found["streamed_usage"] > 0
    assert found["unknown_model_status"] == 404


def test_llm_cli_plain_and_streamed(live_offline: LiveServer, tmp_path: Path) -> None:
    llm = CLIENTS_PYTHON.parent / "llm"
    require_clients(llm)
    # Simon Willison's `llm` CLI, with citeqa configured as an OpenAI-compatible model
    (tmp_path / "extra-openai-models.yaml").write_text(
        f'- model_id: citeqa\n  model_name: citeqa\n  api_base: "{live_offline.url}/v1"\n',
        encoding="utf-8",
    )
    for options in ([], ["--no-stream"]):
        done = subprocess.run(
            [str(llm), "-m", "citeqa", *options, QUESTION],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "LLM_USER_PATH": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert "General Cavoli" in done.stdout
        assert checked_sources(live_offline, done.stdout.strip()) >= 1
