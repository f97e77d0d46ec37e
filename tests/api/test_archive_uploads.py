"""Archives and compressed files through POST /v1/documents: one outcome per member, and
bombs and traversing names refused with a clear 4xx before anything of them is stored."""

from __future__ import annotations

import gzip
import io
import zipfile

from fastapi.testclient import TestClient

FERRY = b"# Ferry times\n\nThe night ferry to Gull Island leaves Pier 4 at 23:15.\n"
MUSEUM = b"The harbour museum is closed on Mondays and open late on Thursdays.\n"


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_and_a_gz_upload_store_each_supported_file(client: TestClient) -> None:
    response = client.post(
        "/v1/documents",
        files=[
            ("files", ("docs.zip", _zip({"guide/ferry.md": FERRY, "logo.png": b"\x89PNG"}))),
            ("files", ("museum.txt.gz", gzip.compress(MUSEUM))),
        ],
    )
    assert response.status_code == 207, response.text  # the png was not stored
    outcomes = {d["doc_id"]: d["status"] for d in response.json()["documents"]}
    assert outcomes == {
        "docs.zip/guide/ferry.md": "added",
        "docs.zip/logo.png": "unsupported",
        "museum.txt.gz": "added",
    }
    ferry = client.get("/v1/documents/docs.zip/guide/ferry.md").json()
    assert ferry["source"] == "upload:docs.zip/guide/ferry.md" and ferry["title"] == "Ferry times"
    answer = client.post("/v1/query", json={"question": "When does the night ferry leave?"})
    assert answer.json()["citations"][0]["doc_id"] == "docs.zip/guide/ferry.md"


def test_a_zip_bomb_upload_is_413_and_stores_nothing(client: TestClient) -> None:
    zeros = bytes(1 << 20)
    bomb = _zip({f"part{i}.txt": zeros * 15 for i in range(10)})  # 150 MiB in ~150 KB
    assert len(bomb) < 500_000
    response = client.post(
        "/v1/documents", files=[("files", ("bomb.zip", bomb, "application/zip"))]
    )
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"]["code"] == "archive_too_large" and "bomb.zip" in body["error"]["message"]
    assert body["documents"][0]["doc_id"] == "bomb.zip"
    assert client.get("/v1/documents").json()["total"] == 0


def test_a_traversing_member_name_is_422_and_stores_nothing(client: TestClient) -> None:
    hostile = _zip({"ok.txt": MUSEUM, "../../etc/cron.d/evil.txt": b"* * * * * root sh"})
    response = client.post("/v1/documents", files=[("files", ("h.zip", hostile))])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "archive_refused"
    assert client.get("/v1/documents").json()["total"] == 0
