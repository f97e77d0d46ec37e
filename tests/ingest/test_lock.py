"""A second writer on one embedded store fails fast; a killed writer leaves no lock."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.errors import IngestInProgress
from citeqa.settings import Settings
from ingest.engine import Engine
from ingest.pipeline import Source
from tests.api.conftest import make_app
from tests.conftest import REPO

pytestmark = pytest.mark.slow

NOTE = Source(doc_id="note.md", source="test", name="note.md", text="The ferry leaves at noon.")


@pytest.fixture
def writer(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process, hung in the middle of an ingest into the same data dir."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.hold_ingest", str(data_dir)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    yield proc
    proc.kill()
    proc.wait()


def test_second_writer_fails_fast_with_a_clear_error(
    writer: subprocess.Popen[str], settings: Settings, minilm: LocalMiniLMEmbedder
) -> None:
    engine = Engine(settings, embedder=minilm)
    started = time.monotonic()
    with pytest.raises(IngestInProgress, match="ingest in progress"):
        engine.documents.ingest([NOTE])
    with pytest.raises(IngestInProgress):
        engine.documents.delete_document("slow.md")
    assert time.monotonic() - started < 5  # no waiting on the other writer
    assert engine.components.store.documents.get("note.md") is None  # nothing half-written

    with TestClient(make_app(settings, minilm, warm_up=False)) as client:
        response = client.post("/v1/documents", json={"doc_id": "x.md", "text": "Some text."})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "ingest_in_progress"

    cli = subprocess.run(
        [sys.executable, "-m", "cli", "ingest", str(REPO / "examples")],
        cwd=REPO,
        env={"CITEQA_DATA_DIR": str(settings.store.data_dir), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1 and "ingest in progress" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_a_killed_writer_leaves_no_lock(
    writer: subprocess.Popen[str], settings: Settings, minilm: LocalMiniLMEmbedder
) -> None:
    writer.kill()
    writer.wait()
    engine = Engine(settings, embedder=minilm)
    assert engine.documents.ingest([NOTE]).count("added") == 1
