"""Shared fixtures: the real local embedder (loaded once), a fresh data dir per test,
the seed article from ../shared, and a real `chroma run` server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import citeqa  # noqa: F401  (applies the offline environment first)
from citeqa.components.embedder import Embedder, LocalMiniLMEmbedder
from citeqa.settings import Settings
from ingest.engine import Engine

if TYPE_CHECKING:
    from tests.fixtures.openai_server import ServerState

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CITEQA_SHARED", REPO.parent / "shared"))
SEED_DIR = SHARED / "corpus"
SEED_FILE = SEED_DIR / "us-allows-limited-strikes-in-russia.txt"
SEED_DOC_ID = SEED_FILE.name
EXAMPLES = REPO / "examples"


def require_shared() -> None:
    if not SEED_FILE.exists():
        pytest.skip(f"the seed article is not at {SEED_FILE}")


class CountingEmbedder:
    """The real MiniLM embedder, counting the texts it is asked to embed."""

    def __init__(self, inner: LocalMiniLMEmbedder) -> None:
        self._inner = inner
        self.name = inner.name
        self.dimension = inner.dimension
        self.calls = 0
        self.texts = 0
        self.queries = 0

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        return self._inner.embed_documents(texts)

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        self.calls += 1
        self.texts += len(texts)
        return self._inner.embed_chunks(texts, spans)

    def embed_query(self, text: str) -> list[float]:
        self.queries += 1
        return self._inner.embed_query(text)


# `make test-fast` sets CITEQA_TEST_EMBEDDER=hash: the tests that take the session's
# model get the deterministic stand-in (citeqa.components.hashing) instead, and those
# marked `model` (they judge answers, which need the real model) are left out.
FAST_EMBEDDER = os.environ.get("CITEQA_TEST_EMBEDDER") == "hash"


@pytest.fixture(scope="session")
def minilm() -> LocalMiniLMEmbedder:
    if FAST_EMBEDDER:
        from citeqa.components.hashing import HashEmbedder

        return HashEmbedder()  # type: ignore[return-value]
    return LocalMiniLMEmbedder()


@pytest.fixture
def embedder(minilm: LocalMiniLMEmbedder) -> CountingEmbedder:
    return CountingEmbedder(minilm)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store; nothing reads a developer's ./data or .env."""
    path = tmp_path / "data"
    monkeypatch.setenv("CITEQA_DATA_DIR", str(path))
    monkeypatch.delenv("CITEQA_CHROMA_URL", raising=False)
    # a developer's LLM settings, or a server `citeqa ask` would ask, must not change the tests
    for name in list(os.environ):
        if name.startswith(("CITEQA_LLM_", "CITEQA_BACKEND", "CITEQA_SERVER")) or (
            name == "OPENAI_API_KEY"
        ):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return path


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir)


@pytest.fixture
def engine(settings: Settings, embedder: Embedder) -> Engine:
    return Engine(settings, embedder=embedder)


@pytest.fixture
def reading_engine(settings: Settings, embedder: Embedder) -> Engine:
    """An engine with the reader on (CITEQA_READER=on) and the model trained with it."""
    return Engine(settings.replace(reader="on"), embedder=embedder)


@pytest.fixture
def seed_engine(engine: Engine) -> Engine:
    from ingest.pipeline import sources_from_paths

    require_shared()
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    return engine


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A scripted OpenAI-protocol server on 127.0.0.1 (the hosted LLM's stand-in)."""
    from tests.fixtures import openai_server

    port = free_port()
    with openai_server.serve(port) as state:
        yield LLMServer(f"http://127.0.0.1:{port}/v1", state)


class LLMServer:
    def __init__(self, url: str, state: ServerState) -> None:
        self.url = url
        self.state = state

    def settings(self, data_dir: Path, **overrides: object) -> Settings:
        """Settings that answer through this server."""
        values: dict[str, object] = {
            "data_dir": data_dir,
            "llm_base_url": self.url,
            "llm_api_key": "test-key",
            "llm_model": "test-model",
            "llm_timeout": 5.0,
            "llm_retry_max_wait": 2.0,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(
    url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


@contextmanager
def citeqa_serve(
    env: dict[str, str],
    *args: str,
    log: Path | None = None,
    runner: Sequence[str] = (sys.executable, "-m"),
) -> Iterator[str]:
    """A real `citeqa serve` process on a free port; its base URL. No traceback may reach
    its stderr, which goes to `log` when given (a file, so that a chatty server never
    fills a pipe). `runner` runs the module `cli` (python -m, by default)."""
    port = free_port()
    sink = log.open("wb") if log is not None else None
    proc = subprocess.Popen(
        [*runner, "cli", "serve", "--port", str(port), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=sink if sink is not None else subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/healthz", timeout=180, proc=proc)
        yield url
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=60)
        if sink is not None and log is not None:
            sink.close()
            stderr = log.read_bytes()
        assert b"Traceback" not in stderr, stderr.decode()[-3000:]


def chroma_command() -> list[str]:
    exe = Path(sys.executable).with_name("chroma")
    return [str(exe)] if exe.exists() else [shutil.which("chroma") or "chroma"]


class ChromaServer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *chroma_command(),
                "run",
                "--path",
                str(self.path),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_http(f"{self.url}/api/v2/heartbeat", proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server
    server.stop()


def assert_citations_verify(engine: Engine, answer: object) -> None:
    """The contract's invariant: document_text(doc_id)[start:end] == quote."""
    for citation in answer.citations:  # type: ignore[attr-defined]
        record = engine.components.store.documents.get(citation.doc_id)
        assert record is not None and record.text is not None
        assert record.text[citation.start : citation.end] == citation.quote


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """`citeqa ARGS...` run in this process (this checkout's code): exit code, stdout,
    stderr."""
    from cli.main import main

    monkeypatch.setattr(sys, "argv", ["citeqa", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 0), captured.out, captured.err
