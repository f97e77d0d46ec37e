from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.conftest import REPO, SEED_FILE, LLMServer, free_port, require_shared, wait_for_http


@pytest.fixture
def client(settings: Settings, minilm: LocalMiniLMEmbedder) -> Iterator[TestClient]:
    with TestClient(make_app(settings, minilm)) as test_client:
        yield test_client


@pytest.fixture
def seeded(client: TestClient) -> TestClient:
    require_shared()
    response = client.post(
        "/v1/documents",
        files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))],
    )
    assert response.status_code == 200, response.text
    return client


class LiveServer:
    """The real app under a real uvicorn server, in a thread of the test process."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for_http(f"{self.url}/healthz", timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def make_app(settings: Settings, minilm: LocalMiniLMEmbedder, warm_up: bool = True) -> FastAPI:
    """The real app, using the session's already-loaded model, not a second copy."""
    return create_app(settings, warm_up=warm_up, embedder=minilm)


def seed(base_url: str) -> None:
    require_shared()
    response = httpx.post(
        f"{base_url}/v1/documents",
        files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))],
        timeout=120,
    )
    assert response.status_code == 200, response.text


@pytest.fixture
def live_offline(settings: Settings, minilm: LocalMiniLMEmbedder) -> Iterator[LiveServer]:
    """The seeded app, offline extractive backend."""
    with LiveServer(make_app(settings, minilm)) as live:
        seed(live.url)
        yield live


@pytest.fixture
def live_llm(
    llm_server: LLMServer, data_dir: Path, minilm: LocalMiniLMEmbedder
) -> Iterator[LiveServer]:
    """The seeded app answering through the OpenAI-protocol test server."""
    with LiveServer(make_app(llm_server.settings(data_dir), minilm)) as live:
        seed(live.url)
        yield live


CHROMIUM = Path(os.environ.get("CITEQA_CHROMIUM", "/usr/bin/chromium"))

# Third-party clients in their own venv and npm folder (`make clients`).
CLIENTS_PYTHON = Path(
    os.environ.get("CITEQA_CLIENTS_PYTHON", REPO / "build" / "clients" / "bin" / "python")
)
NODE_CLIENTS = Path(os.environ.get("CITEQA_NODE_CLIENTS", REPO / "build" / "node-clients"))


def require_clients(tool: Path) -> None:
    """Skip with CITEQA_SKIP_CLIENTS=1; otherwise the tool must be there."""
    if os.environ.get("CITEQA_SKIP_CLIENTS") == "1":
        pytest.skip("CITEQA_SKIP_CLIENTS=1")
    assert tool.exists(), f"{tool} is missing: run `make clients`"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium, driven by Playwright. `make test` installs it when it is
    missing; CITEQA_SKIP_BROWSER=1 skips the tests that use it."""
    if os.environ.get("CITEQA_SKIP_BROWSER") == "1":
        pytest.skip("CITEQA_SKIP_BROWSER=1")
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


NOUNS = ["pump", "valve", "ledger", "ferry", "turbine", "archive", "bridge", "orchard"]
PLACES = ["the north depot", "Harbour Road", "the old mill", "bay four", "the upper yard"]


def log_document(number: int, sentences: int) -> str:
    """A long, distinct document of logbook sentences (450 sentences: about 25 chunks)."""
    rng = random.Random(number)
    return " ".join(
        f"Entry {number}.{i}: the {rng.choice(NOUNS)} at {rng.choice(PLACES)} was checked on "
        f"day {rng.randint(1, 365)} and logged as item {rng.randint(100, 999)}."
        for i in range(sentences)
    )


def log_upload(texts: dict[str, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, text.encode(), "text/plain")) for name, text in texts.items()]


def start_serve(env: dict[str, str], *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """A real `citeqa serve` process (stderr piped) and its base URL, once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--port", str(port), *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/healthz", timeout=180, proc=proc)
    return proc, url


def ask(page: object, question: str) -> None:
    """Asks a question in the chat page (Playwright's page) as a reader would."""
    page.fill("#question", question)  # type: ignore[attr-defined]
    page.press("#question", "Enter")  # type: ignore[attr-defined]
