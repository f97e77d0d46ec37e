"""The README's examples, run: each documented request against the documents it names
(examples/ or the seed article), the fields its example answer shows compared with what
the server answers now, the streaming example's events, and the OpenAI snippet executed
against a live server."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from evals.sets import load_set
from tests.api.conftest import LiveServer, make_app
from tests.api.sse import parse
from tests.conftest import EXAMPLES, REPO, SEED_FILE, require_shared, run_cli

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
    assert "../shared" not in try_it  # a fresh clone has nothing beside it
    requests = requests_in(try_it)
    assert [docs for docs, _p, _b in requests] == ["examples", "examples"]
    shown = json.loads(blocks("json")[0])
    for i, (docs, path, body) in enumerate(requests):
        fresh = settings.replace(data_dir=settings.store.data_dir / f"store-{i}")
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
            assert answer["confidence"] == pytest.approx(shown["confidence"], abs=1e-4)
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


def run_line(
    line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """A README command line that starts with a `citeqa` executable, run in this process
    (the command, this checkout's code) from the current directory."""
    program, *args = shlex.split(line)
    assert program.endswith("bin/citeqa"), line
    return run_cli(monkeypatch, capsys, *args)


def junit_cases(path: Path) -> dict[str, bool]:
    from junitparser import JUnitXml

    return {case.name: case.is_passed for suite in JUnitXml.fromfile(str(path)) for case in suite}


def test_the_try_it_command_lines_run_from_a_clone(
    settings: Settings,
    minilm: LocalMiniLMEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    try_it = next(b for b in blocks() if "make run" in b and "curl" in b)
    lines = [line for line in try_it.splitlines() if line.startswith(".venv/bin/citeqa")]
    assert [shlex.split(line)[1] for line in lines] == ["ask", "eval"]
    clone = tmp_path / "clone"  # what the commands read of a clone, nothing beside it
    shutil.copytree(EXAMPLES, clone / "examples")
    (clone / "evals" / "sets").mkdir(parents=True)
    shutil.copy(REPO / "evals" / "sets" / "examples.jsonl", clone / "evals" / "sets")
    monkeypatch.chdir(clone)
    with LiveServer(make_app(settings, minilm)) as live:
        files = [("files", (p.name, p.read_bytes())) for p in sorted(EXAMPLES.iterdir())]
        assert httpx.post(f"{live.url}/v1/documents", files=files, timeout=120).is_success
        ask = lines[0].replace("http://127.0.0.1:8000", live.url)
        code, out, err = run_line(ask, monkeypatch, capsys)
    assert code == 0, err
    assert out.startswith("The garden committee meets on the first Tuesday of each month")
    code, out, err = run_line(lines[1], monkeypatch, capsys)
    assert code == 0, err
    cases = junit_cases(clone / "reports" / "examples.xml")
    gold = load_set(clone / "evals" / "sets" / "examples.jsonl")
    assert [f"{r.id}: {r.question}" for r in gold] == list(cases)[: len(gold)]


def test_the_ci_job_gates_a_users_own_documents_and_gold_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    [workflow] = [b for lang, b in _BLOCK.findall(README) if lang == "yaml"]
    import yaml

    steps = yaml.safe_load(workflow)["jobs"]["citeqa"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    # the install is what `make test` itself runs here; the eval step runs as written
    assert runs[0] == "make -C .citeqa install system" and len(runs) == 2
    report = next(s for s in steps if "junit-report" in s.get("uses", ""))
    repo = tmp_path / "users-repo"
    shutil.copytree(EXAMPLES, repo / "docs")
    gold_lines = (REPO / "evals" / "sets" / "examples.jsonl").read_text().splitlines()
    (repo / "gold.jsonl").write_text("\n".join(gold_lines) + "\n")
    [gates] = [b for lang, b in _BLOCK.findall(README) if lang == "toml"]
    (repo / "gates.toml").write_text(gates)
    monkeypatch.chdir(repo)
    code, out, err = run_line(runs[1], monkeypatch, capsys)
    assert code == 0, err
    cases = junit_cases(repo / report["with"]["report_paths"])
    assert len(cases) == len(gold_lines) + len(gates.strip().splitlines()) - 1
    missed_before = {name for name, passed in cases.items() if not passed}
    # three gold answers broken: those questions fail, and so does the gate
    broken = []
    for i, line in enumerate(gold_lines):
        record = json.loads(line)
        if record["answerable"] and len(broken) < 3:
            record["answers"] = ["seventeen flamingos"]
            broken.append(f"{record['id']}: {record['question']}")
            gold_lines[i] = json.dumps(record)
    (repo / "gold.jsonl").write_text("\n".join(gold_lines) + "\n")
    code, out, err = run_line(runs[1], monkeypatch, capsys)
    assert code == 1 and "gate failed: answer_correct" in err
    cases = junit_cases(repo / report["with"]["report_paths"])
    missed = {name for name, passed in cases.items() if not passed}
    assert missed == missed_before | set(broken) | {"answer_correct >= 0.8"}


def test_the_gold_set_lines_shown_are_a_valid_set(tmp_path: Path) -> None:
    [shown] = [b for b in blocks() if '"id": "q1"' in b]
    path = tmp_path / "gold.jsonl"
    path.write_text(shown)
    records = load_set(path)
    assert [r.answerable for r in records] == [True, False]
