from __future__ import annotations

import random

from fastapi.testclient import TestClient

from citeqa.settings import Settings
from tests.conftest import SEED_FILE


def test_upload_list_show_delete_round_trip(seeded: TestClient) -> None:
    listing = seeded.get("/v1/documents").json()
    assert listing["total"] == 1
    doc = listing["documents"][0]
    assert doc["doc_id"] == SEED_FILE.name and doc["date"] == "2024-05-30" and doc["n_chunks"] > 0
    shown = seeded.get(f"/v1/documents/{SEED_FILE.name}").json()
    assert shown["text"].startswith("President Biden")  # the date line left the body
    assert seeded.delete(f"/v1/documents/{SEED_FILE.name}").status_code == 204
    assert seeded.get(f"/v1/documents/{SEED_FILE.name}").status_code == 404
    assert (
        seeded.delete(f"/v1/documents/{SEED_FILE.name}").json()["error"]["code"]
        == "document_not_found"
    )
    assert seeded.get("/v1/documents").json()["total"] == 0


def test_reupload_of_the_same_file_is_skipped(seeded: TestClient) -> None:
    again = seeded.post(
        "/v1/documents", files=[("files", (SEED_FILE.name, SEED_FILE.read_bytes(), "text/plain"))]
    )
    assert again.json()["skipped"] == 1 and again.json()["chunks"] == 0


def test_json_document_is_ingested_and_answerable(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        json={
            "doc_id": "ferry",
            "title": "Ferry",
            "text": "The night ferry leaves Pier 4 at 23:15.",
            "metadata": {"date": "2025-01-02", "team": "ops"},
        },
    )
    assert response.status_code == 200 and response.json()["added"] == 1
    doc = client.get("/v1/documents/ferry").json()
    assert doc["date"] == "2025-01-02" and doc["metadata"] == {"team": "ops"}
    answer = client.post("/v1/query", json={"question": "When does the night ferry leave?"}).json()
    assert answer["citations"][0]["doc_id"] == "ferry"


def test_uploaded_names_cannot_escape_with_paths(client: TestClient) -> None:
    for name in ("../../etc/passwd.txt", "/etc/hosts.txt", "..\\..\\win.txt"):
        response = client.post(
            "/v1/documents", files=[("files", (name, b"Harmless text here.", "text/plain"))]
        )
        assert response.status_code == 200
        doc_id = response.json()["documents"][0]["doc_id"]
        assert "/" not in doc_id and "\\" not in doc_id and not doc_id.startswith("..")


def test_a_mixed_upload_stores_the_good_files_and_answers_207_with_each_outcome(
    client: TestClient,
) -> None:
    noise = random.Random(11).randbytes(3_000_000)
    response = client.post(
        "/v1/documents",
        files=[
            ("files", ("ok.txt", b"The ferry leaves at noon.", "text/plain")),
            ("files", ("x.exe", b"MZ", "application/octet-stream")),
            ("files", ("noise.txt", noise, "text/plain")),
            ("files", ("broken.pdf", b"%PDF-1.4 cut short", "application/pdf")),
        ],
    )
    assert response.status_code == 207, response.text
    report = response.json()
    assert report["partial"] is True and report["added"] == 1 and report["unsupported"] == 2
    outcomes = {d["doc_id"]: (d["status"], d["code"]) for d in report["documents"]}
    assert outcomes == {
        "ok.txt": ("added", None),
        "x.exe": ("unsupported", "unsupported_type"),
        "noise.txt": ("unsupported", "not_text"),
        "broken.pdf": ("failed", "document_unreadable"),
    }
    assert all(d["message"] for d in report["documents"] if d["status"] != "added")
    listing = client.get("/v1/documents").json()
    assert [d["doc_id"] for d in listing["documents"]] == ["ok.txt"]
    again = client.post(
        "/v1/documents", files=[("files", ("ok.txt", b"The ferry leaves at noon.", "text/plain"))]
    )
    assert again.status_code == 200 and again.json()["partial"] is False


def test_an_upload_of_only_unsupported_files_is_415_with_each_outcome(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        files=[
            ("files", ("x.exe", b"MZ", "application/octet-stream")),
            ("files", ("y.bin", b"\x00\x01", "application/octet-stream")),
        ],
    )
    assert response.status_code == 415
    body = response.json()
    assert body["error"]["code"] == "unsupported_type"
    assert "x.exe" in body["error"]["message"] and "y.bin" in body["error"]["message"]
    assert [(d["doc_id"], d["status"]) for d in body["documents"]] == [
        ("x.exe", "unsupported"),
        ("y.bin", "unsupported"),
    ]
    assert client.get("/v1/documents").json()["total"] == 0


def test_binary_upload_named_as_text_is_415_not_text_and_stores_nothing(
    client: TestClient,
) -> None:
    noise = random.Random(11).randbytes(3_000_000)
    response = client.post("/v1/documents", files=[("files", ("noise.txt", noise, "text/plain"))])
    assert response.status_code == 415
    error = response.json()["error"]
    assert error["code"] == "not_text" and "noise.txt" in error["message"]
    garbled = "".join(chr(0xE000 + i % 300) for i in range(3000))
    response = client.post("/v1/documents", json={"text": garbled, "doc_id": "garbled"})
    assert response.status_code == 415 and response.json()["error"]["code"] == "not_text"
    assert client.get("/v1/documents").json()["total"] == 0


def test_oversized_upload_is_413(settings: Settings, client: TestClient) -> None:
    limit = settings.ingest.max_document_bytes
    response = client.post(
        "/v1/documents", files=[("files", ("big.txt", b"a" * (limit + 1), "text/plain"))]
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "document_too_large"


def test_bad_json_documents_are_422(client: TestClient) -> None:
    assert client.post("/v1/documents", json={"text": ""}).status_code == 422
    assert client.post("/v1/documents", json={"txt": "typo"}).status_code == 422
    for body in (b"{oops", b"\x89PNG\r\n", b'{"text": "caf\xe9"}'):  # bad JSON, not UTF-8
        response = client.post(
            "/v1/documents", content=body, headers={"content-type": "application/json"}
        )
        assert (
            response.status_code == 422
            and response.json()["error"]["message"] == "the body is not valid JSON"
        )


def test_other_content_types_are_415(client: TestClient) -> None:
    response = client.post(
        "/v1/documents", content=b"hello", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415


def test_listing_pages(client: TestClient) -> None:
    for i in range(3):
        client.post(
            "/v1/documents", json={"doc_id": f"d{i}", "text": f"Note number {i} about kites."}
        )
    page = client.get("/v1/documents", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 3 and [d["doc_id"] for d in page["documents"]] == ["d1", "d2"]
    assert client.get("/v1/documents", params={"limit": 0}).status_code == 422


def test_multipart_without_a_boundary_in_its_content_type_is_read(client: TestClient) -> None:
    # some generated clients send "multipart/form-data" alone; the body names the boundary
    body = (
        b"--b0und4ry\r\n"
        b'Content-Disposition: form-data; name="files"; filename="pier.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"The pier opens at dawn.\r\n"
        b"--b0und4ry--\r\n"
    )
    response = client.post(
        "/v1/documents", content=body, headers={"content-type": "multipart/form-data"}
    )
    assert response.status_code == 200 and response.json()["added"] == 1
    assert client.get("/v1/documents/pier.txt").json()["text"] == "The pier opens at dawn."
    garbage = client.post(
        "/v1/documents", content=b"no parts here", headers={"content-type": "multipart/form-data"}
    )
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] == "invalid_input"


def test_suggestions_are_drawn_from_the_stored_documents(client: TestClient) -> None:
    assert client.get("/v1/suggestions").json() == {"questions": []}
    docs = [
        {
            "doc_id": "guide.md",
            "title": "Ferry guide",
            "text": "## Winter timetable\n\nBoats stop at 8 p.m.",
        },
        {"doc_id": "plain.txt", "title": "Pier notes", "text": "The pier opens at dawn."},
        {  # a heading that only says the title again is no subject
            "doc_id": "readme.txt",
            "title": "The harbour ferry software (README.ferry)",
            "text": "# The harbour ferry software\n\nIt prints timetables.",
        },
    ]
    for doc in docs:
        assert client.post("/v1/documents", json=doc).status_code == 200
    questions = client.get("/v1/suggestions", params={"n": 5}).json()["questions"]
    # short questions a person would ask, from headings, never repeating the title
    assert questions == [
        "What should I know about the winter timetable?",
        "What is Pier notes about?",
        "What is The harbour ferry software about?",
    ]
    assert len(client.get("/v1/suggestions", params={"n": 1}).json()["questions"]) == 1
    assert client.get("/v1/suggestions", params={"n": 0}).status_code == 422
    listed = client.get("/v1/documents").json()["documents"]
    assert {d["doc_id"]: d["chars"] for d in listed} == {
        d["doc_id"]: len(client.get(f"/v1/documents/{d['doc_id']}").json()["text"]) for d in docs
    }
