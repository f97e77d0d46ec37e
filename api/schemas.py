"""Request and response bodies, named by role. The answer contract itself is the
engine's (`citeqa.contract`), so the API, the CLI and the evals return the same JSON."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from citeqa.contract import Answer, Citation, Turn
from citeqa.dates import exact_iso_date
from citeqa.filters import Filters

__all__ = ["Answer", "Citation", "Filters", "Turn"]

MAX_HISTORY_TURNS = 50
MAX_TITLE = 300


def _whole(value: object) -> object:
    """JSON does not tell 2 from 2.0; JSON Schema's `integer` takes both."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# With StrictInt: an integer as JSON Schema means it (2 or 2.0), never a string or a
# boolean. It goes last in Annotated[StrictInt, Field(ge=..), WHOLE], so that the bounds
# stay in the schema as minimum and maximum.
WHOLE = BeforeValidator(_whole)


class QueryRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"question": "What remains prohibited?", "top_k": 6}]},
    )

    question: str = Field(
        min_length=1,
        max_length=8000,
        # not blank (stated here; the engine refuses it with "the question is empty")
        json_schema_extra={"pattern": r"\S"},
        description="The question, in plain language (at most CITEQA_MAX_QUESTION_TOKENS "
        "tokens, a limit no JSON Schema keyword can state: a longer one is refused with a "
        "422 `question_too_long`).",
        examples=["What remains prohibited?"],
    )
    top_k: Annotated[StrictInt, Field(ge=1, le=200), WHOLE] | None = Field(
        None,
        description="Passages to retrieve (default CITEQA_TOP_K; at most CITEQA_MAX_TOP_K).",
    )
    filters: Filters | None = Field(None, description="Restrict retrieval to some documents.")
    stream: StrictBool = Field(
        False,
        description="On POST /v1/query: reply with Server-Sent Events instead of JSON (kept "
        "for existing clients; POST /v1/query/stream is the route that always streams, and "
        "the one generated clients should use). Ignored by /v1/query/stream.",
    )
    history: list[Turn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="Earlier turns, oldest first, for follow-up questions such as 'What "
        "about near Kyiv?'.",
    )


class DocumentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"doc_id": "notes/meeting-1.md", "title": "Meeting notes", "text": "# Notes\n..."}
            ]
        },
    )

    doc_id: str | None = Field(
        None,
        min_length=1,
        max_length=512,
        description="Stable id; when absent, `doc-` and the start of the text's SHA-256.",
    )
    title: str | None = Field(
        None,
        max_length=MAX_TITLE,
        description="Title; else the text's first heading or title line, else the doc_id "
        "made readable.",
    )
    text: str = Field(min_length=1, description="The document text (plain text or Markdown).")
    metadata: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Extra metadata; `date` (ISO) is used by date filters."
    )


class DocumentOutcome(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built from the pipeline's outcomes

    doc_id: str
    status: str = Field(description="added, updated, skipped, failed or unsupported")
    chunks: int
    message: str | None = None
    code: str | None = Field(
        None,
        description="Why a document failed or is unsupported, as an error code "
        "(unsupported_type, not_text, document_unreadable, document_too_large, "
        "processing_timeout, ...); null otherwise.",
        examples=["processing_timeout"],
    )


class IngestReport(BaseModel):
    """One outcome per document: each uploaded file, and each member of an uploaded
    archive (doc_id `archive.zip/path/in/it.md`)."""

    added: int
    updated: int
    skipped: int
    failed: int
    unsupported: int
    chunks: int
    seconds: float
    partial: bool = Field(
        False,
        description="true when some documents were stored (added, updated or unchanged) "
        "and others failed or are unsupported; the answer is then a 207.",
    )
    documents: list[DocumentOutcome]


class IngestJob(BaseModel):
    """An upload ingested in the background (`POST /v1/documents?wait=false`)."""

    job_id: str
    status: Literal["queued", "running", "done", "failed"] = Field(
        description="failed also when the process running the job stopped (no heartbeat)"
    )
    documents: int = Field(
        description="documents in the upload (an archive counts as one until its members "
        "are reported, then as its members)"
    )
    processed: int = Field(description="documents finished so far (stored, skipped or failed)")
    added: int
    updated: int
    skipped: int
    failed: int
    unsupported: int
    read: int = Field(
        0,
        description="documents whose reading has started, the one being read included "
        "(moves a file at a time; an archive's members count one by one)",
    )
    current: str | None = Field(
        None, description="the doc_id of the document being read now; null once the job ended"
    )
    chunks: int = Field(description="chunks stored so far")
    chunks_embedded: int = Field(
        0,
        description="chunks embedded and written so far, counted as the job goes (a "
        "group of documents is stored whole once all its chunks are: `processed` moves "
        "a group at a time, this a batch at a time)",
    )
    created_at: str
    updated_at: str
    message: str | None = Field(None, description="why the job failed")
    report: IngestReport | None = Field(
        None, description="the ingest report, once the job has ended (done, or failed midway)"
    )


class DocumentPublic(BaseModel):
    doc_id: str
    title: str
    source: str
    date: str | None
    content_hash: str
    n_chunks: int
    chars: int | None = Field(
        None, description="Length of the stored text; null for documents stored before it was kept."
    )
    ingested_at: str | None
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)


class DocumentPatch(BaseModel):
    """The fields of a stored document to change; those absent stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Gzip manual", "date": "2024-05-30"}]},
    )

    title: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_TITLE,
        pattern=r"\S",
        description="The new title (not blank); null or absent: unchanged.",
    )
    # format "date" (RFC 3339's full-date) is what the validator accepts
    date: str | None = Field(
        None,
        description="The new date, ISO (YYYY-MM-DD), used by date filters; null removes it.",
        json_schema_extra={"format": "date"},
    )

    @field_validator("date")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        return exact_iso_date(value, "send an ISO date such as 2024-05-30, or null to remove it")


class DocumentWithText(DocumentPublic):
    text: str = Field(description="The stored text; citation offsets index into it.")


class DocumentList(BaseModel):
    total: int
    limit: int
    offset: int
    documents: list[DocumentPublic]


class ErrorDetail(BaseModel):
    code: str = Field(examples=["document_not_found"])
    message: str = Field(examples=["no document with id 'x'"])


class ErrorBody(BaseModel):
    error: ErrorDetail
    documents: list[DocumentOutcome] | None = Field(
        None,
        description="An upload of which nothing could be stored: each document's outcome "
        "(the error is the first one's). Absent from other errors.",
    )


class OpenAIErrorDetail(BaseModel):
    message: str = Field(examples=["the model 'gpt-4o' does not exist; use 'citeqa'"])
    type: str = Field(examples=["invalid_request_error"])
    param: str | None = Field(examples=["model"])
    code: str | None = Field(examples=["model_not_found"])


class OpenAIErrorBody(BaseModel):
    """Errors on the OpenAI-compatible routes, in OpenAI's shape."""

    error: OpenAIErrorDetail


class Suggestions(BaseModel):
    questions: list[str] = Field(
        description="Example questions drawn from the stored documents' titles and headings."
    )


class StreamDelta(BaseModel):
    """The data of a `delta` event: answer text, one verified sentence at a time."""

    text: str


class StreamCitations(BaseModel):
    """The data of the `citations` event."""

    citations: list[Citation]


class Health(BaseModel):
    status: str = Field(examples=["ok"])


class Readiness(BaseModel):
    status: str = Field(examples=["ready"])
    store: str
    embedder: str
    reader: str = Field(
        "off",
        description="The cross-encoder the answer model weighs, or 'off'.",
        examples=["ms-marco-MiniLM-L-12-v2 (int8)"],
    )
    reader_mode: str = Field(
        "verify",
        description="CITEQA_READER: 'verify' (the verifier reads the best units and its "
        "joint gate decides), 'on' (the reader scores every candidate) or 'off'.",
        examples=["verify"],
    )
    verifier: str = Field(
        "off",
        description="The cross-encoder that checks an extractive answer's best units "
        "before it is given, or 'off'.",
        examples=["ms-marco-MiniLM-L-12-v2 (int8), fine-tuned for near-misses"],
    )
    backend: str = Field(examples=["extractive"], description="What composes answers.")
    chunks: int
    format: int = Field(description="The store format this version writes.", examples=[2])
    documents_to_reindex: int = Field(
        0, description="Documents stored by an earlier version (or left half-written)."
    )
    reindex_due: bool = Field(
        False,
        description="True when documents await `citeqa reindex` (or POST /v1/reindex); they "
        "keep answering meanwhile.",
    )


class ReindexRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[StrictInt, Field(ge=1, le=10000), WHOLE] = Field(
        100,  # a whole number: `true` is not a number of documents
        description="Most documents to rebuild in this call; call again while `remaining` > 0.",
    )


class ReindexReport(BaseModel):
    reindexed: int = Field(description="Documents rebuilt in the current format.")
    failed: int
    remaining: int = Field(description="Documents still to rebuild.")
    format: int
    seconds: float
    documents: list[DocumentOutcome]
