"""Titles a user recognises: the file's metadata title or first heading, else its name
made readable, never a sentence; a `title` given on upload; PATCH /v1/documents/{id}
changes a title or date without reading or embedding the document again."""

from __future__ import annotations

import gzip
from typing import Any

from fastapi.testclient import TestClient

README = (
    b"This is the file README for the gzip distribution.\n\n"
    b"Gzip compresses files with the deflate method. The ferry to Gull Island leaves "
    b"Pier 4 at 23:15 every night except Sundays.\n"
)


def _chunks(client: TestClient, doc_id: str) -> dict[str, Any]:
    store = client.app.state.engines.get().components.store  # type: ignore[attr-defined]
    return store.collection("chunks").get(  # the stored rows as Chroma has them
        where={"doc_id": doc_id}, include=["embeddings", "documents", "metadatas"]
    )


def test_a_first_line_that_is_a_sentence_gives_way_to_the_file_name(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        files=[
            ("files", ("README_gzip.txt", README)),
            ("files", ("changelog.Debian.gz", gzip.compress(b"  * New upstream release.\n"))),
            ("files", ("README.bin", bytes(range(256)) * 40)),
        ],
    )
    assert response.status_code == 207, response.text
    codes = {d["doc_id"]: d["code"] for d in response.json()["documents"]}
    assert codes == {
        "README_gzip.txt": None,
        "changelog.Debian.gz": None,
        "README.bin": "not_text",
    }
    assert client.get("/v1/documents/README_gzip.txt").json()["title"] == "README gzip"
    changelog = client.get("/v1/documents/changelog.Debian.gz").json()
    assert changelog["title"] == "Changelog Debian" and "New upstream" in changelog["text"]


def test_a_title_given_on_upload_is_the_title(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        files=[("files", ("README.Debian.gz", gzip.compress(README)))],
        data={"title": "  Gzip: the README  "},
    )
    assert response.status_code == 200, response.text
    assert client.get("/v1/documents/README.Debian.gz").json()["title"] == "Gzip: the README"
    two = client.post(
        "/v1/documents",
        files=[("files", ("a.txt", b"one")), ("files", ("b.txt", b"two"))],
        data={"title": "Both"},
    )
    assert two.status_code == 422 and "single file" in two.json()["error"]["message"]


def test_patch_changes_title_and_date_without_embedding_again(client: TestClient) -> None:
    assert client.post("/v1/documents", files=[("files", ("gzip.txt", README))]).status_code == 200
    before = _chunks(client, "gzip.txt")
    question = {"question": "When does the ferry to Gull Island leave?"}
    assert client.post("/v1/query", json=question).json()["citations"][0]["title"] == "Gzip"

    response = client.patch(
        "/v1/documents/gzip.txt", json={"title": "Gzip manual", "date": "2024-05-30"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Gzip manual" and response.json()["date"] == "2024-05-30"

    after = _chunks(client, "gzip.txt")
    assert after["ids"] == before["ids"] and after["documents"] == before["documents"]
    assert (after["embeddings"] == before["embeddings"]).all()
    for meta in after["metadatas"]:
        assert meta["title"] == "Gzip manual" and meta["date"] == "2024-05-30"
    shown = client.get("/v1/documents/gzip.txt").json()
    assert shown["title"] == "Gzip manual" and shown["date"] == "2024-05-30"
    listed = client.get("/v1/documents").json()["documents"]
    assert [d["title"] for d in listed] == ["Gzip manual"]
    citation = client.post("/v1/query", json=question).json()["citations"][0]
    assert citation["doc_id"] == "gzip.txt" and citation["title"] == "Gzip manual"
    dated = client.post("/v1/query", json={**question, "filters": {"date_from": "2024-05-01"}})
    assert dated.json()["citations"][0]["doc_id"] == "gzip.txt"

    # the unchanged file again: skipped, and the title stays
    again = client.post("/v1/documents", files=[("files", ("gzip.txt", README))])
    assert again.json()["skipped"] == 1
    assert client.get("/v1/documents/gzip.txt").json()["title"] == "Gzip manual"

    cleared = client.patch("/v1/documents/gzip.txt", json={"date": None})
    assert cleared.status_code == 200 and cleared.json()["date"] is None
    assert all("date" not in m for m in _chunks(client, "gzip.txt")["metadatas"])


def test_patch_refuses_bad_changes_and_unknown_documents(client: TestClient) -> None:
    assert client.post("/v1/documents", files=[("files", ("gzip.txt", README))]).status_code == 200
    for body in ({"title": ""}, {"title": "   "}, {"date": "next Tuesday"}, {"tag": "x"}):
        response = client.patch("/v1/documents/gzip.txt", json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["code"] in ("invalid_input", "invalid_request")
    missing = client.patch("/v1/documents/nope.txt", json={"title": "X"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "document_not_found"
    assert client.get("/v1/documents/gzip.txt").json()["title"] == "Gzip"
    for nothing in ({}, {"title": None}):  # nothing to change: the document as it is
        same = client.patch("/v1/documents/gzip.txt", json=nothing)
        assert same.status_code == 200 and same.json()["title"] == "Gzip"
