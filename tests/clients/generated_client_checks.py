"""Run by the clients' interpreter (build/clients) against a client that
openapi-python-client generated from citeqa's /openapi.json: upload (JSON and
multipart), list, query plainly and streamed, and print what came back as JSON for the
test to check. Usage: python generated_client_checks.py BASE_URL CLIENT_PARENT_DIR"""

from __future__ import annotations

import io
import json
import sys


def main() -> None:
    base_url, parent = sys.argv[1], sys.argv[2]
    sys.path.insert(0, parent)
    from citeqa_client import Client
    from citeqa_client.api.documents import (
        add_documents_v1_documents_post as add,
    )
    from citeqa_client.api.documents import (
        list_documents_v1_documents_get as listing,
    )
    from citeqa_client.api.query import query_stream, query_v1_query_post
    from citeqa_client.models import (
        AddDocumentsV1DocumentsPostFilesBody,
        Answer,
        DocumentIn,
        DocumentList,
        IngestReport,
        QueryRequest,
    )
    from citeqa_client.types import File

    # the server has no keys: its document declares no security, and the plain Client
    # (no token) is the one to use
    client = Client(base_url=base_url, timeout=120)
    as_json = add.sync(
        client=client,
        body=DocumentIn(text="The ferry leaves the old town at noon every day.", doc_id="ferry.md"),
    )
    note = File(
        payload=io.BytesIO(b"The museum is closed on Mondays and opens at nine."),
        file_name="museum.txt",
        mime_type="text/plain",
    )
    as_file = add.sync(client=client, body=AddDocumentsV1DocumentsPostFilesBody(files=[note]))
    assert isinstance(as_json, IngestReport), as_json
    assert isinstance(as_file, IngestReport), as_file
    listed = listing.sync(client=client)
    assert isinstance(listed, DocumentList)
    plain = query_v1_query_post.sync(
        client=client, body=QueryRequest(question="When does the ferry leave?")
    )
    assert isinstance(plain, Answer), plain
    # the events come as the body's text (the generator reads no event schema)
    streamed = query_stream.sync_detailed(
        client=client, body=QueryRequest(question="When is the museum closed?")
    )
    assert streamed.status_code == 200, streamed
    print(
        json.dumps(
            {
                "added_json": as_json.added,
                "added_file": as_file.added,
                "listed": sorted(d.doc_id for d in listed.documents),
                "answer": plain.answer,
                "citations": [
                    {"doc_id": c.doc_id, "start": c.start, "end": c.end, "quote": c.quote}
                    for c in plain.citations
                ],
                "stream": streamed.content.decode("utf-8"),
            }
        )
    )


if __name__ == "__main__":
    main()
