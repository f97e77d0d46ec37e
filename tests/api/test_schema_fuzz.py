"""Schemathesis against the app's own OpenAPI, in process: for every route, generated
valid and invalid requests never get a 5xx, invalid ones are rejected, responses match
the declared schemas, and the declared bearer auth is enforced.

Then from outside, as a client's generator or a fuzzer sees it: the schemathesis CLI
(`--checks all`, stateful links included) against a live `citeqa serve` over examples/,
keyless and keyed, with a fixed seed; any failure fails the test."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
)

from api.app import create_app
from api.deps import EngineProvider
from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.api.conftest import start_serve
from tests.conftest import REPO

pytestmark = pytest.mark.slow

ADMIN = "fuzz-admin-key-1"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


# The schema is read when the module loads, so the app is built then, over a store of
# its own (the shared model is loaded once per process whoever asks first).
_STORE = Path(tempfile.mkdtemp(prefix="citeqa-fuzz-"))
APP = create_app(Settings(data_dir=_STORE, api_keys=f"{ADMIN}:admin"), warm_up=False)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=AUTH)


@schema.auth()
class AdminKey:
    """The key as schemathesis' auth provider, not as a header forced onto every call, so
    that a case it made negative by leaving the key out is sent without it."""

    def get(self, case: schemathesis.Case, context: object) -> str:
        return ADMIN

    def set(self, case: schemathesis.Case, data: str, context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(scope="module", autouse=True)
def seeded_app(minilm: LocalMiniLMEmbedder) -> Iterator[None]:
    provider: EngineProvider = APP.state.engines
    provider.use_embedder(minilm)
    with TestClient(APP) as client:
        doc = {"doc_id": "ferry.md", "text": "The ferry to Gull Island leaves at noon daily."}
        assert client.post("/v1/documents", json=doc, headers=AUTH).status_code == 200
        yield
    shutil.rmtree(_STORE, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_route_survives_generated_requests(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[
            not_a_server_error,
            negative_data_rejection,
            response_schema_conformance,
            ignored_auth,
        ],
    )


SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# fixed, so a run is repeatable; CITEQA_FUZZ_EXAMPLES raises the count for a longer run
FUZZ_SEED = 1
FUZZ_EXAMPLES = int(os.environ.get("CITEQA_FUZZ_EXAMPLES", "25"))
EXAMPLES = sorted((REPO / "examples").iterdir())


def run_schemathesis(url: str, headers: dict[str, str], report: Path) -> tuple[int, str]:
    """The command the README gives, run from the checkout's root as a user would: no
    config flag and no hooks variable, so the run reads the project's rules only from the
    schemathesis.toml it finds there by itself."""
    command = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all"]
    command += ["--seed", str(FUZZ_SEED), "-n", str(FUZZ_EXAMPLES)]
    command += ["--workers", "1"]  # a 2-core CI machine; one worker keeps runs repeatable
    command += ["--report", "har", "--report-dir", str(report)]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCHEMATHESIS_")}
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("keyed", [False, True], ids=["keyless", "keyed"])
def test_schemathesis_from_outside_finds_nothing(keyed: bool, tmp_path: Path) -> None:
    env = {**os.environ, "CITEQA_DATA_DIR": str(tmp_path / "store"), "HF_HUB_OFFLINE": "1"}
    for name in ("CITEQA_API_KEYS", "CITEQA_API_KEYS_FILE", "CITEQA_CHROMA_URL"):
        env.pop(name, None)
    headers: dict[str, str] = {}
    if keyed:
        env["CITEQA_API_KEYS"] = f"{ADMIN}:admin,fuzz-read-key-1:read"
        headers = AUTH
    proc, url = start_serve(env, "--log-level", "warning")
    # the server's stderr drained while thousands of requests run (a full pipe would
    # stall it), kept to show with a failure
    logged: list[bytes] = []
    assert proc.stderr is not None
    drain = threading.Thread(target=lambda: logged.extend(proc.stderr), daemon=True)
    drain.start()
    try:
        upload = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in EXAMPLES]
        seeded = httpx.post(f"{url}/v1/documents", files=upload, headers=headers, timeout=120)
        assert seeded.status_code == 200, seeded.text
        document = httpx.get(f"{url}/openapi.json", headers=headers, timeout=30).json()
        code, output = run_schemathesis(url, headers, tmp_path / "report")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drain.join(timeout=5)
    server_log = b"".join(logged).decode(errors="replace")
    summary = output[output.find("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    assert code == 0, output[-12000:] + "\n--- server log ---\n" + server_log[-3000:]
    assert "Traceback" not in server_log, server_log[-6000:]
    # the run reached every operation of the document, and followed links
    counts = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", summary)
    assert counts is not None and len(set(counts.groups())) == 1, summary
    links = re.search(r"API Links:\s+(\d+) covered", output)
    assert links is not None and int(links.group(1)) >= 1, output
    # what the server answered, from the run's HAR log: every operation of the document
    # accepted at least one generated request (its parameters' rules are wide enough to
    # generate), the upload's rule was exercised both ways, and every 405 named what is
    # allowed
    answered = statuses_by_operation(tmp_path / "report", document)
    for operation, seen in answered.items():
        if operation[0] in {m.upper() for m in document["paths"][operation[1]]}:
            assert any(200 <= code < 300 for code in seen), (operation, seen)
    assert {415, 200} <= answered[("POST", "/v1/documents")], answered
    unallowed = [operation for operation, seen in answered.items() if -405 in seen]
    assert not unallowed, unallowed


def statuses_by_operation(
    report: Path, document: dict[str, Any]
) -> dict[tuple[str, str], set[int]]:
    """(method, templated path) -> the statuses schemathesis got, read from its HAR log; a
    405 without an Allow header is recorded under the status -405."""
    templates = []
    for path in document["paths"]:
        parts = [re.escape(part) for part in re.split(r"\{[^}]+\}", path)]
        templates.append((re.compile("^" + "[^/]+".join(parts) + "$"), path))
    (har,) = report.glob("har-*.json")
    seen: dict[tuple[str, str], set[int]] = {}
    for entry in json.loads(har.read_text())["log"]["entries"]:
        path = urlsplit(entry["request"]["url"]).path
        template = next((t for pattern, t in templates if pattern.match(path)), path)
        status = entry["response"]["status"]
        headers = {h["name"].lower() for h in entry["response"]["headers"]}
        if status == 405 and "allow" not in headers:
            status = -405
        seen.setdefault((entry["request"]["method"], template), set()).add(status)
    return seen
