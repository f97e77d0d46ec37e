"""The README's examples, run: each documented request against the documents it names
(examples/ or the seed article), the fields its example answer shows compared with what
the server answers now, the streaming example's events, and the OpenAI snippet executed
against a live server."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.api.conftest import LiveServer, make_app
from tests.api.sse import parse
from tests.conftest import REPO, SEED_FILE, require_shared

pytestmark = pytest.mark.slow

README = (REPO / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
_CURL = re.compile(
    r"curl -\w+ localhost:8000(?P<path>/\S+) -H 'content-type: application/json' \\\n"
    r"\s+-d '(?P<body>[^']*)'"
)


def blocks(language: str = "") -> list[str]:
    return [body for lang, body in _BLOCK.findall(README) if lang == language]


def requests_in(block: str) -> list[tuple[str, str, dict]]:
    """(documents folder, path, body) of each curl in a block; the folder is the one the
    `make run` line before it serves (examples/ unless DOCS= says otherwise)."""
    found = []
    docs = "examples"
    for line_start, match in ((m.start(), m) for m in _CURL.finditer(block)):
        before = block[:line_start]
        runs = re.findall(r"make run(?: DOCS=(\S+))?", before)
        docs = (runs[-1] or "examples") if runs else docs
        found.append((docs, match.group("path"), json.loads(match.group("body"))))
    return found


def serving(docs: str, settings: Settings, minilm: LocalMiniLMEmbedder) -> TestClient:
    client = TestClient(make_app(settings, minilm))
    folder = (REPO / docs).resolve()
    if docs.startswith("../shared"):
        require_shared()
        folder = SEED_FILE.parent
    files = [("files", (p.name, p.read_bytes())) for p in sorted(folder.iterdir()) if p.is_file()]
    client.__enter__()
    assert client.post("/v1/documents", files=files).status_code == 200
    return client


def test_the_try_it_requests_answer_as_shown(
    settings: Settings, minilm: LocalMiniLMEmbedder
) -> None:
    try_it = next(b for b in blocks() if "make run" in b and "curl" in b)
    requests = requests_in(try_it)
    assert [docs for docs, _p, _b in requests] == ["examples", "../shared/corpus"]
    shown = json.loads(blocks("json")[0])
    for i, (docs, path, body) in enumerate(requests):
        fresh = settings.model_copy(update={"data_dir": settings.data_dir / f"store-{i}"})
        client = serving(docs, fresh, minilm)
        try:
            response = client.post(path, json=body)
            assert response.status_code == 200
            answer = response.json()
            assert not answer["abstained"] and answer["citations"], (docs, answer)
            if body["question"] != shown["question"]:
                continue
            # the example answer: every field it shows, as the server gives it now
            assert answer["abstained"] == shown["abstained"]
            assert answer["backend"] == shown["backend"]
            assert len(answer["citations"]) == len(shown["citations"])
            for got, want in zip(answer["citations"], shown["citations"], strict=True):
                for key in ("n", "doc_id", "title", "date", "start", "end", "page"):
                    assert got[key] == want[key], (key, got, want)
                assert got["quote"].startswith(want["quote"].removesuffix("…").rstrip())
                assert got["score"] == pytest.approx(want["score"], abs=1e-4)
                assert got["source"].endswith(Path(want["source"]).name)  # upload: vs path
            for part in shown["answer"].split("…"):
                assert part.strip(" ,") in answer["answer"]
        finally:
            client.__exit__(None, None, None)


def test_the_streaming_example_shows_the_events_sent(
    settings: Settings, minilm: LocalMiniLMEmbedder
) -> None:
    block = next(b for b in blocks() if "event: delta" in b)
    [(docs, path, body)] = requests_in(block)
    require_shared()
    client = serving("../shared/corpus", settings, minilm)
    try:
        live = parse(client.post(path, json=body).text)
    finally:
        client.__exit__(None, None, None)
    shown = re.findall(r"^event: (\w+)\ndata: (.*)$", block, re.M)
    # the events in the order shown, every delta shown as sent
    assert [kind for kind, _data in live] == [kind for kind, _data in shown]
    for (kind, data), (_kind, sent) in zip(shown, live, strict=True):
        if kind == "delta":
            assert json.loads(data) == sent
    assert sent["question"] == body["question"]
    assert live[-2][1]["citations"][0]["doc_id"] in shown[-2][1]


def test_the_openai_snippet_runs(live_offline: LiveServer) -> None:
    snippet = next(b for b in blocks("python") if "from openai import OpenAI" in b)
    code = snippet.replace("http://127.0.0.1:8000/v1", f"{live_offline.url}/v1")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - the README's own code
    printed = out.getvalue()
    assert printed.count("General Cavoli") >= 2  # the reply, and the streamed reply
    assert "\n\nSources:\n[1] " in printed and "'quote':" in printed
