from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from citeqa.contract import Answer


def _assert_verified(client: TestClient, body: dict) -> None:
    for citation in body["citations"]:
        doc = client.get(f"/v1/documents/{citation['doc_id']}").json()
        assert doc["text"][citation["start"] : citation["end"]] == citation["quote"]


def test_query_returns_the_answer_contract_with_verified_citations(seeded: TestClient) -> None:
    response = seeded.post("/v1/query", json={"question": "Who conveyed the decision to Ukraine?"})
    assert response.status_code == 200
    body = response.json()
    part1 = {"question", "answer", "abstained", "citations", "backend", "timings_ms"}
    part2 = {"sentences", "dropped_sentences", "fallback", "standalone_question"}
    part10 = {"confidence"}
    part8 = {"searched_documents", "verification"}
    assert set(body) == part1 | part2 | part10 | part8  # later parts added fields, removed none
    # the verifier reads by default (CITEQA_READER=verify): its best logit
    assert isinstance(body["verification"], float)
    Answer.model_validate(body)
    assert body["abstained"] is False and body["backend"] == "extractive"
    assert set(body["timings_ms"]) == {"retrieve", "answer", "total"}
    citation = body["citations"][0]
    assert {"n", "doc_id", "title", "source", "date", "quote", "start", "end", "score"} <= set(
        citation
    )
    assert "Cavoli" in citation["quote"] and citation["date"] == "2024-05-30"
    _assert_verified(seeded, body)


def test_unanswerable_question_abstains(seeded: TestClient) -> None:
    body = seeded.post("/v1/query", json={"question": "Who is the mayor of Kharkiv?"}).json()
    assert body["abstained"] is True and body["citations"] == []


def test_query_filters_and_top_k(seeded: TestClient) -> None:
    body = seeded.post(
        "/v1/query",
        json={"question": "Who conveyed the decision?", "top_k": 1, "filters": {"doc_id": "nope"}},
    ).json()
    assert body["abstained"] is True


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "question"),
        ({"question": "   "}, "empty"),
        ({"question": "why " * 3000}, "question"),
        ({"question": "ok", "top_k": 0}, "top_k"),
        ({"question": "ok", "top_k": 51}, "top_k"),
        ({"question": "ok", "filters": {"date_from": "yesterday"}}, "date"),
        ({"question": "ok", "filters": {"colour": "red"}}, "colour"),
        ({"question": "ok", "extra": 1}, "extra"),
        ({}, "question"),
        ([], "body"),
    ],
)
def test_bad_queries_get_a_422_with_a_clear_json_error(
    client: TestClient, payload: object, fragment: str
) -> None:
    response = client.post("/v1/query", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] in ("invalid_request", "invalid_input", "question_too_long")
    assert fragment in error["message"] or fragment == "body"


def test_malformed_json_is_a_422_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/v1/query", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
