from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    EXAMPLES,
    REPO,
    SEED_DIR,
    LLMServer,
    citeqa_serve,
    require_shared,
    run_cli,
)

EXAMPLES_EVAL = ("eval", str(REPO / "evals/sets/examples.jsonl"), "--docs", str(REPO / "examples"))


def test_ingest_ask_json_docs_round_trip(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_shared()
    code, out, _ = run_cli(monkeypatch, capsys, "ingest", str(SEED_DIR))
    assert code == 0 and "added 1" in out
    code, out, _ = run_cli(monkeypatch, capsys, "ingest", str(SEED_DIR))
    assert "skipped 1" in out

    code, out, _ = run_cli(
        monkeypatch, capsys, "ask", "Who conveyed the decision to Ukraine?", "--json"
    )
    answer = json.loads(out)
    assert code == 0 and answer["citations"] and "Cavoli" in answer["citations"][0]["quote"]

    code, out, _ = run_cli(monkeypatch, capsys, "docs", "list", "--json")
    doc_id = json.loads(out)["documents"][0]["doc_id"]
    code, out, _ = run_cli(monkeypatch, capsys, "docs", "show", doc_id)
    assert code == 0 and "President Biden" in out
    code, out, _ = run_cli(monkeypatch, capsys, "docs", "delete", doc_id)
    assert code == 0
    code, out, err = run_cli(monkeypatch, capsys, "docs", "show", doc_id)
    assert code == 1 and err.strip() == f"error: no document with id {doc_id!r}"


def test_errors_are_one_line_and_non_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "ingest", str(tmp_path / "missing"))
    assert code == 1 and err.startswith("error: no such file") and "Traceback" not in err
    code, _, err = run_cli(monkeypatch, capsys, "ask", "  ")
    assert code == 1 and err.strip() == "error: the question is empty"
    monkeypatch.setenv("CITEQA_CHUNK_SIZE", "nope")
    code, _, err = run_cli(monkeypatch, capsys, "ask", "hello?")
    assert code == 2 and "invalid setting CITEQA_CHUNK_SIZE" in err


def test_eval_gate_fails_when_a_threshold_is_missed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text("[default]\nmin_citation_validity = 1.0\nmax_latency_p50_ms = 0.001\n")
    report = tmp_path / "out" / "report.md"
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        *EXAMPLES_EVAL,
        "--thresholds",
        str(strict),
        "--report",
        str(report),
    )
    assert code == 1 and "latency_p50_ms" in err
    assert "citation validity" in out
    data = json.loads(report.with_suffix(".json").read_text())
    assert data["passed"] is False and data["metrics"]["citation_validity"] == 1.0
    assert report.read_text().startswith("# citeqa eval: examples")


def test_eval_never_touches_the_users_store(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    code, _, _ = run_cli(monkeypatch, capsys, *EXAMPLES_EVAL, "--no-gate")
    assert code == 0
    code, out, _ = run_cli(monkeypatch, capsys, "docs", "list", "--json")
    assert json.loads(out)["total"] == 0


def test_calibrate_and_eval_calibrate_rank_thresholds_alike(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "calibrate",
        f"{REPO / 'evals/sets/examples.jsonl'}={REPO / 'examples'}",
        "--top",
        "99",
    )
    assert code == 0
    rows = [line.split() for line in out.splitlines()[1:] if not line.startswith("current")]
    swept = [(float(accuracy), float(threshold)) for accuracy, _per, threshold in rows]
    assert sorted(t for _a, t in swept) == [t / 100 for t in range(1, 100)]
    # best first; ties to the lower threshold
    assert swept == sorted(swept, key=lambda item: (-item[0], item[1]))
    assert out.splitlines()[-1].startswith("current threshold ")

    code, _, err = run_cli(
        monkeypatch, capsys, *EXAMPLES_EVAL, "--no-gate", "--json", "--calibrate"
    )
    assert code == 0
    found = re.findall(r"^  ([0-9.]+)  threshold=([0-9.]+)$", err, re.MULTILINE)
    # one set: its decision accuracy is the mean, so both commands list the same best five
    assert [(float(a), float(t)) for a, t in found] == swept[:5]


def test_eval_with_the_llm_backend_and_judge(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], llm_server: LLMServer
) -> None:
    monkeypatch.setenv("CITEQA_LLM_BASE_URL", llm_server.url)
    monkeypatch.setenv("CITEQA_LLM_API_KEY", "test-key")
    monkeypatch.setenv("CITEQA_LLM_MODEL", "test-model")
    code, out, err = run_cli(
        monkeypatch, capsys, *EXAMPLES_EVAL, "--backend", "llm", "--judge", "--no-gate", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["settings"]["backend"] == "llm:test-model"
    metrics = data["metrics"]
    assert metrics["citation_validity"] == 1.0 and metrics["judge_accuracy"] is not None
    answerable = metrics["answerable"]
    bodies = [r["body"] for r in llm_server.state.chat_requests]
    judged = [b for b in bodies if "You grade" in b["messages"][0]["content"]]
    assert len(bodies) - len(judged) == metrics["questions"]  # one answer call per question
    answered = [q for q in data["questions"] if q["answerable"] and not q["abstained"]]
    assert len(judged) == len(answered) <= answerable

    code, out, _ = run_cli(monkeypatch, capsys, *EXAMPLES_EVAL, "--backend", "extractive", "--json")
    assert code == 0 and json.loads(out)["settings"]["backend"] == "extractive"


def test_llm_backend_without_an_llm_is_a_settings_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(monkeypatch, capsys, *EXAMPLES_EVAL, "--backend", "llm")
    assert code == 2 and "CITEQA_LLM_BASE_URL" in err
    code, _, err = run_cli(monkeypatch, capsys, *EXAMPLES_EVAL, "--judge")
    assert code == 2 and "--judge needs an LLM" in err


def test_serve_refuses_a_public_address_without_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 2 and "without API keys" in err and "--insecure-no-auth" in err
    monkeypatch.setenv("CITEQA_API_KEYS", "short:read")
    code, _, err = run_cli(monkeypatch, capsys, "serve", "--host", "0.0.0.0", "--port", "1")
    assert code == 1 and "at least 8 characters" in err


def test_ingest_reports_progress_in_plain_lines_when_not_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "ingest", str(REPO / "examples"))
    assert code == 0 and "added 3" in out
    lines = [line for line in err.splitlines() if line.startswith("ingest: ")]
    assert lines and lines[-1].startswith("ingest: 3/3 documents, ")
    assert "chunks/s" in lines[-1] and "\r" not in err
    code, out, err = run_cli(
        monkeypatch, capsys, "ingest", str(REPO / "examples"), "--progress-every", "0"
    )
    assert code == 0 and "skipped 3" in out
    assert [line.split(",")[0] for line in err.splitlines()] == [
        "ingest: 1/3 documents",
        "ingest: 2/3 documents",
        "ingest: 3/3 documents",
        "ingest: 3/3 documents",  # the closing line
    ]


@pytest.mark.slow
def test_ingest_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    main_fd, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = {**os.environ, "CITEQA_DATA_DIR": str(tmp_path / "store")}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "citeqa"), "ingest", str(REPO / "examples")],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    )
    os.close(terminal)
    screen = b""
    while True:
        try:
            block = os.read(main_fd, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not block:
            break
        screen += block
    out, _ = proc.communicate(timeout=300)
    os.close(main_fd)
    shown = screen.decode("utf-8", "replace")
    assert proc.returncode == 0 and b"added 3" in out
    assert "3/3" in shown and "doc" in shown and "chunks/s" in shown and "\r" in shown
    assert "ingest: " not in shown  # the bar, not the plain lines


def test_help_names_no_types_of_flags_and_keeps_sentences_whole(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    for command in ([], ["ingest"], ["ask"], ["eval"], ["reindex"], ["docs"]):
        code, out, _ = run_cli(monkeypatch, capsys, *command, "--help")
        assert code == 0 and re.search(r"--help +Show this message and exit\.", out), out
        assert "<bool>" not in out, out
        # the description is rewrapped to the width: a line breaks only where the next
        # word would not have fitted (the docstring's own line breaks are gone)
        description = out.split("\n\n")[1].splitlines()
        for line, after in zip(description, description[1:], strict=False):
            assert len(line) + 1 + len(after.split()[0]) > 78, out
        # and no command's summary is cut short
        lines = [line.strip() for line in out.splitlines()]
        assert not any(line.endswith("...") for line in lines if "Usage:" not in line), out


def test_ask_asks_a_running_server_when_one_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = "ask-key-12345"
    env = {
        **os.environ,
        "CITEQA_DATA_DIR": str(tmp_path / "server-data"),
        "CITEQA_API_KEYS": f"{key}:admin",
        # the answer model alone, which answers the near-miss below weakly (the verifier,
        # by default, abstains on it: no weak match to print)
        "CITEQA_READER": "off",
    }
    question = "How much does the monthly bike share pass cost?"
    with citeqa_serve(env, "--log-level", "warning") as url:
        files = [("files", (p.name, p.read_bytes())) for p in sorted(EXAMPLES.iterdir())]
        auth = {"Authorization": f"Bearer {key}"}
        upload = httpx.post(f"{url}/v1/documents", files=files, headers=auth, timeout=120)
        assert upload.json()["added"] == 3
        served = httpx.post(f"{url}/v1/query", json={"question": question}, headers=auth).json()

        # CITEQA_SERVER names it; without its key, the server's 401 in one line
        monkeypatch.setenv("CITEQA_SERVER", url)
        code, out, err = run_cli(monkeypatch, capsys, "ask", question, "--json")
        assert code == 1 and out == ""
        assert err.startswith(f"error: the server at {url} answered 401: an API key is required")
        monkeypatch.setenv("CITEQA_SERVER_API_KEY", key)
        code, out, err = run_cli(monkeypatch, capsys, "ask", question, "--json")
        assert code == 0, err
        answer = json.loads(out)
        assert answer["citations"] == served["citations"]
        assert answer["confidence"] == served["confidence"]
        # --server names it (over CITEQA_SERVER); the plain output; --top-k passed on
        monkeypatch.setenv("CITEQA_SERVER", "http://127.0.0.1:9")
        code, out, err = run_cli(monkeypatch, capsys, "ask", question, "--server", url + "/")
        assert code == 0, err
        assert out.startswith(served["answer"]) and "(bike-share-faq.txt, chars" in out
        assert "weak match" not in out  # confidence 0.79
        near_miss = "Who is the chair of the garden committee?"  # answered, confidence 0.42
        code, out, err = run_cli(monkeypatch, capsys, "ask", near_miss, "--server", url)
        assert code == 0 and "\n(a weak match, confidence 0." in out, out
        code, out, err = run_cli(monkeypatch, capsys, "ask", "  ", "--server", url)
        assert (
            code == 1
            and err.strip() == f"error: the server at {url} answered 422: the question is empty"
        )
        code, _, err = run_cli(monkeypatch, capsys, "ask", question, "--top-k", "99")
        assert code == 1 and "cannot reach the citeqa server at http://127.0.0.1:9" in err
    # the command never opened a store of its own
    assert not (tmp_path / "data").exists()


def test_eval_refuses_a_set_whose_documents_are_not_in_the_store(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    seed_set = str(REPO / "evals/sets/seed.jsonl")
    code, out, err = run_cli(monkeypatch, capsys, "eval", seed_set)  # an empty store
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "not in the store (us-allows-limited-strikes-in-russia)" in err
    assert "pass --docs DIR" in err
    code, _, _ = run_cli(monkeypatch, capsys, "ingest", str(EXAMPLES))
    assert code == 0
    # the user's store holds other documents: still refused, before any question is asked
    code, out, err = run_cli(monkeypatch, capsys, "eval", seed_set, "--json")
    assert code == 2 and out == "" and "pass --docs DIR" in err
    code, _, err = run_cli(monkeypatch, capsys, "eval", seed_set, "--docs", str(EXAMPLES))
    assert code == 2 and f"was not stored from --docs {EXAMPLES}" in err
    # a set whose documents are there runs against the store as before
    code, out, err = run_cli(monkeypatch, capsys, "eval", str(REPO / "evals/sets/examples.jsonl"))
    assert code == 0, err
    assert "citation validity" in out
