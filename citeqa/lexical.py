"""BM25 over all chunks (stemmed terms), kept in step with the shared store.

Each process holds the index of one store generation (the change marker). When the
marker moves, the index catches up from the store's change records: it re-reads only
the documents that changed and applies them (their old chunks retired, their new ones
appended), so a new document is searchable without re-reading or re-indexing the whole
store. Without a usable record (another writer raced it, too many changes, an older
store) it rebuilds from the whole store, as every process did before. Either way every
process sees ingests and deletes made by any other on its next query, with no restart.

Scores are BM25 with the Lucene idf (k1 1.5, b 0.75: bm25s's defaults, which this index
replaced with the same scores, tested), computed at query time from term frequencies, so
that N, the average length and document frequencies always describe the chunks alive
now. It also provides the document frequencies that answer scoring uses to weigh
question terms.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from citeqa.components.store import ChunkSource
from citeqa.dates import date_as_int
from citeqa.domain import Chunk
from citeqa.filters import Filters
from citeqa.scope import DocumentName, NameIndex, names_of
from citeqa.segment import display_text
from citeqa.text import terms

log = logging.getLogger(__name__)

K1 = 1.5
B = 0.75
# appended rows are merged into the column index once they pass this share of it
MERGE_SHARE = 0.1
# each index keeps the BM25 gains of the terms it was asked about, at most this many
# (row, gain) pairs in all (12 bytes each)
CACHED_POSTINGS = 2_000_000


class _DocFreq:
    """Document frequencies by term (of the chunks alive), read like a Counter."""

    def __init__(self, vocab: dict[str, int], df: np.ndarray) -> None:
        self._vocab, self._df = vocab, df

    def get(self, term: str, default: int = 0) -> int:
        tid = self._vocab.get(term)
        return int(self._df[tid]) if tid is not None and tid < len(self._df) else default


@dataclass
class _Terms:
    """Term frequencies of the index's rows: a column-major matrix of the rows it was
    built with, plus the rows appended since (row-major, merged in when they grow)."""

    vocab: dict[str, int]  # term -> column; only grows, so older indexes stay valid
    columns: sparse.csc_matrix  # rows x terms, the merged part
    appended: sparse.csc_matrix  # (rows after the merged part) x terms
    lengths: np.ndarray  # terms per row (float64)
    alive: np.ndarray  # False for rows of chunks since replaced or deleted
    df: np.ndarray  # per term, over alive rows

    _gains: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    _cached: int = 0  # (row, gain) pairs in _gains

    @property
    def rows(self) -> int:
        return len(self.lengths)

    @functools.cached_property
    def stats(self) -> tuple[int, float]:
        """The number of alive rows and their average length (fixed for this index)."""
        n = int(self.alive.sum())
        return n, (float(self.lengths[self.alive].sum()) / n if n else 0.0)

    def _term(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """The alive rows holding term `tid` and its BM25 gain in each, computed once per
        index while its CACHED_POSTINGS budget lasts (first asked, first kept), then on
        every use."""
        cached = self._gains.get(tid)
        if cached is not None:
            return cached
        n, average = self.stats
        idf = math.log(1.0 + (n - self.df[tid] + 0.5) / (self.df[tid] + 0.5))
        found_rows, found_gains = [], []
        for part, offset in ((self.columns, 0), (self.appended, self.columns.shape[0])):
            if tid >= part.shape[1]:
                continue
            begin, end = part.indptr[tid], part.indptr[tid + 1]
            rows = part.indices[begin:end].astype(np.int64) + offset
            keep = self.alive[rows]
            rows, tf = rows[keep], part.data[begin:end][keep].astype(np.float64)
            norm = K1 * ((1 - B) + B * self.lengths[rows] / average)
            found_rows.append(rows)
            found_gains.append((idf * tf / (norm + tf)).astype(np.float32))
        result = (np.concatenate(found_rows), np.concatenate(found_gains))
        if self._cached + len(result[0]) <= CACHED_POSTINGS:
            self._gains[tid] = result
            self._cached += len(result[0])
        return result

    def scores(self, query: Sequence[str]) -> np.ndarray:
        scores = np.zeros(self.rows, dtype=np.float32)
        if self.stats[0] == 0:
            return scores
        for term in query:  # a repeated term counts again, as in bm25s
            tid = self.vocab.get(term)
            if tid is None or tid >= len(self.df) or self.df[tid] == 0:
                continue
            rows, gains = self._term(tid)
            scores[rows] += gains
        return scores


def _empty(width: int) -> sparse.csc_matrix:
    return sparse.csc_matrix((0, width), dtype=np.float32)


Fetch = Callable[[Sequence[str]], dict[str, Chunk]]


@dataclass
class LexicalSnapshot:
    """The BM25 index and term statistics of one store generation (not changed once
    made: catching up makes a new snapshot that shares the unchanged arrays).

    It holds the chunks themselves (text and stored unit vectors, so that a query reads
    nothing more from the store) while the store has at most CITEQA_LEXICAL_HOLD_CHUNKS
    of them; above that it holds their ids only and reads a query's candidates from the
    store (`fetch`): at 100k chunks that cut the server's peak memory from 2.3 to 1.6 GB
    (BENCHMARKS.md)."""

    generation: str
    ids: list[str | None]  # by row; None where the chunk was retired
    index: _Terms | None  # None when the store is empty
    doc_ids: np.ndarray
    sources: np.ndarray
    dates: np.ndarray  # yyyymmdd, 0 when undated
    held: dict[str, Chunk] | None  # the alive chunks by id, or None: read when needed
    fetch: Fetch | None = None
    # what names each document (citeqa.scope): its name words and versions, by doc_id
    names: dict[str, DocumentName] = field(default_factory=dict)

    @functools.cached_property
    def name_index(self) -> NameIndex:
        """The documents' names indexed for questions (once per snapshot)."""
        return NameIndex(self.names)

    @property
    def holds_chunks(self) -> bool:
        return self.held is not None

    @property
    def chunks(self) -> list[Chunk]:
        """The chunks alive in this generation, in row order (read from the store when
        they are not held)."""
        ids = [cid for cid in self.ids if cid is not None]
        found = self.held if self.held is not None else self._read(ids)
        return [found[cid] for cid in ids if cid in found]

    @property
    def size(self) -> int:
        """The chunks alive in this generation."""
        return self.index.stats[0] if self.index is not None else 0

    @property
    def df(self) -> _DocFreq:
        if self.index is None:
            return _DocFreq({}, np.zeros(0, dtype=np.int64))
        return _DocFreq(self.index.vocab, self.index.df)

    def _read(self, ids: Sequence[str]) -> dict[str, Chunk]:
        return self.fetch(ids) if self.fetch is not None and ids else {}

    def chunk(self, chunk_id: str) -> Chunk | None:
        """The chunk with this id as of this generation, when held (None otherwise: the
        caller reads it from the store). Chunk ids carry their document's content hash,
        so an id found here has the store's current text."""
        return self.held.get(chunk_id) if self.held is not None else None

    def search(
        self, question_terms: list[str], k: int, filters: Filters | None
    ) -> list[tuple[Chunk, float]]:
        if self.index is None or not question_terms or not self.size:
            return []
        scores = self.index.scores(question_terms).astype(np.float64)
        if filters is not None and not filters.is_empty():
            scores = np.where(_mask(self, filters), scores, 0.0)
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        ranked = [
            (cid, float(scores[i]))
            for i in best[np.argsort(-scores[best], kind="stable")]
            if scores[i] > 0 and (cid := self.ids[i]) is not None
        ]
        found = self.held if self.held is not None else self._read([cid for cid, _ in ranked])
        return [(found[cid], score) for cid, score in ranked if cid in found]

    def idf(self, term: str) -> float:
        """BM25's idf from chunk document frequencies; a term the store has never seen
        gets the largest. (Add-one smoothing of unseen terms was measured worse on every
        gold set: unanswerable questions name what the documents lack.)"""
        n = max(self.size, 1)
        df = self.df.get(term, 0)
        return math.log(1.0 + (n - df + 0.5) / (df + 0.5))


class _Rows:
    """What a snapshot keeps of each chunk it indexes, gathered as they stream by: term
    frequencies in typed arrays (a row-major matrix, 8 bytes a term of a chunk), so that
    indexing a large store holds no Python object per term."""

    def __init__(self, vocab: dict[str, int], hold: bool) -> None:
        self.vocab = vocab
        self.indptr = array("q", [0])
        self.indices = array("i")
        self.tfs = array("f")
        self.lengths = array("d")
        self.ids: list[str | None] = []
        self.doc_ids: list[str] = []
        self.sources: list[str] = []
        self.dates: list[int] = []
        self.held: dict[str, Chunk] | None = {} if hold else None
        self.contexts: dict[str, str] = {}  # each document's passage context, by doc_id

    def add(self, chunks: Iterable[Chunk]) -> _Rows:
        for chunk in chunks:
            # a chunk without terms counts one empty term, as it did in bm25s (length 1)
            words = terms(index_text(chunk)) or [""]
            counts = Counter(self.vocab.setdefault(w, len(self.vocab)) for w in words)
            self.indices.extend(counts.keys())
            self.tfs.extend(counts.values())
            self.indptr.append(len(self.indices))
            self.lengths.append(len(words))
            self.ids.append(chunk.id)
            self.doc_ids.append(sys.intern(chunk.doc_id))
            self.sources.append(sys.intern(str(chunk.metadata.get("source", ""))))
            self.dates.append(int(chunk.metadata.get("date_int") or 0))
            if chunk.doc_id not in self.contexts:
                self.contexts[chunk.doc_id] = str(
                    chunk.metadata.get("context") or chunk.metadata.get("title") or ""
                )
            if self.held is not None:
                self.held[chunk.id] = chunk
        return self

    def matrix(self) -> sparse.csr_matrix:
        """The rows' term frequencies, as wide as the vocabulary now is."""
        return sparse.csr_matrix(
            (
                np.asarray(self.tfs, dtype=np.float32),
                np.asarray(self.indices, dtype=np.int32),
                np.asarray(self.indptr, dtype=np.int64),
            ),
            shape=(len(self.ids), len(self.vocab)),
        )


def build(
    generation: str, chunks: Iterable[Chunk], hold: bool = True, fetch: Fetch | None = None
) -> LexicalSnapshot:
    """The snapshot of these chunks, indexed from scratch as they stream by (held only
    when `hold`)."""
    rows = _Rows({}, hold).add(chunks)
    index = None
    if rows.ids:
        columns = rows.matrix().tocsc()
        index = _Terms(
            vocab=rows.vocab,
            columns=columns,
            appended=_empty(len(rows.vocab)),
            lengths=np.array(rows.lengths, dtype=np.float64),
            alive=np.ones(len(rows.ids), dtype=bool),
            df=np.diff(columns.indptr).astype(np.int64),
        )
    return LexicalSnapshot(
        generation=generation,
        ids=rows.ids,
        index=index,
        doc_ids=np.array(rows.doc_ids, dtype=object),
        sources=np.array(rows.sources, dtype=object),
        dates=np.array(rows.dates, dtype=np.int64),
        held=rows.held,
        fetch=fetch,
        names=names_of(rows.contexts.items()),
    )


def apply(
    snapshot: LexicalSnapshot, generation: str, changed: set[str], chunks: list[Chunk]
) -> LexicalSnapshot:
    """A new snapshot: the chunks of the `changed` documents retired, `chunks` (their
    current ones) appended. The old snapshot stays valid for queries still using it."""
    if snapshot.index is None:
        return build(generation, [*snapshot.chunks, *chunks], snapshot.holds_chunks, snapshot.fetch)
    old = snapshot.index
    retire = np.isin(snapshot.doc_ids, np.array(sorted(changed), dtype=object))
    alive = old.alive & ~retire
    new = _Rows(old.vocab, snapshot.holds_chunks).add(chunks)  # vocab shared: only grows
    width = len(old.vocab)
    df = np.zeros(width, dtype=np.int64)
    df[: len(old.df)] = old.df
    for part, offset in ((old.columns, 0), (old.appended, old.columns.shape[0])):
        gone = np.flatnonzero(
            retire[offset : offset + part.shape[0]] & old.alive[offset : offset + part.shape[0]]
        )
        if len(gone):
            df[: part.shape[1]] -= np.diff(part[gone].tocsc().indptr)
    added = new.matrix()
    df += np.bincount(added.indices, minlength=width)  # a term once per row: counted
    columns = old.columns
    appended = sparse.vstack([_widen(old.appended, width).tocsr(), added], format="csc")
    lengths = np.concatenate([old.lengths, np.array(new.lengths, dtype=np.float64)])
    alive = np.concatenate([alive, np.ones(len(new.ids), dtype=bool)])
    ids = [None if retire[i] else cid for i, cid in enumerate(snapshot.ids)] + new.ids
    doc_ids = np.concatenate([snapshot.doc_ids, np.array(new.doc_ids, dtype=object)])
    sources = np.concatenate([snapshot.sources, np.array(new.sources, dtype=object)])
    dates = np.concatenate([snapshot.dates, np.array(new.dates, dtype=np.int64)])
    held = None
    if snapshot.held is not None and new.held is not None:
        held = {cid: c for cid, c in snapshot.held.items() if c.doc_id not in changed}
        held.update(new.held)
    if appended.shape[0] > MERGE_SHARE * max(columns.shape[0], 1) or (~alive).sum() > alive.sum():
        # merge: one column index of the alive rows (rows renumbered, retired ones gone)
        keep = np.flatnonzero(alive)
        columns = sparse.vstack([_widen(columns, width), appended], format="csr")[keep].tocsc()
        appended = _empty(width)
        lengths, alive = lengths[keep], np.ones(len(keep), dtype=bool)
        ids = [ids[i] for i in keep]
        doc_ids, sources, dates = doc_ids[keep], sources[keep], dates[keep]
    else:
        columns = _widen(columns, width)
    return LexicalSnapshot(
        generation=generation,
        ids=ids,
        index=_Terms(old.vocab, columns, appended, lengths, alive, df),
        doc_ids=doc_ids,
        sources=sources,
        dates=dates,
        held=held,
        fetch=snapshot.fetch,
        names={
            **{k: v for k, v in snapshot.names.items() if k not in changed},
            **names_of(new.contexts.items()),
        },
    )


def _widen(matrix: sparse.csc_matrix, width: int) -> sparse.csc_matrix:
    """The matrix with empty columns added up to `width` (new terms)."""
    if matrix.shape[1] == width:
        return matrix
    indptr = np.concatenate(
        [
            matrix.indptr,
            np.full(width - matrix.shape[1], matrix.indptr[-1], dtype=matrix.indptr.dtype),
        ]
    )
    return sparse.csc_matrix((matrix.data, matrix.indices, indptr), shape=(matrix.shape[0], width))


def context_line(chunk: Chunk) -> str:
    """A chunk's document context (title, opening headings, file name) and heading path;
    chunks stored without a context have their title."""
    document = chunk.metadata.get("context") or chunk.metadata.get("title") or ""
    return f"{document} {chunk.metadata.get('headings') or ''}".strip()


def index_text(chunk: Chunk) -> str:
    """What BM25 reads of a chunk: its document's context, its heading path and its words
    (line-end hyphenation joined), so that a question naming the document or the
    section ("version 3 of the GPL", "under Options") finds its passages."""
    context = context_line(chunk)
    return f"{context}\n{display_text(chunk.text)}"


class LexicalIndex:
    def __init__(self, store: ChunkSource, hold_chunks: int = 200_000) -> None:
        self._store = store
        self._hold_chunks = hold_chunks
        self._lock = threading.Lock()
        self._snapshot: LexicalSnapshot | None = None
        self.rebuilds = 0  # built from the whole store
        self.updates = 0  # caught up from change records

    def snapshot(self) -> LexicalSnapshot:
        """The index for the store's current generation, caught up first if stale."""
        generation = self._store.changes.generation()
        current = self._snapshot
        if current is not None and current.generation == generation:
            return current
        with self._lock:
            current = self._snapshot
            if current is None or current.generation != generation:
                current = self._catch_up(current, generation)
                self._snapshot = current
        return current

    def _catch_up(self, current: LexicalSnapshot | None, generation: str) -> LexicalSnapshot:
        if current is not None:
            changed = self._store.changes.since(current.generation, generation)
            if changed is not None:
                # the documents' chunks as of now: a later change only re-reads them again
                updated = apply(
                    current, generation, changed, self._store.chunks.of_documents(sorted(changed))
                )
                self.updates += 1
                log.info("BM25 index updated: %d documents changed", len(changed))
                return updated
        # The chunks keep their units' vectors in the stored (int8, base64) form: the
        # answer model scores the units of some 30 candidate passages per query.
        hold = self._store.chunks.count() <= self._hold_chunks
        built = build(generation, self._store.chunks.iterate(), hold, self._store.chunks.get)
        self.rebuilds += 1
        log.info("BM25 index built over %d chunks", built.size)
        return built


def _mask(snap: LexicalSnapshot, filters: Filters) -> np.ndarray:
    mask = np.ones(len(snap.ids), dtype=bool)
    ids = filters.doc_ids()
    if ids is not None:
        mask &= np.isin(snap.doc_ids, np.array(ids, dtype=object))
    if filters.source:
        mask &= snap.sources == filters.source
    if filters.date_from:
        mask &= snap.dates >= (date_as_int(filters.date_from) or 0)
    if filters.date_to:
        mask &= (snap.dates <= (date_as_int(filters.date_to) or 0)) & (snap.dates > 0)
    return mask
