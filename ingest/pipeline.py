"""The ingestion pipeline: sources -> text -> chunks -> embeddings -> Chroma.

Idempotent and crash-safe: chunk ids are derived from (doc_id, content hash, index);
unchanged documents are skipped before any embedding; a changed document's new chunks are
written before its old ones are removed; a document is marked complete only after all of
its chunks are stored. Documents stream through in groups of bounded size (GROUP_CHUNKS),
so memory stays flat while short documents share embedding batches and store writes.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from citeqa import deadline, metrics
from citeqa.components.embedder import Embedder
from citeqa.components.store import ChromaStore
from citeqa.domain import STORE_FORMAT, Chunk, DocumentRecord
from citeqa.errors import (
    CiteqaError,
    DocumentTooLarge,
    DocumentUnreadable,
    InvalidInput,
    ProcessingTimeout,
    ShuttingDown,
    UnsupportedDocumentType,
)
from citeqa.segment import document_context, embedding_input, map_span, segment, warm_up
from citeqa.settings import Settings
from citeqa.unit_vectors import UnitVectors
from ingest import chunking
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
from ingest.readers.archive import Limits, archive_kind, decompress, inner_name, members

log = logging.getLogger(__name__)


class _Keep:
    """A field left as it is (where None means "remove it")."""


KEEP = _Keep()

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
    code: str | None = None  # the error code of a failed or unsupported document


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


# A group of documents is embedded and written together once it holds this many chunks,
# documents or characters of text (whichever comes first): short documents then fill
# whole, length-sorted embedding batches and share their store writes.
GROUP_CHUNKS = 512
GROUP_DOCUMENTS = 256
GROUP_CHARS = 8_000_000


@dataclass
class _Prepared:
    """A document parsed, planned and cut into chunks, waiting for its group's write."""

    record: DocumentRecord
    outcome: DocumentOutcome
    chunks: list[Chunk]
    context: str
    units_of: dict[str, list[tuple[int, int, str]]]


class _Groups:
    """Collects prepared documents into groups and writes each when full. Outcomes are
    reported in the order of the sources: one that needs no write (skipped, failed)
    waits behind the group in progress."""

    def __init__(
        self,
        write: Callable[[list[_Prepared]], None],
        on_document: Callable[[DocumentOutcome], None] | None,
    ) -> None:
        self._write = write
        self._on_document = on_document
        self.result = IngestResult()
        self._prepared: list[_Prepared] = []
        self._waiting: list[DocumentOutcome] = []

    def holds(self, doc_id: str) -> bool:
        return any(p.record.doc_id == doc_id for p in self._prepared)

    def outcome(self, outcome: DocumentOutcome) -> None:
        self._waiting.append(outcome)
        if not self._prepared:
            self._report()

    def add(self, item: _Prepared) -> None:
        self._prepared.append(item)
        self._waiting.append(item.outcome)
        chunks = sum(len(p.chunks) for p in self._prepared)
        chars = sum(len(p.record.text or "") for p in self._prepared)
        if chunks >= GROUP_CHUNKS or len(self._prepared) >= GROUP_DOCUMENTS or chars >= GROUP_CHARS:
            self.flush()

    def flush(self) -> None:
        if self._prepared:
            self._write(self._prepared)
            self._prepared = []
        self._report()

    def _report(self) -> None:
        for outcome in self._waiting:
            _count(outcome)
            self.result.documents.append(outcome)
            if self._on_document:
                self._on_document(outcome)
        self._waiting = []


class IngestPipeline:
    def __init__(
        self,
        store: ChromaStore,
        embedder: Embedder,
        settings: Settings,
        stop: threading.Event | None = None,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._settings = settings
        # set when the process is stopping: a run in progress rolls back its unfinished
        # group (whole documents stay) and raises ShuttingDown
        self.stop = stop if stop is not None else threading.Event()
        # chunks per embedding call and store write; the embedder sorts each call's
        # texts by length into its own batches, so a call spans several of those, and
        # a stop request waits for one call at most (tests set it smaller)
        self.write_batch = max(settings.embedding.batch_size * 2, 128)
        # the embedded store takes a file lock against other writing processes
        self._lock_dir = None if settings.store.chroma_url else settings.store.data_dir
        self._limits = Limits.from_settings(settings.ingest)

    def run(
        self,
        sources: Iterable[Source],
        on_document: Callable[[DocumentOutcome], None] | None = None,
        on_chunks: Callable[[int], None] | None = None,
        on_reading: Callable[[str], None] | None = None,
    ) -> IngestResult:
        """Ingest the sources in groups (see GROUP_CHUNKS). Each document of a group is
        pending until all of the group's chunks are stored, then all are complete: a run
        that dies leaves whole documents and pending ones, which the next run redoes.
        `on_reading` hears each document's doc_id as its reading starts (an archive's
        members one by one), `on_document` its outcome once it is stored or refused."""
        started = time.perf_counter()
        warm_up()
        chunking.warm_up()
        with store_write_lock(self._lock_dir):
            manifest = Manifest(self._store)
            groups = _Groups(
                lambda group: self._write_group(group, manifest, on_chunks), on_document
            )
            for source in self._unpacked(sources):
                self._check_stop()
                if isinstance(source, DocumentOutcome):  # a refused archive or member
                    groups.outcome(source)
                    continue
                if groups.holds(source.doc_id.strip()):  # a second version: after the first
                    groups.flush()
                if on_reading:
                    on_reading(source.doc_id.strip())
                prepared = self._prepare_source(source, manifest)
                if isinstance(prepared, DocumentOutcome):
                    groups.outcome(prepared)
                else:
                    groups.add(prepared)
            groups.flush()
        groups.result.seconds = time.perf_counter() - started
        return groups.result

    def _unpacked(self, sources: Iterable[Source]) -> Iterator[Source | DocumentOutcome]:
        """The sources, each archive (.zip, .tar, .tar.gz, ...) replaced by its members:
        doc_id and source are the archive's followed by the member's path in it. An
        archive refused whole (a bomb, a traversing name) is one failed outcome, and
        nothing of it is stored; a member refused alone (a link, a nested archive) is
        its own outcome."""
        for source in sources:
            if source.text is not None or not archive_kind(source.name):
                yield source
                continue
            self._check_stop()
            try:
                doc_id = validate_doc_id(source.doc_id)
                assert source.read is not None
                try:
                    data = source.read()
                except OSError as exc:
                    raise DocumentUnreadable(f"could not read {source.name}") from exc
                found = members(data, source.name, self._limits)
            except CiteqaError as exc:
                log.warning("%s: archive refused: %s", source.doc_id, exc.message)
                yield DocumentOutcome(source.doc_id, "failed", message=exc.message, code=exc.code)
                continue
            if not found:
                yield DocumentOutcome(
                    doc_id,
                    "failed",
                    message=f"{source.name} holds no files",
                    code=DocumentUnreadable.code,
                )
            for member in found:
                member_id = f"{doc_id}/{member.path}"
                if member.refusal is not None:
                    unsupported = isinstance(member.refusal, UnsupportedDocumentType)
                    yield DocumentOutcome(
                        member_id,
                        "unsupported" if unsupported else "failed",
                        message=member.refusal.message,
                        code=member.refusal.code,
                    )
                    continue
                yield Source(
                    doc_id=member_id,
                    source=f"{source.source}/{member.path}",
                    name=PurePosixPath(member.path).name,
                    read=member.read,
                    metadata=dict(source.metadata),
                )

    def _read(self, source: Source) -> tuple[bytes | None, str]:
        """A file source's bytes, unpacked when it is compressed (.gz, .bz2, .xz), and
        the name of what they are ("notes.md" for "notes.md.gz"); no bytes for a source
        given as text."""
        if source.text is not None:
            return None, source.name
        if not is_supported(source.name):
            raise UnsupportedDocumentType(f"unsupported file type: {source.name}")
        assert source.read is not None
        try:
            data = source.read()
        except OSError as exc:
            raise DocumentUnreadable(f"could not read {source.name}") from exc
        if len(data) > self._settings.ingest.max_document_bytes:
            raise DocumentTooLarge(
                f"{source.name} is larger than {self._settings.ingest.max_document_bytes} bytes"
            )
        return decompress(data, source.name, self._limits), inner_name(source.name)

    def _parse(
        self, source: Source, data: bytes | None, name: str
    ) -> tuple[str, str, str | None, LoadedDocument | None]:
        loaded: LoadedDocument | None = None
        if data is None:
            text, _hidden = clean_text(source.text or "")
        else:
            loaded = load_bytes(data, name)
            text = loaded.text
        front, text = extract_front_matter(text)
        date, text = extract_date(text)
        date = parse_date(front["date"]) if "date" in front else date
        date = parse_date(str(source.metadata["date"])) if "date" in source.metadata else date
        if loaded is not None and loaded.pages:
            # PDF offsets are page-relative to the loader's text: keep that text whole.
            text = loaded.text
        given = (source.title or "").strip()  # the upload's own title, kept whole
        # the file named with its folders (a folder's or an archive's path in doc_id)
        folders = source.doc_id.rsplit("/", 1)[0] + "/" if "/" in source.doc_id else ""
        title = given or derive_title(
            text, front.get("title") or (loaded.title_hint if loaded else None), folders + name
        )
        return text, title, date, loaded

    def _prepare_source(self, source: Source, manifest: Manifest) -> _Prepared | DocumentOutcome:
        """The document ready to write, or its final outcome (skipped, failed,
        unsupported). Reading, segmenting and chunking it spend at most its time budget
        (proportional to its size); over it, the document fails with processing_timeout
        before anything of it is stored."""
        try:
            doc_id = validate_doc_id(source.doc_id)
            data, name = self._read(source)
        except UnsupportedDocumentType as exc:
            return DocumentOutcome(source.doc_id, "unsupported", message=exc.message, code=exc.code)
        except CiteqaError as exc:
            return DocumentOutcome(source.doc_id, "failed", message=exc.message, code=exc.code)
        size = len(data) if data is not None else len(source.text or "")
        seconds = deadline.seconds_for(
            size,
            self._settings.ingest.processing_seconds_per_mb,
            self._settings.ingest.processing_min_seconds,
        )
        try:
            with deadline.budget(seconds):
                return self._prepare_read(source, doc_id, data, name, manifest)
        except ProcessingTimeout as exc:
            log.warning("%s: over its processing budget of %.1f s", doc_id, seconds or 0.0)
            message = f"processing took longer than its time budget of {seconds or 0.0:.1f} s"
            return DocumentOutcome(doc_id, "failed", message=message, code=exc.code)

    def _prepare_read(
        self, source: Source, doc_id: str, data: bytes | None, name: str, manifest: Manifest
    ) -> _Prepared | DocumentOutcome:
        try:
            text, title, date, loaded = self._parse(source, data, name)
        except UnsupportedDocumentType as exc:
            return DocumentOutcome(source.doc_id, "unsupported", message=exc.message, code=exc.code)
        except ProcessingTimeout:
            raise
        except CiteqaError as exc:
            return DocumentOutcome(source.doc_id, "failed", message=exc.message, code=exc.code)
        deadline.check()
        if not text.strip():
            return DocumentOutcome(
                doc_id, "failed", message="the document has no text", code="document_unreadable"
            )
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
            kind=loaded.kind if loaded is not None else _kind_of(name),
            pages=[(start, end) for _number, start, end in loaded.pages] if loaded else None,
        )
        message = "; ".join(warnings) if warnings else None
        return self._prepare(record, DocumentOutcome(doc_id, plan.value, message=message))

    def _prepare(self, record: DocumentRecord, outcome: DocumentOutcome) -> _Prepared:
        """Segment and chunk a document's text in the current format."""
        text, title, pages = record.text or "", record.title, record.pages or []
        # PDF pages are given so that running headers and footers left in texts stored
        # before the loader removed them are no unit either
        structure = segment(text, record.kind or "text", pages)
        deadline.check()
        passages = chunk_passages(
            structure,
            self._settings.ingest.chunk_size,
            self._settings.ingest.chunk_overlap,
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
        outcome.chunks = len(chunks)
        return _Prepared(record, outcome, chunks, base_meta["context"], units_of)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise ShuttingDown("the server is stopping; send the documents again after it restarts")

    def _write_group(
        self,
        group: list[_Prepared],
        manifest: Manifest,
        on_chunks: Callable[[int], None] | None,
    ) -> None:
        """Embed and store a group's documents: all pending first, then every chunk (in
        embedding calls that mix documents, so short ones fill whole batches), then the
        previous versions' chunks removed, all complete, one change-marker bump. Anything
        that stops it midway (a stop request, an error, Ctrl-C) rolls the group back to
        the previous versions; only a killed process leaves pending documents, which the
        next run redoes from their stored text."""
        records = [p.record for p in group]
        previous = self._store.documents.get_many(
            [p.record.doc_id for p in group if p.outcome.status != Plan.ADD.value]
        )
        manifest.begin(records)
        try:
            work = [(p, c) for p in group for c in p.chunks]
            for i in range(0, len(work), self.write_batch):
                self._check_stop()
                batch = work[i : i + self.write_batch]
                self._embed_and_store(batch)
                if on_chunks:
                    on_chunks(len(batch))
            self._store.chunks.delete_stale(
                {p.record.doc_id: [c.id for c in p.chunks] for p in group}
            )
            manifest.complete(records)
        except BaseException:
            self._roll_back(group, previous, manifest)
            raise
        self._store.changes.bump([p.record.doc_id for p in group])

    def _embed_and_store(self, batch: list[tuple[_Prepared, Chunk]]) -> None:
        inputs = [embedding_input(c.text, p.context, c.metadata.get("headings")) for p, c in batch]
        vectors, matrices = self._embedder.embed_chunks(
            [model_text for model_text, _where in inputs],
            [
                [map_span(where, a, b) for a, b, _kind in p.units_of[c.id]]
                for (p, c), (_model_text, where) in zip(batch, inputs, strict=True)
            ],
        )
        for (p, chunk), matrix in zip(batch, matrices, strict=True):
            units = p.units_of[chunk.id]
            if matrix is not None and units:
                chunk.units = UnitVectors(
                    [(a, b) for a, b, _kind in units], matrix, [k for _a, _b, k in units]
                )
        self._store.chunks.upsert([c for _p, c in batch], vectors)
        for _p, chunk in batch:
            chunk.units = None  # written: the group need not hold the vectors

    def _roll_back(
        self, group: list[_Prepared], previous: dict[str, DocumentRecord], manifest: Manifest
    ) -> None:
        """Undo an unfinished group: its new chunks and new records go, and the previous
        versions' records come back (their chunks were not removed yet)."""
        try:
            self._store.chunks.delete([c.id for p in group for c in p.chunks])
            self._store.delete_documents(
                [p.record.doc_id for p in group if p.record.doc_id not in previous]
            )
            self._store.documents.put(list(previous.values()))
        except Exception:  # the store failed too: the documents stay pending, redone later
            log.exception("could not roll back an interrupted ingest")
        for p in group:
            manifest.forget(p.record.doc_id)

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
        with store_write_lock(self._lock_dir):
            todo = self._store.documents.outdated()
            manifest = Manifest(self._store)
            groups = _Groups(lambda group: self._write_group(group, manifest, None), on_document)
            for doc_id in todo[:limit] if limit is not None else todo:
                self._check_stop()
                record = self._store.documents.get(doc_id)
                if record is None or not record.text:
                    groups.outcome(DocumentOutcome(doc_id, "failed", message="no stored text"))
                    continue
                if record.kind is None:
                    record.kind = _kind_of(doc_id)
                if record.pages is None and record.kind == "pdf":
                    record.pages = _pages_from_chunks(
                        self._store.chunks.pages(doc_id), len(record.text)
                    )
                groups.add(self._prepare(record, DocumentOutcome(doc_id, "updated")))
            groups.flush()
            remaining = len(self._store.documents.outdated())
        groups.result.seconds = time.perf_counter() - started
        return groups.result, remaining

    def update_fields(
        self, doc_id: str, title: str | None = None, date: str | None | _Keep = KEEP
    ) -> DocumentRecord | None:
        """Give a stored document another title or date (None: no date) without reading
        or embedding it again: its record and its chunks' metadata change, so GET and the
        citations of later answers show it. Its content hash stays, so a later upload of
        the unchanged file is skipped and keeps this title. None when there is no such
        document."""
        with store_write_lock(self._lock_dir):
            record = self._store.documents.get(doc_id, with_text=False)
            if record is None or record.status != "complete":
                return None
            fields: dict[str, Any] = {}
            if title is not None:
                record.title = fields["title"] = title
            if not isinstance(date, _Keep):
                record.date = fields["date"] = date
                fields["date_int"] = date_as_int(date) if date else None
            if fields:
                self._store.update_document_fields(doc_id, fields)
                self._store.changes.bump([doc_id])
            return record

    def delete(self, doc_id: str) -> bool:
        with store_write_lock(self._lock_dir):
            if self._store.documents.get(doc_id, with_text=False) is None:
                return False
            self._store.delete_documents([doc_id])
            self._store.changes.bump([doc_id])
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
