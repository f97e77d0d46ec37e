"""Citation verification: a citation is returned only if the stored document text at its
offsets is exactly its quote. This is the invariant every backend's answers obey."""

from __future__ import annotations

from citeqa.contract import Citation
from citeqa.domain import DocumentRecord, Passage


def verifies(record: DocumentRecord | None, quote: str, start: int, end: int) -> bool:
    if record is None or record.text is None or not quote:
        return False
    return 0 <= start < end <= len(record.text) and record.text[start:end] == quote


def citation(
    n: int,
    record: DocumentRecord,
    passage: Passage,
    quote: str,
    start: int,
    end: int,
    score: float,
) -> Citation:
    """Citation n of an answer: a verified quote of `record`, with its score in 0-1."""
    return Citation(
        n=n,
        doc_id=record.doc_id,
        title=record.title,
        source=record.source,
        date=record.date,
        quote=quote,
        start=start,
        end=end,
        score=round(min(max(score, 0.0), 1.0), 4),
        page=passage.chunk.metadata.get("page"),
    )
