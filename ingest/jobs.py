"""Ingest jobs: an upload ingested in the background of the API process that took it.

A job's state lives in the store (its own collection, `<prefix>_jobs`, kept by
`JobStore`), so any API process sharing the store reports it. The process running a job
rewrites its state every HEARTBEAT_S seconds; a job whose state has not moved for
STALE_AFTER_S seconds belonged to a process that died, and is reported failed with what
it had stored by then. Documents are written whole or not at all (see ingest.pipeline),
so posting the same files again resumes the work: the documents already stored are
skipped as unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from citeqa.components.store import PLACEHOLDER, ChromaStore, store_call
from citeqa.errors import CiteqaError, JobNotFound, ShuttingDown
from ingest.pipeline import DocumentOutcome, IngestResult, Source

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
PROGRESS_S = 0.5
STALE_AFTER_S = 15.0
COUNTS = ("added", "updated", "skipped", "failed", "unsupported")


class Ingests(Protocol):
    """What a job needs of the document service (ingest.service.DocumentService)."""

    store: ChromaStore

    def ingest(
        self,
        sources: Sequence[Source],
        on_document: Any = None,
        on_chunks: Any = None,
        on_reading: Any = None,
    ) -> IngestResult: ...


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class JobState:
    job_id: str
    documents: int
    status: str = "queued"  # queued | running | done | failed
    processed: int = 0
    read: int = 0  # documents whose reading has started (the one being read included)
    current: str = ""  # the document being read now
    chunks: int = 0
    chunks_embedded: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    heartbeat: float = field(default_factory=time.time)
    message: str = ""
    outcomes: list[DocumentOutcome] = field(default_factory=list)
    seconds: float = 0.0

    def metadata(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "documents": self.documents,
            "processed": self.processed,
            "read": self.read,
            "current": self.current,
            "chunks": self.chunks,
            "chunks_embedded": self.chunks_embedded,
            **self.counts,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "heartbeat": self.heartbeat,
            "message": self.message,
            "seconds": round(self.seconds, 3),
        }

    def report(self) -> str:
        """The per-document outcomes, once the job has ended."""
        if self.status not in ("done", "failed"):
            return ""
        return json.dumps([dataclasses.asdict(o) for o in self.outcomes])


class JobStore:
    """Ingest jobs' records in the store: a job's state (scalars) and, once it ends, its
    report (JSON text)."""

    def __init__(self, store: ChromaStore) -> None:
        self._jobs = store.collection("jobs")

    @store_call
    def put(self, job_id: str, state: dict[str, Any], report: str = "") -> None:
        self._jobs.upsert(
            ids=[job_id], embeddings=[PLACEHOLDER], documents=[report], metadatas=[state]
        )

    @store_call
    def get(self, job_id: str) -> tuple[dict[str, Any], str] | None:
        got = self._jobs.get(ids=[job_id], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        return dict(got["metadatas"][0] or {}), str((got["documents"] or [""])[0] or "")


def describe(store: ChromaStore, job_id: str, now: float | None = None) -> dict[str, Any]:
    """A job's state as the API reports it; a job whose process stopped heartbeating is
    failed."""
    found = JobStore(store).get(job_id)
    if found is None:
        raise JobNotFound(f"no ingest job with id {job_id!r}")
    meta, report = found
    status = str(meta.get("status", "failed"))
    message = str(meta.get("message") or "") or None
    now = time.time() if now is None else now
    if status in ("queued", "running") and now - float(meta.get("heartbeat", 0)) > STALE_AFTER_S:
        status = "failed"
        message = (
            "interrupted: the process running this job stopped; the documents it had "
            "stored are kept whole; post the same files again to resume (stored documents "
            "are skipped)"
        )
    outcomes = json.loads(report) if report else None
    return {
        "job_id": job_id,
        "status": status,
        "documents": int(meta.get("documents", 0)),
        "processed": int(meta.get("processed", 0)),
        "read": int(meta.get("read", 0)),
        "current": str(meta.get("current") or "") or None,
        "chunks": int(meta.get("chunks", 0)),
        "chunks_embedded": int(meta.get("chunks_embedded", 0)),
        **{name: int(meta.get(name, 0)) for name in COUNTS},
        "created_at": str(meta.get("created_at", "")),
        "updated_at": str(meta.get("updated_at", "")),
        "message": message,
        "report": (
            {
                **{name: int(meta.get(name, 0)) for name in COUNTS},
                "chunks": int(meta.get("chunks", 0)),
                "seconds": float(meta.get("seconds", 0.0)),
                "documents": outcomes,
            }
            if outcomes is not None
            else None
        ),
    }


class IngestJobs:
    """The jobs this process runs, each in its own thread (writers of one store queue on
    its write lock, so jobs run one after another)."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, documents: Ingests, sources: Sequence[Source]) -> JobState:
        state = JobState(job_id=uuid.uuid4().hex, documents=len(sources))
        jobs = JobStore(documents.store)
        jobs.put(state.job_id, state.metadata())
        thread = threading.Thread(
            target=self._run,
            args=(documents, jobs, list(sources), state),
            name=f"ingest-{state.job_id}",
        )
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return state

    def join(self, timeout: float) -> None:
        """Wait for the running jobs (at most `timeout` seconds in all)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(
        self, documents: Ingests, jobs: JobStore, sources: list[Source], state: JobState
    ) -> None:
        guard = threading.Lock()
        ended = threading.Event()

        def write() -> None:
            with guard:
                state.updated_at, state.heartbeat = _now(), time.time()
                meta, report = state.metadata(), state.report()
            try:
                jobs.put(state.job_id, meta, report)
            except CiteqaError as exc:  # the store is down: the next beat tries again
                log.warning("could not record ingest job %s: %s", state.job_id, exc.message)

        def beat() -> None:
            while not ended.wait(HEARTBEAT_S):
                write()

        def on_document(outcome: DocumentOutcome) -> None:
            with guard:
                state.processed += 1
                # an archive counts as one file until its members report
                state.documents = max(state.documents, state.processed)
                state.counts[outcome.status] = state.counts.get(outcome.status, 0) + 1
                state.chunks += outcome.chunks if outcome.status in ("added", "updated") else 0
                state.outcomes.append(outcome)

        written = [time.monotonic()]

        def progressed() -> None:
            # between heartbeats too, so that a client following the job sees it move,
            # but not more often than PROGRESS_S
            if time.monotonic() - written[0] >= PROGRESS_S:
                written[0] = time.monotonic()
                write()

        def on_chunks(n: int) -> None:
            with guard:
                state.chunks_embedded += n
            progressed()

        def on_reading(doc_id: str) -> None:
            with guard:
                state.read += 1
                state.current = doc_id
                state.documents = max(state.documents, state.read)
            progressed()

        heart = threading.Thread(target=beat, name=f"ingest-{state.job_id}-beat", daemon=True)
        with guard:
            state.status = "running"
        write()
        heart.start()
        started = time.perf_counter()
        try:
            documents.ingest(
                sources, on_document=on_document, on_chunks=on_chunks, on_reading=on_reading
            )
            status, message = "done", ""
        except ShuttingDown:
            status = "failed"
            message = (
                "the server stopped before the job finished; the documents reported stored "
                "are kept whole; post the same files again to resume (stored documents are "
                "skipped)"
            )
        except CiteqaError as exc:
            status, message = "failed", exc.message
        except Exception:
            log.exception("ingest job %s failed", state.job_id)
            status, message = "failed", "internal error"
        ended.set()
        heart.join()
        with guard:
            state.status, state.message, state.current = status, message, ""
            state.seconds = time.perf_counter() - started
        write()
