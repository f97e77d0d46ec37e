"""The document service: what callers do to the stored documents (add, list, read,
retitle, delete, reindex), over the ingest pipeline it owns. It lives on the write
side; the read path (`citeqa/`) never imports it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from citeqa.components.container import Components
from citeqa.domain import DocumentRecord
from citeqa.errors import DocumentNotFound, InvalidInput
from ingest.jobs import describe
from ingest.pipeline import DocumentOutcome, IngestPipeline, IngestResult, Source


class DocumentService:
    def __init__(self, components: Components, stop: threading.Event | None = None) -> None:
        """`stop`, when set, makes an ingest in progress roll back its unfinished group
        of documents and raise ShuttingDown (a server that is stopping sets it)."""
        self.store = components.store
        self.pipeline = IngestPipeline(
            components.store, components.embedder, components.settings, stop
        )

    def ingest(
        self,
        sources: Iterable[Source],
        on_document: Callable[[DocumentOutcome], None] | None = None,
        on_chunks: Callable[[int], None] | None = None,
        on_reading: Callable[[str], None] | None = None,
    ) -> IngestResult:
        return self.pipeline.run(
            sources, on_document=on_document, on_chunks=on_chunks, on_reading=on_reading
        )

    def get_document(self, doc_id: str) -> DocumentRecord:
        record = self.store.documents.get(doc_id)
        if record is None or record.status != "complete":
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return record

    def ids(self) -> list[str]:
        """The id of every stored document, whatever its status, in the store's order."""
        return list(self.store.documents.manifest())

    def records(self, doc_ids: Sequence[str]) -> dict[str, DocumentRecord]:
        """These documents' records, text included, whatever their status; ids not
        stored are left out."""
        return self.store.documents.get_many(doc_ids)

    def list_documents(self, limit: int = 50, offset: int = 0) -> tuple[list[DocumentRecord], int]:
        if not 1 <= limit <= 1000 or offset < 0:
            raise InvalidInput("limit must be 1-1000 and offset not negative")
        return self.store.documents.list_page(limit, offset)

    def reindex(
        self,
        limit: int | None = None,
        on_document: Callable[[DocumentOutcome], None] | None = None,
    ) -> tuple[IngestResult, int]:
        """Rebuild documents stored in an older format from their stored text (at most
        `limit`); returns what was done and how many remain."""
        if limit is not None and limit < 1:
            raise InvalidInput("limit must be at least 1")
        return self.pipeline.reindex(limit, on_document)

    def update_document(self, doc_id: str, **fields: Any) -> DocumentRecord:
        """Change a document's title or date (IngestPipeline.update_fields): nothing is
        read or embedded again."""
        record = self.pipeline.update_fields(doc_id, **fields)
        if record is None:
            raise DocumentNotFound(f"no document with id {doc_id!r}")
        return record

    def delete_document(self, doc_id: str) -> None:
        if not self.pipeline.delete(doc_id):
            raise DocumentNotFound(f"no document with id {doc_id!r}")

    def job(self, job_id: str) -> dict[str, Any]:
        """An ingest job's state as recorded in the store (JobNotFound when unknown)."""
        return describe(self.store, job_id)
