"""The ingestion pipeline: sources -> text -> chunks -> embeddings -> Chroma.

Idempotent and crash-safe: chunk ids are derived from (doc_id, content hash, index);
unchanged documents are skipped before any embedding; a changed document's old chunks are
removed before the new ones are written; a document is marked complete only after all of
its chunks are stored. Documents stream through one at a time, so memory stays flat.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa import metrics
from citeqa.components.embedder import Embedder
from citeqa.components.store import STORE_FORMAT, ChromaStore, Chunk, DocumentRecord
from citeqa.errors import (
    CiteqaError,
    DocumentTooLarge,
    DocumentUnreadable,
    InvalidInput,
    UnsupportedDocumentType,
)
from citeqa.segment import document_context, embedding_input, map_span, segment
from citeqa.sentences import SentenceVectors
from citeqa.settings import Settings
from ingest.chunking import chunk_passages
from ingest.loaders import LoadedDocument, clean_text, is_supported, load_bytes
from ingest.lock import store_write_lock
from ingest.manifest import Manifest, Plan, chunk_id, content_hash
from ingest.metadata import (
    date_as_int,
    derive_title,
    extract_date,
    extract_front_matter,
    parse_date,
)

log = logging.getLogger(__name__)

MAX_DOC_ID = 512


@dataclass
class Source:
    """One document to ingest: where it comes from and how to read it."""

    doc_id: str
    source: str
    name: str
    read: Callable[[], bytes] | None = None
    text: str | None = None
    title: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class DocumentOutcome:
    doc_id: str
    status: str  # added | updated | skipped | failed | unsupported
    chunks: int = 0
    message: str | None = None


@dataclass
class IngestResult:
    documents: list[DocumentOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for d in self.documents if d.status == status)

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents if d.status in ("added", "updated"))

    def summary(self) -> dict[str, Any]:
        return {
            "added": self.count("added"),
            "updated": self.count("updated"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "unsupported": self.count("unsupported"),
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


def _count(outcome: DocumentOutcome) -> None:
    metrics.ingest_documents.labels(outcome.status).inc()
    if outcome.status in ("added", "updated"):
        metrics.ingest_chunks.inc(outcome.chunks)


def validate_doc_id(doc_id: str) -> str:
    doc_id = doc_id.strip()
    if not doc_id or len(doc_id) > MAX_DOC_ID or any(ord(c) < 32 for c in doc_id):
        raise InvalidInput(f"doc_id must be 1-{MAX_DOC_ID} printable characters")
    return doc_id


def sources_from_paths(paths: Sequence[Path]) -> Iterator[Source]:
    """Files as given, directories recursively (hidden entries skipped). The doc_id is the
    path relative to the directory given, or the file name for a file given directly."""
    for root in paths:
        if not root.exists():
            raise InvalidInput(f"no such file or directory: {root}")
        if root.is_file():
            yield _file_source(root, root.name)
            continue
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts) or not path.is_file():
                continue
            yield _file_source(path, rel.as_posix())


def _file_source(path: Path, doc_id: str) -> Source:
    return Source(doc_id=doc_id, source=str(path), name=path.name, read=path.read_bytes)


class IngestPipeline:
    def __init__(self, store: ChromaStore, embedder: Embedder, settings: Settings) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        self._write_batch = max(settings.embed_batch_size, 64)
        # the embedded store takes a file lock against other writing processes
        self._lock_dir = None if settings.chroma_url else settings.data_dir

    def run(
        self,
        sources: Iterable[Source],
        on_document: Callable[[DocumentOutcome], None] | None = None,
        on_chunks: Callable[[int], None] | None = None,
    ) -> IngestResult:
        started = time.perf_counter()
        with store_write_lock(self._lock_dir):
            manifest = Manifest(self._store)
            result = IngestResult()
            for source in sources:
                outcome = self._ingest_one(source, manifest, on_chunks)
                _count(outcome)
                result.documents.append(outcome)
                if on_document:
                    on_document(outcome)
        result.seconds = time.perf_counter() - started
        return result

    def _parse(self, source: Source) -> tuple[str, str, str | None, LoadedDocument | None]:
        loaded: LoadedDocument | None = None
        if source.text is not None:
            text, _hidden = clean_text(source.text)
        else:
            if not is_supported(source.name):
                raise UnsupportedDocumentType(f"unsupported file type: {source.name}")
            assert source.read is not None
            try:
                data = source.read()
            except OSError as exc:
                raise DocumentUnreadable(f"could not read {source.name}") from exc
            if len(data) > self._settings.max_document_bytes:
                raise DocumentTooLarge(
                    f"{source.name} is larger than {self._settings.max_document_bytes} bytes"
                )
            loaded = load_bytes(data, source.name)
            text = loaded.text
        front, text = extract_front_matter(text)
        date, text = extract_date(text)
        date = parse_date(front["date"]) if "date" in front else date
        date = parse_date(str(source.metadata["date"])) if "date" in source.metadata else date
        if loaded is not None and loaded.pages:
            # PDF offsets are page-relative to the loader's text: keep that text whole.
            text = loaded.text
        title = derive_title(
            text,
            source.title or front.get("title") or (loaded.title_hint if loaded else None),
            source.name,
        )
        return text, title, date, loaded

    def _ingest_one(
        self, source: Source, manifest: Manifest, on_chunks: Callable[[int], None] | None
    ) -> DocumentOutcome:
        try:
            doc_id = validate_doc_id(source.doc_id)
            text, title, date, loaded = self._parse(source)
        except UnsupportedDocumentType as exc:
            return DocumentOutcome(source.doc_id, "unsupported", message=exc.message)
        except CiteqaError as exc:
            return DocumentOutcome(source.doc_id, "failed", message=exc.message)
        if not text.strip():
            return DocumentOutcome(doc_id, "failed", message="the document has no text")
        extra = {
            k: v
            for k, v in source.metadata.items()
            if k != "date" and isinstance(v, str | int | float | bool)
        }
        digest = content_hash(text, title, date, source.source, extra)
        plan = manifest.plan(doc_id, digest)
        warnings = loaded.warnings if loaded else []
        if plan is Plan.SKIP:
            return DocumentOutcome(doc_id, "skipped", message="unchanged")

        record = DocumentRecord(
            doc_id=doc_id,
            title=title,
            source=source.source,
            content_hash=digest,
            status="pending",
            n_chunks=0,
            date=date,
            extra=extra,
            text=text,
            kind=loaded.kind if loaded is not None else _kind_of(source.name),
            pages=[(start, end) for _number, start, end in loaded.pages] if loaded else None,
        )
        chunks = self._write(record, manifest, on_chunks)
        message = "; ".join(warnings) if warnings else None
        return DocumentOutcome(doc_id, plan.value, chunks=chunks, message=message)

    def _write(
        self,
        record: DocumentRecord,
        manifest: Manifest,
        on_chunks: Callable[[int], None] | None,
    ) -> int:
        """Chunk, embed and store a document's text in the current format; the record
        is pending until every chunk is written. Returns the number of chunks."""
        text, title, pages = record.text or "", record.title, record.pages or []
        # PDF pages are given so that running headers and footers left in texts stored
        # before the loader removed them are no unit either
        structure = segment(text, record.kind or "text", pages)
        passages = chunk_passages(
            structure,
            self._settings.chunk_size,
            self._settings.chunk_overlap,
            [start for start, _end in pages],
        )
        base_meta: dict[str, Any] = {
            "title": title,
            "context": document_context(structure, title, record.doc_id),
            "source": record.source,
            "content_hash": record.content_hash,
        }
        if record.date:
            base_meta["date"] = record.date
            base_meta["date_int"] = date_as_int(record.date)
        chunks = [
            Chunk(
                id=chunk_id(record.doc_id, record.content_hash, i),
                doc_id=record.doc_id,
                index=i,
                text=text[passage.start : passage.end],
                start=passage.start,
                end=passage.end,
                metadata={
                    **base_meta,
                    **_page_of(passage.start, pages),
                    **({"headings": " > ".join(passage.headings)} if passage.headings else {}),
                },
            )
            for i, passage in enumerate(passages)
        ]
        units_of = {
            c.id: [
                (u.start - c.start, u.end - c.start, u.kind)
                for u in structure.units_between(c.start, c.end)
            ]
            for c in chunks
        }
        record.status, record.n_chunks, record.format = "pending", len(chunks), STORE_FORMAT
        manifest.begin(record)
        self._store.delete_stale_chunks(record.doc_id, [c.id for c in chunks])
        for i in range(0, len(chunks), self._write_batch):
            batch = chunks[i : i + self._write_batch]
            inputs = [
                embedding_input(c.text, base_meta["context"], c.metadata.get("headings"))
                for c in batch
            ]
            vectors, matrices = self._embedder.embed_chunks(
                [model_text for model_text, _where in inputs],
                [
                    [map_span(where, a, b) for a, b, _kind in units_of[c.id]]
                    for c, (_model_text, where) in zip(batch, inputs, strict=True)
                ],
            )
            for chunk, matrix in zip(batch, matrices, strict=True):
                units = units_of[chunk.id]
                if matrix is not None and units:
                    chunk.sentences = SentenceVectors(
                        [(a, b) for a, b, _kind in units], matrix, [k for _a, _b, k in units]
                    )
            self._store.upsert_chunks(batch, vectors)
            if on_chunks:
                on_chunks(len(batch))
        manifest.complete(record)
        self._store.bump_generation()
        return len(chunks)

    def reindex(
        self,
        limit: int | None = None,
        on_document: Callable[[DocumentOutcome], None] | None = None,
    ) -> tuple[IngestResult, int]:
        """Rebuild, from their stored text, the documents of an older format (and any an
        interrupted run left pending), at most `limit` of them. Each is rebuilt whole
        or stays as it was, so a run can stop anywhere and the next one goes on.
        Returns what was done and how many documents remain."""
        started = time.perf_counter()
        result = IngestResult()
        with store_write_lock(self._lock_dir):
            todo = self._store.outdated_documents()
            manifest = Manifest(self._store)
            for doc_id in todo[:limit] if limit is not None else todo:
                record = self._store.get_document(doc_id)
                if record is None or not record.text:
                    outcome = DocumentOutcome(doc_id, "failed", message="no stored text")
                else:
                    if record.kind is None:
                        record.kind = _kind_of(doc_id)
                    if record.pages is None and record.kind == "pdf":
                        record.pages = _pages_from_chunks(
                            self._store.chunk_pages(doc_id), len(record.text)
                        )
                    chunks = self._write(record, manifest, None)
                    outcome = DocumentOutcome(doc_id, "updated", chunks=chunks)
                _count(outcome)
                result.documents.append(outcome)
                if on_document:
                    on_document(outcome)
            remaining = len(self._store.outdated_documents())
        result.seconds = time.perf_counter() - started
        return result, remaining

    def delete(self, doc_id: str) -> bool:
        with store_write_lock(self._lock_dir):
            if self._store.get_document(doc_id, with_text=False) is None:
                return False
            self._store.delete_document(doc_id)
            self._store.bump_generation()
            return True


def _kind_of(name: str) -> str:
    """How to read a text that came without a loader (JSON uploads, records stored
    before they said)."""
    lowered = name.lower()
    if lowered.endswith((".md", ".markdown")):
        return "markdown"
    return "pdf" if lowered.endswith(".pdf") else "text"


def _page_of(offset: int, pages: list[tuple[int, int]]) -> dict[str, int]:
    """The 1-based page a document offset lies on (PDFs)."""
    if not pages:
        return {}
    return {"page": max(1, bisect.bisect_right([start for start, _ in pages], offset))}


def _pages_from_chunks(chunk_pages: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Page spans of a PDF stored before its record kept them: each page from its first
    chunk's start to the next page's (pages were joined by a blank line then)."""
    starts: dict[int, int] = {}
    for page, start in chunk_pages:
        starts[page] = min(start, starts.get(page, start))
    if not starts:
        return []
    spans = []
    numbers = list(range(1, max(starts) + 1))
    begins = [starts.get(n) for n in numbers]
    for i, begin in enumerate(begins):
        if begin is None:  # a page without text: an empty span at the next page's start
            begin = next((b for b in begins[i + 1 :] if b is not None), length)
        later = next((b for b in begins[i + 1 :] if b is not None), length + 2)
        spans.append((begin, max(begin, later - 2)))
    return spans
