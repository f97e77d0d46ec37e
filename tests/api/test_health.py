from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.conftest import free_port

VERIFIER = "ms-marco-MiniLM-L-12-v2 (int8), fine-tuned for near-misses"


@pytest.mark.model  # reports the real model
def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["embedder"] == "local:all-MiniLM-L6-v2"
    # the default (CITEQA_READER=verify): no reader reads every candidate, the verifier
    # reads the best units
    assert (ready["reader"], ready["reader_mode"]) == ("off", "verify")
    assert ready["verifier"] == VERIFIER
    components = client.get("/v1/models/citeqa").json()["components"]
    assert (components["verifier"], components["reader_mode"]) == (VERIFIER, "verify")


def test_the_reader_is_named_where_clients_look(
    settings: Settings, minilm: LocalMiniLMEmbedder
) -> None:
    from tests.api.conftest import make_app

    with TestClient(make_app(settings.replace(reader="on"), minilm)) as client:
        ready = client.get("/readyz").json()
        assert ready["reader"] == "ms-marco-MiniLM-L-12-v2 (int8)"
        model = client.get("/v1/models").json()["data"][0]
        assert model["components"]["reader"] == ready["reader"]
        assert ready["verifier"] == "off"  # unset, it follows CITEQA_READER
        assert ready["reader_mode"] == model["components"]["reader_mode"] == "on"
    with TestClient(make_app(settings.replace(reader="off"), minilm)) as client:
        ready = client.get("/readyz").json()
        assert (ready["reader"], ready["verifier"], ready["reader_mode"]) == ("off", "off", "off")
        model = client.get("/v1/models").json()["data"][0]
        assert model["components"]["verifier"] == "off"
    verifying = settings.replace(reader="off", answer={"verifier": True})
    with TestClient(make_app(verifying, minilm)) as client:
        ready = client.get("/readyz").json()
        assert (ready["reader"], ready["verifier"]) == ("off", VERIFIER)


def test_store_down_is_503_with_a_clean_body(minilm: LocalMiniLMEmbedder) -> None:
    app = create_app(Settings(chroma_url=f"http://127.0.0.1:{free_port()}"), embedder=minilm)
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


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_ref_in_the_openapi_document_resolves(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    refs = set(_refs(spec))
    # the hand-described JSON body of POST /v1/documents is among them
    assert "#/components/schemas/DocumentIn" in refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = spec
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]
    body = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    assert "text" in spec["components"]["schemas"]["DocumentIn"]["properties"]


def test_api_docs_pages_use_files_the_app_serves(client: TestClient) -> None:
    for path, script in (
        ("/docs", "/docs/assets/swagger-ui-bundle.js"),
        ("/redoc", "/docs/assets/redoc.standalone.js"),
    ):
        page = client.get(path)
        assert page.status_code == 200 and script in page.text
        assert "cdn" not in page.text.lower() and "googleapis" not in page.text
        asset = client.get(script)
        assert asset.status_code == 200 and len(asset.content) > 100_000
        assert asset.headers["content-type"].startswith("text/javascript")
    assert client.get("/docs/assets/swagger-ui.css").headers["content-type"].startswith("text/css")
    missing = client.get("/docs/assets/core.py")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
