"""Citation verification: a citation is returned only if the stored document text at its
offsets is exactly its quote. This is the invariant every backend's answers obey."""

from __future__ import annotations

from collections.abc import Mapping

from citeqa.components.store import DocumentRecord


def verifies(record: DocumentRecord | None, quote: str, start: int, end: int) -> bool:
    if record is None or record.text is None or not quote:
        return False
    return 0 <= start < end <= len(record.text) and record.text[start:end] == quote


def verify_all(
    claims: list[tuple[str, str, int, int]], records: Mapping[str, DocumentRecord]
) -> list[bool]:
    """claims are (doc_id, quote, start, end); one verdict each."""
    return [verifies(records.get(doc_id), quote, s, e) for doc_id, quote, s, e in claims]
