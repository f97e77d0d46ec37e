"""The ingest manifest: which documents are stored, at which version, and complete or not.

It lives in the store's documents collection (so every API process sees it). A document
is written as `pending` before its chunks and marked `complete` only after all of them
are stored; a run that dies in between leaves `pending`, and the next run redoes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from citeqa.components.store import ChromaStore
from citeqa.domain import STORE_FORMAT, DocumentRecord


class Plan(StrEnum):
    ADD = "added"
    UPDATE = "updated"
    SKIP = "skipped"


def content_hash(
    text: str, title: str, date: str | None, source: str, extra: dict[str, Any]
) -> str:
    """Everything stored with the chunks goes into the hash, so a change to any of it
    re-ingests the document."""
    payload = json.dumps([text, title, date, source, extra], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chunk_id(doc_id: str, digest: str, index: int, fmt: int = STORE_FORMAT) -> str:
    """Deterministic: the same document, content and store format give the same ids (a
    reindexed document's chunks get new ones, so no process mistakes them for the old)."""
    key = f"{doc_id}\x00{digest}\x00{index}" + (f"\x00f{fmt}" if fmt > 1 else "")
    return hashlib.sha256(key.encode()).hexdigest()[:32]


class Manifest:
    def __init__(self, store: ChromaStore) -> None:
        self._store = store
        self._known: dict[str, tuple[str, str]] | None = None

    def _entries(self) -> dict[str, tuple[str, str]]:
        if self._known is None:
            self._known = self._store.documents.manifest()
        return self._known

    def plan(self, doc_id: str, digest: str) -> Plan:
        entry = self._entries().get(doc_id)
        if entry is None:
            return Plan.ADD
        if entry == (digest, "complete"):
            return Plan.SKIP
        return Plan.UPDATE

    def begin(self, records: Sequence[DocumentRecord]) -> None:
        """Write the records as pending (with their text), in one store call."""
        for record in records:
            record.status = "pending"
        self._store.documents.put(records)
        for record in records:
            self._entries()[record.doc_id] = (record.content_hash, "pending")

    def complete(self, records: Sequence[DocumentRecord]) -> None:
        """Mark the records complete, in one store call (their text was written by
        begin())."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for record in records:
            record.status, record.ingested_at = "complete", now
        self._store.documents.update_metadata(records)
        for record in records:
            self._entries()[record.doc_id] = (record.content_hash, "complete")

    def forget(self, doc_id: str) -> None:
        self._entries().pop(doc_id, None)
