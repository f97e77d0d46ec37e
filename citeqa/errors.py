"""Domain errors. Each has a stable machine code; `api/errors.py` maps them to HTTP.

Messages are written for the user: no paths, tracebacks or upstream error text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def describe_validation(errors: Sequence[Mapping[str, Any]], default: str = "input") -> str:
    """`where: what` for the first of pydantic's validation errors (the request body's
    own "body" location left out), without echoing the rejected value."""
    first = errors[0] if errors else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or default
    return f"{where}: {first.get('msg', 'invalid value')}"


class CiteqaError(Exception):
    code = "internal_error"
    # an upload refused whole: each file's outcome, answered beside the error
    documents: list[dict[str, Any]] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CiteqaError):
    code = "invalid_input"


class QuestionTooLong(InvalidInput):
    code = "question_too_long"


class DocumentNotFound(CiteqaError):
    code = "document_not_found"


class JobNotFound(CiteqaError):
    code = "job_not_found"


class UnsupportedDocumentType(CiteqaError):
    code = "unsupported_type"


class NotText(UnsupportedDocumentType):
    """A file of a text format (by its name) whose content is not text: binary data,
    or characters that decode to mostly control or replacement characters."""

    code = "not_text"


class DocumentTooLarge(CiteqaError):
    code = "document_too_large"


class TooManyFiles(DocumentTooLarge):
    code = "too_many_files"


class DocumentUnreadable(CiteqaError):
    code = "document_unreadable"


class ArchiveRefused(DocumentUnreadable):
    """An archive that cannot be opened safely: a member named with an absolute path or
    `..` (path traversal), or one that is not an archive of a known kind. Nothing of it
    is stored."""

    code = "archive_refused"


class ArchiveTooLarge(ArchiveRefused):
    """An archive or compressed file over a limit (settings: archive_max_bytes,
    archive_max_members, archive_max_ratio), found while it unpacks: a bomb."""

    code = "archive_too_large"


class ProcessingTimeout(CiteqaError):
    """Reading, segmenting or chunking one document took longer than its time budget
    (settings: processing_seconds_per_mb, processing_min_seconds)."""

    code = "processing_timeout"


class IngestInProgress(CiteqaError):
    """Another process holds the embedded store's write lock."""

    code = "ingest_in_progress"


class ShuttingDown(CiteqaError):
    """The process is stopping: an ingest in progress was rolled back to whole documents."""

    code = "shutting_down"


class StoreUnavailable(CiteqaError):
    code = "store_unavailable"


class EmbedderMismatch(CiteqaError):
    """The store was built with another embedding model than the one configured."""

    code = "embedder_mismatch"


class EmbedderUnavailable(CiteqaError):
    code = "embedder_unavailable"


class ConfigurationError(CiteqaError):
    code = "configuration_error"


class LLMUnavailable(CiteqaError):
    """The LLM answered 429/5xx, refused the key, or could not be reached, after retries.
    The message never carries the upstream text."""

    code = "llm_unavailable"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMTimeout(LLMUnavailable):
    code = "llm_timeout"


class LLMBadOutput(LLMUnavailable):
    """The LLM's reply could not be read as an answer."""

    code = "llm_bad_output"


def error_of_code(code: str | None, message: str) -> CiteqaError:
    """The domain error whose code this is (DocumentUnreadable when none is): a stored
    outcome's code raised again as its error, so the API maps it to its HTTP status."""
    todo: list[type[CiteqaError]] = [CiteqaError]
    while todo:
        cls = todo.pop()
        if cls.code == code and cls is not CiteqaError:
            try:
                return cls(message)
            except TypeError:  # an error that needs more than a message
                break
        todo.extend(cls.__subclasses__())
    return DocumentUnreadable(message)
