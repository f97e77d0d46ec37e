from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.conftest import free_port


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["embedder"] == "local:all-MiniLM-L6-v2"


def test_store_down_is_503_with_a_clean_body(minilm: LocalMiniLMEmbedder) -> None:
    app = create_app(Settings(chroma_url=f"http://127.0.0.1:{free_port()}"))
    app.state.engines._embedder = minilm
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {
            "error": {"code": "store_unavailable", "message": "the document store is not reachable"}
        }
        query = client.post("/v1/query", json={"question": "anything?"})
        assert query.status_code == 503 and "Traceback" not in query.text
        assert query.headers.get("retry-after")


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    assert client.get("/nope").json()["error"]["code"] == "not_found"
    response = client.put("/v1/query", json={})
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_documents_the_routes_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/query", "/v1/documents", "/v1/documents/{doc_id}", "/healthz", "/readyz"} <= set(
        spec["paths"]
    )
    assert "examples" in spec["components"]["schemas"]["QueryRequest"]
    assert client.get("/docs").status_code == 200
