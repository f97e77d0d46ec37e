"""API keys and scopes, CORS, rate and concurrency limits."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.errors import ConfigurationError
from citeqa.settings import Settings
from tests.api.conftest import LiveServer, make_app
from tests.conftest import LLMServer
from tests.fixtures.openai_server import Step

READ, ADMIN = "read-key-0123", "admin-key-4567"


def client_with(settings: Settings, minilm: LocalMiniLMEmbedder) -> TestClient:
    return TestClient(make_app(settings, minilm, warm_up=False))


@pytest.fixture
def secured(data_dir: Path, minilm: LocalMiniLMEmbedder) -> Iterator[TestClient]:
    settings = Settings(data_dir=data_dir, api_keys=f"{READ}:read,{ADMIN}:admin")
    with client_with(settings, minilm) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


DOC = {"doc_id": "note.md", "text": "The ferry to the island leaves at noon every day."}


def test_every_route_but_healthz_needs_a_valid_key(secured: TestClient) -> None:
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/").status_code == 200  # the static page holds no data
    # the API viewers' own script files hold no data either
    assert secured.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    requests = [
        ("GET", "/readyz", None),
        ("GET", "/v1/documents", None),
        ("GET", "/v1/documents/note.md", None),
        ("POST", "/v1/query", {"question": "When does the ferry leave?"}),
        ("POST", "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}),
        ("GET", "/v1/models", None),
        ("POST", "/v1/documents", DOC),
        ("DELETE", "/v1/documents/note.md", None),
        ("GET", "/openapi.json", None),
        ("GET", "/docs", None),
        ("GET", "/redoc", None),
        ("GET", "/metrics", None),
    ]
    for method, path, body in requests:
        for headers in ({}, bearer("wrong-key-999"), {"Authorization": READ}):
            response = secured.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"]["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"


def test_read_keys_read_and_admin_keys_also_write(secured: TestClient) -> None:
    assert secured.post("/v1/documents", json=DOC, headers=bearer(READ)).status_code == 403
    assert secured.post("/v1/documents", json=DOC, headers=bearer(ADMIN)).status_code == 200
    for key in (READ, ADMIN):
        assert secured.get("/readyz", headers=bearer(key)).status_code == 200
        assert secured.get("/v1/documents/note.md", headers=bearer(key)).status_code == 200
        answer = secured.post(
            "/v1/query", json={"question": "When does the ferry leave?"}, headers=bearer(key)
        )
        assert answer.status_code == 200 and not answer.json()["abstained"]
        assert secured.get("/openapi.json", headers=bearer(key)).status_code == 200
    forbidden = secured.delete("/v1/documents/note.md", headers=bearer(READ))
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "forbidden"
    assert secured.delete("/v1/documents/note.md", headers=bearer(ADMIN)).status_code == 204


def test_openapi_declares_the_bearer_scheme(secured: TestClient) -> None:
    spec = secured.get("/openapi.json", headers=bearer(READ)).json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert {"HTTPBearer": []} in spec["paths"]["/v1/query"]["post"]["security"]
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_keys_never_reach_the_logs(secured: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secured.get("/readyz", headers=bearer("not-a-key-42"))
    secured.get("/readyz", headers=bearer(ADMIN))
    secured.post("/v1/documents", json=DOC, headers=bearer(READ))
    assert "not-a-key-42" not in caplog.text and ADMIN not in caplog.text
    assert READ not in caplog.text


def test_keys_file_and_malformed_keys(data_dir: Path, minilm: LocalMiniLMEmbedder) -> None:
    keys = data_dir.parent / "keys.txt"
    keys.write_text(f"# team keys\n{READ}:read\n{ADMIN}:admin  # ops\n")
    with client_with(Settings(data_dir=data_dir, api_keys_file=keys), minilm) as client:
        assert client.get("/readyz").status_code == 401
        assert client.get("/readyz", headers=bearer(READ)).status_code == 200
    for bad in ("k1:read", f"{READ}:write", f"{READ}", ":admin"):
        with pytest.raises(ConfigurationError):
            create_app(Settings(data_dir=data_dir, api_keys=bad))


def test_cors_is_closed_by_default_and_opens_per_origin(
    seeded: TestClient, data_dir: Path, minilm: LocalMiniLMEmbedder
) -> None:
    preflight = {
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    closed = seeded.options("/v1/query", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    settings = Settings(data_dir=data_dir, cors_origins="https://app.example.com")
    with client_with(settings, minilm) as client:
        allowed = client.options("/v1/query", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = client.options("/v1/query", headers={**preflight, "Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers


def test_rate_limit_per_key(data_dir: Path, minilm: LocalMiniLMEmbedder) -> None:
    settings = Settings(
        data_dir=data_dir, api_keys=f"{READ}:read,{ADMIN}:admin", rate_limit_per_minute=3
    )
    with client_with(settings, minilm) as client:
        codes = [client.get("/v1/documents", headers=bearer(READ)).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/v1/documents", headers=bearer(READ))
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(limited.headers["retry-after"]) <= 20
        assert client.get("/v1/documents", headers=bearer(ADMIN)).status_code == 200


def test_too_many_requests_in_flight_get_503_at_once(
    llm_server: LLMServer, data_dir: Path, minilm: LocalMiniLMEmbedder
) -> None:
    settings = llm_server.settings(data_dir, max_concurrent_requests=1)
    with LiveServer(make_app(settings, minilm)) as live:
        assert httpx.post(f"{live.url}/v1/documents", json=DOC, timeout=60).status_code == 200
        llm_server.state.push(Step(delay=3.0))
        slow: dict[str, int] = {}

        def ask() -> None:
            slow["status"] = httpx.post(
                f"{live.url}/v1/query", json={"question": "When?"}, timeout=30
            ).status_code

        worker = threading.Thread(target=ask)
        worker.start()
        for _ in range(200):  # until the first question is with the model
            if llm_server.state.chat_requests:
                break
            time.sleep(0.05)
        assert llm_server.state.chat_requests
        busy = httpx.post(f"{live.url}/v1/query", json={"question": "When?"}, timeout=30)
        worker.join()
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "busy"
    assert busy.headers["retry-after"] == "1"
    assert slow["status"] == 200


def test_upload_file_count_is_limited(data_dir: Path, minilm: LocalMiniLMEmbedder) -> None:
    settings = Settings(data_dir=data_dir, max_files_per_upload=2)
    with client_with(settings, minilm) as client:
        files = [("files", (f"n{i}.txt", b"some text here", "text/plain")) for i in range(3)]
        response = client.post("/v1/documents", files=files)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_files"
