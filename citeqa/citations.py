"""Citation verification: a citation is returned only if the stored document text at its
offsets is exactly its quote. This is the invariant every backend's answers obey."""

from __future__ import annotations

from citeqa.domain import DocumentRecord


def verifies(record: DocumentRecord | None, quote: str, start: int, end: int) -> bool:
    if record is None or record.text is None or not quote:
        return False
    return 0 <= start < end <= len(record.text) and record.text[start:end] == quote
