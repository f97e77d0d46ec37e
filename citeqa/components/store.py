"""ChromaDB store: chunks with their embeddings, document records, and a change marker.

Everything a query needs lives in Chroma, so several API processes can share one Chroma
server:
- `<prefix>_chunks` (`ChunkStore`, `store.chunks`): one record per chunk (embedding,
  text, doc_id, offsets, metadata);
- `<prefix>_documents` (`DocumentStore`, `store.documents`): one record per document
  (full stored text, title, source, date, content hash and ingest status). This is the
  ingest manifest;
- `<prefix>_meta` (`ChangeLog`, `store.changes`): a `generation` marker rewritten
  after every change, so each process knows when its BM25 index is stale, and a record
  of what each change touched.
Other parts keep their own bookkeeping collections in the same store (`collection`):
ingest jobs (`ingest/jobs.py`, `<prefix>_jobs`). Chroma collections need a vector per
record; the bookkeeping collections carry a constant one-dimensional placeholder.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar
from urllib.parse import urlparse

from citeqa import metrics
from citeqa.domain import OUTDATED, STORE_FORMAT, Chunk, DocumentRecord
from citeqa.errors import CiteqaError, EmbedderMismatch, StoreUnavailable
from citeqa.settings import Settings
from citeqa.unit_vectors import Packed, pack

log = logging.getLogger(__name__)

PLACEHOLDER = [1.0]
_PAGE = 1000
# A change touching more documents than this is not recorded: readers rebuild.
MAX_CHANGE_DOCS = 5000
# Change records older than this are removed as new ones are written.
CHANGES_KEPT_S = 24 * 3600

P = ParamSpec("P")
R = TypeVar("R")


def store_call(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn any failure of Chroma (down, unreachable, corrupt) into StoreUnavailable."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CiteqaError:
            raise
        except Exception as exc:
            log.warning("chroma call %s failed: %s", fn.__name__, type(exc).__name__)
            metrics.store_errors.labels(fn.__name__).inc()
            raise StoreUnavailable("the document store is not reachable") from exc

    return wrapper


class Changes(Protocol):
    """The store's change marker and what each change touched (`ChangeLog`)."""

    def generation(self) -> str: ...

    def bump(self, changed: Sequence[str] | None = None) -> str: ...

    def since(self, generation: str, target: str, max_steps: int = 64) -> set[str] | None: ...


class ChunkReader(Protocol):
    """What the read path reads of the chunks: by vector, by id, all, or a document's."""

    def nearest_ids(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]: ...

    def get(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]: ...

    def iterate(self) -> Iterator[Chunk]: ...

    def of_documents(self, doc_ids: Sequence[str]) -> list[Chunk]: ...

    def count(self) -> int: ...


class ChunkSource(Protocol):
    """What the read path reads of a store (the retriever and the BM25 index): its chunks
    and its change marker. `ChromaStore` is one; a test or another backend can be
    another."""

    @property
    def chunks(self) -> ChunkReader: ...

    @property
    def changes(self) -> Changes: ...


def make_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.store.chroma_url:
        url = urlparse(settings.store.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    settings.store.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.store.data_dir), settings=chroma_settings)


class ChangeLog:
    """The store's change marker and the record of what each change touched, in the
    `<prefix>_meta` collection: a process holding an index of one generation catches up
    by re-reading the documents changed since (see `since`)."""

    def __init__(self, meta: Any) -> None:
        self._meta = meta

    @store_call
    def generation(self) -> str:
        got = self._meta.get(ids=["generation"], include=["metadatas"])
        if not got["ids"]:
            return ""
        return str(got["metadatas"][0].get("value", ""))

    @store_call
    def bump(self, changed: Sequence[str] | None = None) -> str:
        """Move the change marker. With `changed` (the doc ids whose chunks changed), a
        change record from the old marker to the new one is written first, so that a
        process holding the old state can catch up by re-reading those documents only
        (see since); without it, readers rebuild from the whole store."""
        previous = self.generation()
        value = uuid.uuid4().hex
        now = time.time()
        if changed is not None and len(changed) <= MAX_CHANGE_DOCS:
            self._meta.upsert(
                ids=[f"change:{value}"],
                embeddings=[PLACEHOLDER],
                documents=[json.dumps(sorted(set(changed)))],
                metadatas=[{"kind": "change", "prev": previous, "next": value, "at": now}],
            )
        # a process whose index is older than this rebuilds it instead
        self._meta.delete(
            where={"$and": [{"kind": "change"}, {"at": {"$lt": now - CHANGES_KEPT_S}}]}
        )
        self._meta.upsert(
            ids=["generation"], embeddings=[PLACEHOLDER], metadatas=[{"value": value}]
        )
        return value

    @store_call
    def since(self, generation: str, target: str, max_steps: int = 64) -> set[str] | None:
        """The doc ids changed between two markers, following the change records from
        `generation` to `target`; None when the chain is missing, forked (two writers
        moved the same marker) or longer than max_steps: then rebuild from the store."""
        changed: set[str] = set()
        current = generation
        for _ in range(max_steps):
            if current == target:
                return changed
            got = self._meta.get(
                where={"$and": [{"kind": "change"}, {"prev": current}]},
                include=["metadatas", "documents"],
            )
            if len(got["ids"]) != 1:
                return None
            changed.update(json.loads(got["documents"][0] or "[]"))
            current = str(got["metadatas"][0]["next"])
        return changed if current == target else None


class ChunkStore:
    """The chunks (`<prefix>_chunks`): text, embedding, offsets, metadata and packed unit
    vectors per chunk; read by the query path, written by ingest."""

    def __init__(self, collection: Any, dimension: int) -> None:
        self._chunks = collection
        self.dimension = dimension

    @store_call
    def upsert(self, chunks: Sequence[Chunk], embeddings: Sequence[Sequence[float]]) -> None:
        if not chunks:
            return
        self._chunks.upsert(
            ids=[c.id for c in chunks],
            embeddings=[list(e) for e in embeddings],
            documents=[c.text for c in chunks],
            metadatas=[
                {
                    **c.metadata,
                    **(pack(c.units.spans, c.units.vectors, c.units.kinds) if c.units else {}),
                    "doc_id": c.doc_id,
                    "index": c.index,
                    "start": c.start,
                    "end": c.end,
                }
                for c in chunks
            ],
        )

    @store_call
    def update_fields(self, chunk_ids: Sequence[str], fields: dict[str, Any]) -> None:
        """Change metadata fields (None removes one), leaving text and embeddings."""
        for i in range(0, len(chunk_ids), _PAGE):
            batch = list(chunk_ids[i : i + _PAGE])
            self._chunks.update(ids=batch, metadatas=[dict(fields)] * len(batch))

    @store_call
    def delete(self, chunk_ids: Sequence[str]) -> None:
        if chunk_ids:
            self._chunks.delete(ids=list(chunk_ids))

    @store_call
    def delete_of(self, doc_ids: Sequence[str]) -> None:
        """Every chunk of these documents."""
        if doc_ids:
            self._chunks.delete(where=_of_documents(doc_ids))

    @store_call
    def delete_stale(self, keep: dict[str, Sequence[str]]) -> int:
        """Remove the chunks of each doc_id in `keep` that are not among its kept ids (an
        older version's), for all the documents in one read and one delete."""
        if not keep:
            return 0
        kept = {cid for ids in keep.values() for cid in ids}
        existing = self._chunks.get(where=_of_documents(list(keep)), include=[])["ids"]
        stale = [cid for cid in existing if cid not in kept]
        if stale:
            self._chunks.delete(ids=stale)
        return len(stale)

    @store_call
    def ids(self, doc_id: str | None = None) -> list[str]:
        """The ids of every chunk, or of one document's."""
        where = {"doc_id": doc_id} if doc_id else None
        ids: list[str] = []
        offset = 0
        while True:
            got = self._chunks.get(where=where, include=[], limit=_PAGE * 10, offset=offset)
            ids.extend(got["ids"])
            if len(got["ids"]) < _PAGE * 10:
                return ids
            offset += _PAGE * 10

    @store_call
    def pages(self, doc_id: str) -> list[tuple[int, int]]:
        """(page, start) of a document's chunks: the page spans of PDFs stored before the
        record kept them."""
        got = self._chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
        return sorted(
            (int(m["page"]), int(m.get("start", 0)))
            for m in got["metadatas"]
            if m and m.get("page") is not None
        )

    @store_call
    def iterate(self) -> Iterator[Chunk]:
        """Every chunk, a page of reads at a time."""
        offset = 0
        while True:
            got = self._chunks.get(
                include=["documents", "metadatas"], limit=_PAGE * 5, offset=offset
            )
            yield from _chunks_from(got, self.dimension)
            if len(got["ids"]) < _PAGE * 5:
                return
            offset += _PAGE * 5

    @store_call
    def of_documents(self, doc_ids: Sequence[str]) -> list[Chunk]:
        """Every chunk of these documents, as `iterate` reads them."""
        if not doc_ids:
            return []
        got = self._chunks.get(
            where=_of_documents(sorted(set(doc_ids))), include=["documents", "metadatas"]
        )
        return list(_chunks_from(got, self.dimension))

    @store_call
    def count(self) -> int:
        return int(self._chunks.count())

    @store_call
    def nearest_ids(
        self, embedding: Sequence[float], k: int, where: dict[str, Any] | None
    ) -> list[tuple[str, float]]:
        """The k nearest chunks as (id, cosine similarity), best first, without their
        texts: reading the texts costs Chroma about three times the search itself, and
        the caller has them in memory (the BM25 snapshot)."""
        got = self._chunks.query(
            query_embeddings=[list(embedding)], n_results=k, where=where, include=["distances"]
        )
        return [
            (cid, 1.0 - float(dist))
            for cid, dist in zip(got["ids"][0], got["distances"][0], strict=True)
        ]

    @store_call
    def get(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """These chunks, read whole (with their stored unit vectors); absent ids are
        left out."""
        if not chunk_ids:
            return {}
        got = self._chunks.get(
            ids=list(dict.fromkeys(chunk_ids)), include=["documents", "metadatas"]
        )
        return {chunk.id: chunk for chunk in _chunks_from(got, self.dimension)}


class DocumentStore:
    """The document records (`<prefix>_documents`): the stored text, title, source, date,
    content hash, format and ingest status of each document. This is the ingest
    manifest, and what citations are verified against."""

    def __init__(self, collection: Any) -> None:
        self._documents = collection

    @store_call
    def put(self, records: Sequence[DocumentRecord]) -> None:
        """Write records, text included, in one call."""
        if not records:
            return
        self._documents.upsert(
            ids=[r.doc_id for r in records],
            embeddings=[PLACEHOLDER] * len(records),
            documents=[r.text or "" for r in records],
            metadatas=[r.to_metadata() for r in records],
        )

    @store_call
    def update_metadata(self, records: Sequence[DocumentRecord]) -> None:
        """Rewrite records' metadata (their status, when they were ingested) and leave
        their stored text alone: rewriting the text re-indexes it in Chroma's full-text
        index, which cost about a quarter of a document's store writes at ingest."""
        if records:
            self._documents.update(
                ids=[r.doc_id for r in records], metadatas=[r.to_metadata() for r in records]
            )

    @store_call
    def update_fields(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Change metadata fields (None removes one) of a document's record."""
        self._documents.update(ids=[doc_id], metadatas=[dict(fields)])

    @store_call
    def get_many(self, doc_ids: Sequence[str], with_text: bool = True) -> dict[str, DocumentRecord]:
        if not doc_ids:
            return {}
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        got = self._documents.get(ids=list(dict.fromkeys(doc_ids)), include=include)
        texts = got.get("documents") or [None] * len(got["ids"])
        return {
            doc_id: DocumentRecord.from_chroma(doc_id, meta or {}, text)
            for doc_id, meta, text in zip(got["ids"], got["metadatas"], texts, strict=True)
        }

    def get(self, doc_id: str, with_text: bool = True) -> DocumentRecord | None:
        return self.get_many([doc_id], with_text=with_text).get(doc_id)

    @store_call
    def list_page(
        self, limit: int, offset: int, status: str | None = "complete"
    ) -> tuple[list[DocumentRecord], int]:
        """One page of records (without their text) in id order, and how many there are."""
        where = {"status": status} if status else None
        ids = self._documents.get(where=where, include=[])["ids"]
        total = len(ids)
        page = sorted(ids)[offset : offset + limit]
        records = self.get_many(page, with_text=False)
        return [records[i] for i in page if i in records], total

    @store_call
    def manifest(self) -> dict[str, tuple[str, str]]:
        """doc_id -> (content_hash, status) for every document record; a complete one
        stored in an older format (STORE_FORMAT) reads as OUTDATED."""
        result: dict[str, tuple[str, str]] = {}
        offset = 0
        while True:
            got = self._documents.get(include=["metadatas"], limit=_PAGE, offset=offset)
            for doc_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                status = str(meta.get("status", ""))
                if status == "complete" and int(meta.get("format", 1)) < STORE_FORMAT:
                    status = OUTDATED
                result[doc_id] = (str(meta.get("content_hash", "")), status)
            if len(got["ids"]) < _PAGE:
                return result
            offset += _PAGE

    @store_call
    def outdated(self) -> list[str]:
        """Ids of documents to rebuild with the current format: of an older format, or
        left pending by an interrupted ingest or reindex."""
        current = set(
            self._documents.get(
                where={"$and": [{"format": {"$gte": STORE_FORMAT}}, {"status": "complete"}]},
                include=[],
            )["ids"]
        )
        return sorted(i for i in self._documents.get(include=[])["ids"] if i not in current)

    @store_call
    def delete(self, doc_ids: Sequence[str]) -> None:
        if doc_ids:
            self._documents.delete(ids=list(doc_ids))


class ChromaStore:
    """One Chroma store, by job: `chunks` (ChunkStore), `documents` (DocumentStore, the
    manifest) and `changes` (ChangeLog); `collection` gives other parts a bookkeeping
    collection of their own. The two writes that span chunks and records, in the order
    that keeps them consistent, are here."""

    def __init__(self, settings: Settings, embedder_name: str, dimension: int) -> None:
        self.embedder_name = embedder_name
        self.dimension = dimension
        self._prefix = settings.store.collection_prefix
        self._ef_search = settings.store.ef_search
        self._client = self._connect(settings)
        self._open_collections()

    @store_call
    def _connect(self, settings: Settings) -> Any:
        return make_client(settings)

    @store_call
    def _open_collections(self) -> None:
        hnsw = {"space": "cosine", "ef_construction": 128, "ef_search": self._ef_search}
        chunks = self._client.get_or_create_collection(
            f"{self._prefix}_chunks",
            embedding_function=None,
            configuration={"hnsw": hnsw},
            metadata={"embedder": self.embedder_name, "dimension": self.dimension},
        )
        # the configuration above is a new collection's; an existing one keeps its own
        # until changed, and the change reaches searches in a process that has not yet
        # loaded the graph (this one, before its first query)
        if (chunks.configuration or {}).get("hnsw", {}).get("ef_search") != self._ef_search:
            chunks.modify(configuration={"hnsw": {"ef_search": self._ef_search}})
        meta = chunks.metadata or {}
        if meta.get("embedder") != self.embedder_name or meta.get("dimension") != self.dimension:
            raise EmbedderMismatch(
                f"this store was built with {meta.get('embedder')} "
                f"({meta.get('dimension')} dims) but {self.embedder_name} ({self.dimension} dims)"
                " is configured; use the same CITEQA_EMBED_MODEL or a new data dir/collection"
                " prefix"
            )
        self.chunks = ChunkStore(chunks, self.dimension)
        self.documents = DocumentStore(self.collection("documents"))
        self.changes = ChangeLog(self.collection("meta"))

    @store_call
    def collection(self, name: str) -> Any:
        """A collection of this store (`<prefix>_<name>`) as Chroma has it; a part that
        keeps its own records beside the chunks gives them a placeholder vector."""
        return self._client.get_or_create_collection(
            f"{self._prefix}_{name}", embedding_function=None
        )

    @store_call
    def ping(self) -> None:
        self._client.heartbeat()

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        """Chunks first, then the records: a crash in between leaves records that a re-run
        or a second delete cleans up, never chunks without a record."""
        if not doc_ids:
            return
        self.chunks.delete_of(doc_ids)
        self.documents.delete(doc_ids)

    def update_document_fields(self, doc_id: str, fields: dict[str, Any]) -> None:
        """Change metadata fields (None removes one) of a document's record and of its
        chunks, leaving their text and embeddings as they are: chunks first, so that an
        interrupted change shows in citations before the record and is redone whole."""
        self.chunks.update_fields(self.chunks.ids(doc_id), fields)
        self.documents.update_fields(doc_id, fields)


def _of_documents(doc_ids: Sequence[str]) -> dict[str, Any]:
    """A `where` filter for the chunks of these documents."""
    ids = list(doc_ids)
    return {"doc_id": {"$in": ids}} if len(ids) > 1 else {"doc_id": ids[0]}


def _chunks_from(got: Any, dimension: int) -> Iterator[Chunk]:
    """The chunks of a Chroma get that included documents and metadatas."""
    for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
        yield _chunk_from(cid, text, meta, dimension)


def _chunk_from(
    chunk_id: str, text: str | None, meta: dict[str, Any] | None, dimension: int
) -> Chunk:
    meta = dict(meta or {})
    packed = Packed.pop_from(meta, dimension, len(text or ""))
    return Chunk(
        id=chunk_id,
        doc_id=str(meta.pop("doc_id", "")),
        index=int(meta.pop("index", 0)),
        text=text or "",
        start=int(meta.pop("start", 0)),
        end=int(meta.pop("end", 0)),
        metadata=meta,
        packed=packed,
    )
