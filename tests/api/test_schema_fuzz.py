"""Schemathesis against the app's own OpenAPI, in process: for every route, generated
valid and invalid requests never get a 5xx, invalid ones are rejected, responses match
the declared schemas, and the declared bearer auth is enforced."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

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

pytestmark = pytest.mark.slow

ADMIN = "fuzz-admin-key-1"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


# The schema is read when the module loads, so the app is built then, over a store of
# its own (the shared model is loaded once per process whoever asks first).
_STORE = Path(tempfile.mkdtemp(prefix="citeqa-fuzz-"))
APP = create_app(Settings(data_dir=_STORE, api_keys=f"{ADMIN}:admin"), warm_up=False)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=AUTH)


@pytest.fixture(scope="module", autouse=True)
def seeded_app(minilm: LocalMiniLMEmbedder) -> Iterator[None]:
    provider: EngineProvider = APP.state.engines
    provider._embedder = minilm
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
        headers=AUTH,
        checks=[
            not_a_server_error,
            negative_data_rejection,
            response_schema_conformance,
            ignored_auth,
        ],
    )
