from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Message

from api.deps import EngineDep, SettingsDep
from api.schemas import (
    MAX_TITLE,
    DocumentIn,
    DocumentList,
    DocumentOutcome,
    DocumentPatch,
    DocumentPublic,
    DocumentWithText,
    ErrorBody,
    IngestJob,
    IngestReport,
)
from api.security import AdminAccess, ReadAccess
from citeqa.domain import DocumentRecord
from citeqa.errors import (
    CiteqaError,
    DocumentTooLarge,
    InvalidInput,
    NotText,
    TooManyFiles,
    UnsupportedDocumentType,
    describe_validation,
    error_of_code,
)
from ingest.jobs import IngestJobs
from ingest.loaders import (
    SUPPORTED_SUFFIXES,
    is_supported,
    is_textual,
    refuse_binary,
    refuse_garbled,
)
from ingest.pipeline import DocumentOutcome as Outcome
from ingest.pipeline import IngestResult, Source
from ingest.readers.archive import ARCHIVE_SUFFIXES

router = APIRouter(prefix="/v1/documents", tags=["documents"])
jobs_router = APIRouter(prefix="/v1/ingest-jobs", tags=["documents"])

# as DocumentIn.doc_id: an id the store can hold (a longer one is refused, not looked up)
DocIdPath = Annotated[str, Path(min_length=1, max_length=512, description="The document's id.")]

# Bodies parsed by hand (JSON or multipart on one route): the app adds their models to
# the OpenAPI document's components, where _BODY_DOC refers to them.
BODY_MODELS = (DocumentIn,)

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/DocumentIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "format": "binary"},
                        },
                        "doc_id": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 512,
                            "description": "Id for a single uploaded file (with several "
                            "files, a 422).",
                        },
                        "title": {
                            "type": "string",
                            "maxLength": MAX_TITLE,
                            "description": "Title for a single uploaded file (else its "
                            "metadata title or first heading, else its file name).",
                        },
                    },
                    "required": ["files"],
                    # a doc_id names one document: with it, one file
                    "dependentSchemas": {"doc_id": {"properties": {"files": {"maxItems": 1}}}},
                }
            },
        },
    }
}


def safe_name(name: str | None) -> str:
    """The base name of an uploaded file: no folders, no `..`, no absolute paths."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    if base in ("", ".", ".."):
        raise InvalidInput("every uploaded file needs a file name")
    return base


# outcomes of a document that is in the store after the upload
_KEPT = ("added", "updated", "skipped")


def _status_of(error: CiteqaError) -> str:
    return "unsupported" if isinstance(error, UnsupportedDocumentType) else "failed"


def _report(result: IngestResult) -> IngestReport:
    return IngestReport(
        **result.summary(),
        partial=any(d.status not in _KEPT for d in result.documents),
        documents=[DocumentOutcome.model_validate(o) for o in result.documents],
    )


def _refuse(outcomes: Sequence[Outcome]) -> None:
    """Raise the error of an upload of which nothing was stored: the first file's own
    error (its code and HTTP status), its message naming each file, and each file's
    outcome in the body's `documents`."""
    first = next(o for o in outcomes if o.status not in _KEPT)
    message = "; ".join(f"{o.doc_id}: {o.message or o.status}" for o in outcomes)
    if len(outcomes) == 1:
        message = first.message or message
    error = error_of_code(first.code, message[:2000])
    error.documents = [DocumentOutcome.model_validate(o).model_dump() for o in outcomes]
    raise error


def _public(record: DocumentRecord) -> dict[str, Any]:
    return {
        "doc_id": record.doc_id,
        "title": record.title,
        "source": record.source,
        "date": record.date,
        "content_hash": record.content_hash,
        "n_chunks": record.n_chunks,
        "chars": record.chars,
        "ingested_at": record.ingested_at,
        "metadata": record.extra,
    }


def _reader(data: bytes) -> Callable[[], bytes]:
    return lambda: data


# RFC 2046's boundary characters; the body of a multipart request opens with "--" + it
_BOUNDARY = re.compile(rb"--([0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?])\r?\n")


async def _with_boundary(request: Request) -> Request:
    """A multipart request whose Content-Type names no boundary (some generated clients
    send it so) read with the boundary its body opens with; any other as it is."""
    if "boundary=" in request.headers.get("content-type", "").lower():
        return request
    body = await request.body()
    found = _BOUNDARY.match(body)
    if found is None:
        return request
    content_type = b"multipart/form-data; boundary=" + found.group(1)
    headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
    scope = {**request.scope, "headers": [*headers, (b"content-type", content_type)]}

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, replay)


@dataclass
class _Upload:
    """The sources of a request, and for each file refused before reading (unsupported,
    too large, not text) its error: when every file is refused so, the request is
    answered with the first refusal at once (also with wait=false)."""

    sources: list[Source]
    refusals: list[CiteqaError | None]


def _refusal(name: str, data: bytes, max_bytes: int) -> CiteqaError | None:
    if not is_supported(name):
        return UnsupportedDocumentType(
            f"unsupported file type for {name!r}; supported: "
            + ", ".join(sorted(SUPPORTED_SUFFIXES))
            + ", text files named README, NEWS, changelog and the like"
            + ", each also as .gz, .bz2 or .xz, and archives: "
            + ", ".join(sorted(ARCHIVE_SUFFIXES))
        )
    if len(data) > max_bytes:
        return DocumentTooLarge(f"{name} is larger than {max_bytes} bytes")
    if is_textual(name):
        try:
            refuse_binary(data, name)
        except NotText as exc:
            return exc
    return None


async def _sources_from_form(request: Request, max_bytes: int, max_files: int) -> _Upload:
    request = await _with_boundary(request)
    try:
        form = await request.form(max_files=max_files, max_fields=20)
    except HTTPException as exc:
        if "files" in str(exc.detail).lower():
            raise TooManyFiles(f"at most {max_files} files per upload") from None
        raise InvalidInput("the multipart form could not be read") from None
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
    if not files:
        raise InvalidInput("send one or more files in the form field 'files'")
    doc_id_field = form.get("doc_id")
    if doc_id_field is not None and not (
        isinstance(doc_id_field, str) and 0 < len(doc_id_field) <= 512
    ):
        raise InvalidInput("doc_id must be 1-512 characters")
    if doc_id_field is not None and len(files) > 1:
        raise InvalidInput("doc_id can only be given with a single file")
    title_field = form.get("title")
    if title_field is not None and not (
        isinstance(title_field, str) and len(title_field) <= MAX_TITLE
    ):
        raise InvalidInput(f"title must be at most {MAX_TITLE} characters")
    title = title_field.strip() if isinstance(title_field, str) and title_field.strip() else None
    if title is not None and len(files) > 1:
        raise InvalidInput("title can only be given with a single file")
    upload = _Upload([], [])
    for file in files:
        name = safe_name(file.filename)
        # a file over the limit is read one byte past it, enough to say so
        data = await file.read(max_bytes + 1)
        upload.refusals.append(_refusal(name, data, max_bytes))
        doc_id = doc_id_field if isinstance(doc_id_field, str) else name
        upload.sources.append(
            Source(
                doc_id=doc_id, source=f"upload:{name}", name=name, read=_reader(data), title=title
            )
        )
    return upload


async def _source_from_json(request: Request) -> Source:
    try:
        body = DocumentIn.model_validate(json.loads(await request.body()))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput("the body is not valid JSON") from exc
    except ValidationError as exc:
        raise InvalidInput(describe_validation(exc.errors(), "body")) from exc
    doc_id = body.doc_id or f"doc-{hashlib.sha256(body.text.encode()).hexdigest()[:12]}"
    refuse_garbled(body.text, "the text")
    source = str(body.metadata.get("source", "api"))
    return Source(
        doc_id=doc_id,
        source=source,
        name=f"{doc_id}.md",
        text=body.text,
        title=body.title,
        metadata={k: v for k, v in body.metadata.items() if k != "source"},
    )


@router.post(
    "",
    dependencies=[AdminAccess],
    response_model=IngestReport,
    status_code=200,
    openapi_extra=_BODY_DOC,
    responses={
        207: {
            "model": IngestReport,
            "description": "Some documents were stored and others failed or are "
            "unsupported (`partial: true`): each one's outcome, status, message and code is "
            "in `documents`.",
        },
        202: {
            "model": IngestJob,
            "description": "With `wait=false`: the job, to follow at "
            "`GET /v1/ingest-jobs/{job_id}` (also in the Location header).",
        },
        413: {"model": ErrorBody},
        415: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody},
    },
)
async def add_documents(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    wait: Annotated[
        bool,
        Query(
            description="false: answer 202 at once with an ingest job and ingest in the "
            "background (the files are checked first, as with true)."
        ),
    ] = True,
) -> Any:
    """Ingest uploaded files (multipart, field `files`) or one JSON document: text,
    Markdown, HTML, PDF, Word (.docx), OpenDocument text and spreadsheets (.odt, .ods),
    PowerPoint (.pptx), EPUB, Excel (.xlsx) and CSV.

    Each of these may come compressed (`.gz`, `.bz2`, `.xz`), and a `.zip` or `.tar`
    (`.tar.gz`, `.tgz`, `.tar.bz2`, `.tar.xz`) archive stores each supported member as a
    document, its doc_id and source the archive's followed by the member's path in it.
    An archive that unpacks past its limits (a bomb) is refused with a 413
    `archive_too_large`, one naming a member with an absolute path or `..` with a 422
    `archive_refused`; nothing of it is stored.

    Unchanged documents are skipped; a changed one replaces its previous version. The
    report has one outcome per document (added, updated, skipped, failed, unsupported;
    a message and an error code for each that was not stored). When some documents
    were stored and others not, the answer is a 207 with `partial: true`; when none
    could be stored, it is the first one's error (415 `unsupported_type` or `not_text`,
    413 `document_too_large`, 422 `document_unreadable`, ...) with each outcome in
    `documents`. A `title` form field (one file) sets the document's title.
    """
    content_type = request.headers.get("content-type", "")
    length = int(request.headers.get("content-length") or 0)
    if length > settings.ingest.max_document_bytes * settings.ingest.max_files_per_upload:
        raise DocumentTooLarge("the request body is too large")
    if content_type.startswith("multipart/form-data"):
        upload = await _sources_from_form(
            request, settings.ingest.max_document_bytes, settings.ingest.max_files_per_upload
        )
        if all(upload.refusals):  # no file worth reading: the first one's error, at once
            _refuse(
                [
                    Outcome(s.doc_id, _status_of(e), message=e.message, code=e.code)
                    for s, e in zip(upload.sources, upload.refusals, strict=True)
                    if e is not None
                ]
            )
        sources = upload.sources
    elif content_type.startswith("application/json"):
        if length > settings.ingest.max_document_bytes:
            raise DocumentTooLarge(
                f"the document is larger than {settings.ingest.max_document_bytes} bytes"
            )
        sources = [await _source_from_json(request)]
    else:
        raise UnsupportedDocumentType("send application/json or multipart/form-data")
    if not wait:
        jobs: IngestJobs = request.app.state.jobs
        job = await run_in_threadpool(jobs.start, engine.documents, sources)
        status = await run_in_threadpool(engine.documents.job, job.job_id)
        return JSONResponse(
            status_code=202,
            content=IngestJob(**status).model_dump(),
            headers={"Location": f"/v1/ingest-jobs/{job.job_id}"},
        )
    result = await run_in_threadpool(engine.documents.ingest, sources)
    if result.documents and not any(d.status in _KEPT for d in result.documents):
        _refuse(result.documents)  # nothing could be stored: a client error
    report = _report(result)
    if report.partial:
        return JSONResponse(status_code=207, content=report.model_dump())
    return report


@jobs_router.get(
    "/{job_id}",
    dependencies=[AdminAccess],
    response_model=IngestJob,
    responses={404: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
def get_ingest_job(job_id: str, engine: EngineDep) -> IngestJob:
    """An ingest job's status and progress, from any API process sharing the store. A
    job whose process stopped is `failed`; post the same files again to resume it (the
    documents it stored are skipped as unchanged)."""
    return IngestJob(**engine.documents.job(job_id))


@router.get("", response_model=DocumentList, dependencies=[ReadAccess])
def list_documents(
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="Documents per page.")] = 50,
    offset: Annotated[int, Query(ge=0, description="Documents to skip.")] = 0,
) -> DocumentList:
    """List stored documents (sorted by doc_id), a page at a time."""
    records, total = engine.documents.list_documents(limit, offset)
    return DocumentList(
        total=total,
        limit=limit,
        offset=offset,
        documents=[DocumentPublic(**_public(r)) for r in records],
    )


@router.get(
    "/{doc_id:path}",
    response_model=DocumentWithText,
    responses={404: {"model": ErrorBody}},
    dependencies=[ReadAccess],
)
def get_document(doc_id: DocIdPath, engine: EngineDep) -> DocumentWithText:
    """A document's metadata and its stored text (citation offsets index into `text`)."""
    record = engine.documents.get_document(doc_id)
    return DocumentWithText(**_public(record), text=record.text or "")


@router.patch(
    "/{doc_id:path}",
    dependencies=[AdminAccess],
    response_model=DocumentPublic,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
def update_document(doc_id: str, change: DocumentPatch, engine: EngineDep) -> DocumentPublic:
    """Change a stored document's title or date without reading or embedding it again:
    the document's record and its passages' metadata change, so the listing, GET and the
    citations of later answers show the new values at once. A field absent (or a null
    title) stays as it is; an empty body changes nothing and answers the document. A
    later upload of the unchanged file is skipped and keeps them; a changed file takes
    its title from the file (or the upload's `title`) again."""
    fields: dict[str, Any] = {}
    if change.title is not None:  # not blank (checked by DocumentPatch)
        fields["title"] = change.title.strip()
    if "date" in change.model_fields_set:
        fields["date"] = change.date  # an ISO date (checked by DocumentPatch) or None
    return DocumentPublic(**_public(engine.documents.update_document(doc_id, **fields)))


@router.delete(
    "/{doc_id:path}",
    dependencies=[AdminAccess],
    status_code=204,
    response_class=Response,
    responses={404: {"model": ErrorBody}},
)
def delete_document(doc_id: DocIdPath, engine: EngineDep) -> Response:
    """Delete a document and all of its chunks."""
    engine.documents.delete_document(doc_id)
    return Response(status_code=204)
