"""The OpenAPI document says what this server does as configured (security, errors,
links), and the server keeps to it: 405 with Allow, the error shape for unknown methods
and paths, request rules the schema states. schemathesis checks the same from outside
(tests/api/test_schema_fuzz.py); these name each behaviour on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.settings import Settings
from tests.api.conftest import make_app

ADMIN = "admin-key-4567"
ADMIN_ROUTES = {
    ("post", "/v1/documents"),
    ("delete", "/v1/documents/{doc_id}"),
    ("patch", "/v1/documents/{doc_id}"),
    ("get", "/v1/ingest-jobs/{job_id}"),
    ("post", "/v1/reindex"),
}


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in document["paths"].items()
        for method, op in item.items()
    }


def test_keyless_document_declares_no_security(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "securitySchemes" not in document["components"]
    for key, op in operations(document).items():
        assert "security" not in op, key
        assert not {"401", "403"} & set(op["responses"]), key


def test_keyed_document_declares_the_key_and_its_refusals(
    data_dir: Path, minilm: LocalMiniLMEmbedder
) -> None:
    settings = Settings(data_dir=data_dir, api_keys=f"{ADMIN}:admin", rate_limit_per_minute=600)
    with TestClient(make_app(settings, minilm, warm_up=False)) as keyed:
        auth = {"Authorization": f"Bearer {ADMIN}"}
        document = keyed.get("/openapi.json", headers=auth).json()
    assert set(document["components"]["securitySchemes"]) == {"HTTPBearer"}
    for key, op in operations(document).items():
        responses = op["responses"]
        if key == ("get", "/healthz"):
            assert "security" not in op and set(responses) == {"200"}
            continue
        assert op["security"] == [{"HTTPBearer": []}], key
        assert {"401", "429", "503"} <= set(responses), key
        assert ("403" in responses) == (key in ADMIN_ROUTES), key
        body = (
            "OpenAIErrorBody"
            if key[1].startswith("/v1/models") or "chat" in key[1]
            else "ErrorBody"
        )
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{body}"}, (key, status)


def test_errors_are_documented_in_the_shape_sent(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's, never sent
    ops = operations(document)
    # the OpenAI routes answer an invalid request with a 400, never a 422
    chat = ops[("post", "/v1/chat/completions")]["responses"]
    assert "400" in chat and "422" not in chat
    assert "422" in ops[("post", "/v1/query")]["responses"]
    response = client.post("/v1/query", json={"question": "ok", "top_k": "3"})
    assert response.status_code == 422 and set(response.json()["error"]) == {"code", "message"}


def test_links_lead_from_upload_and_model_list(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    ops = operations(document)
    ids = {op["operationId"] for op in ops.values()}
    upload = ops[("post", "/v1/documents")]["responses"]
    to_document = upload["200"]["links"]["GetDocument"]
    assert to_document["parameters"] == {"doc_id": "$response.body#/documents/0/doc_id"}
    assert upload["202"]["links"]["GetIngestJob"]["parameters"] == {
        "job_id": "$response.body#/job_id"
    }
    models = ops[("get", "/v1/models")]["responses"]["200"]["links"]["GetModel"]
    assert models["parameters"] == {"model_id": "$response.body#/data/0/id"}
    links = [*upload["200"]["links"].values(), upload["202"]["links"]["GetIngestJob"], models]
    assert all(link["operationId"] in ids for link in links)
    # and the expressions find what the responses hold
    added = client.post(
        "/v1/documents", json={"doc_id": "n.md", "text": "The ferry leaves at noon."}
    )
    assert added.json()["documents"][0]["doc_id"] == "n.md"
    assert client.get("/v1/models").json()["data"][0]["id"] == "citeqa"


# How to get each response a link starts from: (method, path, status) -> a request that
# answers with it. A link from a response not named here fails the test below.
LINK_SOURCES: dict[tuple[str, str, str], tuple[str, str, dict[str, Any]]] = {
    ("post", "/v1/documents", "200"): (
        "POST",
        "/v1/documents",
        {"json": {"doc_id": "linked.md", "text": "The ferry leaves at noon."}},
    ),
    ("post", "/v1/documents", "202"): (
        "POST",
        "/v1/documents?wait=false",
        {"files": [("files", ("queued.txt", b"The tram stops at dusk.", "text/plain"))]},
    ),
    ("get", "/v1/models", "200"): ("GET", "/v1/models", {}),
}


def _pointer(body: Any, expression: str) -> Any:
    """A `$response.body#/a/0/b` runtime expression evaluated on a response body."""
    prefix = "$response.body#"
    assert expression.startswith(prefix), expression
    for part in expression[len(prefix) :].strip("/").split("/"):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def test_every_link_of_the_document_leads_somewhere(client: TestClient) -> None:
    """Each link, followed as a stateful client would: the response it starts from is
    made, its expressions are read from it, and the operation it names answers 2xx."""
    document = client.get("/openapi.json").json()
    by_id = {op["operationId"]: key for key, op in operations(document).items()}
    followed = 0
    for (method, path), op in operations(document).items():
        for status, response in op["responses"].items():
            for name, link in response.get("links", {}).items():
                assert (method, path, status) in LINK_SOURCES, (method, path, status, name)
                verb, url, kwargs = LINK_SOURCES[(method, path, status)]
                source = client.request(verb, url, **kwargs)
                assert str(source.status_code) == status, (name, source.text)
                target_method, target_path = by_id[link["operationId"]]
                for parameter, expression in link["parameters"].items():
                    value = _pointer(source.json(), expression)
                    target_path = target_path.replace("{" + parameter + "}", str(value))
                answer = client.request(target_method.upper(), target_path)
                assert 200 <= answer.status_code < 300, (name, target_path, answer.text)
                followed += 1
    assert followed >= 4


def test_405_names_every_method_of_the_path(client: TestClient) -> None:
    for method, path, allow in [
        ("TRACE", "/v1/documents/x.md", "DELETE, GET, PATCH"),
        ("PUT", "/v1/documents", "GET, POST"),
        ("FOO", "/healthz", "GET"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == allow
        assert response.json() == {
            "error": {"code": "method_not_allowed", "message": "Method Not Allowed"}
        }
    unknown = client.request("FOO", "/nowhere")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_a_body_that_is_not_utf8_json_is_an_invalid_request(client: TestClient) -> None:
    junk = {"content": b"\xff\xfe\x19", "headers": {"content-type": "application/json"}}
    response = client.post("/v1/query", **junk)
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": "the body is not valid JSON",
    }
    chat = client.post("/v1/chat/completions", **junk)
    assert chat.status_code == 400 and chat.json()["error"]["type"] == "invalid_request_error"


def test_integers_as_json_schema_means_them(client: TestClient) -> None:
    # 2.0 is an integer to JSON Schema; a string or a boolean is not
    assert client.post("/v1/reindex", json={"limit": 2.0}).status_code == 200
    for limit in ("2", True, 2.5):
        assert client.post("/v1/reindex", json={"limit": limit}).status_code == 422, limit


def test_chat_question_is_the_last_user_message(seeded: TestClient) -> None:
    def ask(messages: list[dict[str, Any]]) -> Any:
        return seeded.post("/v1/chat/completions", json={"model": "citeqa", "messages": messages})

    asked = {"role": "user", "content": "Who conveyed the decision to Ukraine?"}
    plain = ask([asked]).json()
    # a reply sent back after the question does not change what is answered
    trailing = ask([asked, {"role": "assistant", "content": "An earlier reply."}])
    assert trailing.status_code == 200
    assert trailing.json()["citeqa"]["answer"] == plain["citeqa"]["answer"]
    for messages, param in [
        ([{"role": "tool", "content": "x"}], None),  # no question at all
        ([{"role": "user", "content": "   "}], "messages.0.user.content"),
        ([{"role": "user"}], "messages.0.user.content"),
    ]:
        refused = ask(messages)
        assert refused.status_code == 400, messages
        error = refused.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert param is None or (error["param"] or "").startswith(param), error


def test_a_date_range_ending_before_it_starts_matches_nothing(seeded: TestClient) -> None:
    response = seeded.post(
        "/v1/query",
        json={
            "question": "Who conveyed the decision to Ukraine?",
            "filters": {"date_from": "2024-06-01", "date_to": "2024-01-01"},
        },
    )
    assert response.status_code == 200
    assert response.json()["abstained"] is True and response.json()["citations"] == []
    for date in ("2024-5-30", " 2024-05-30", "2024-W22-4", "2024-02-30"):
        refused = seeded.post("/v1/query", json={"question": "ok", "filters": {"date_to": date}})
        assert refused.status_code == 422, date


def test_upload_doc_id_names_one_file(client: TestClient) -> None:
    note = ("files", ("a.txt", b"The museum opens at nine.", "text/plain"))
    other = ("files", ("b.txt", b"The ferry leaves at noon.", "text/plain"))
    for data, files in [({"doc_id": ""}, [note]), ({"doc_id": "x"}, [note, other])]:
        response = client.post("/v1/documents", data=data, files=files)
        assert response.status_code == 422, data
    assert client.post("/v1/documents", data={"doc_id": "x"}, files=[note]).status_code == 200
