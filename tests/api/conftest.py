from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.deps import EngineProvider
from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.conftest import SEED_FILE, require_shared


@pytest.fixture
def client(settings: Settings, minilm: LocalMiniLMEmbedder) -> Iterator[TestClient]:
    app = create_app(settings)
    provider: EngineProvider = app.state.engines
    provider._embedder = minilm  # the session's already-loaded model, not a second copy
    with TestClient(app) as test_client:
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
