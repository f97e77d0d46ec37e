from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep
from api.schemas import Answer, ErrorBody, QueryRequest

router = APIRouter(prefix="/v1", tags=["query"])


@router.post(
    "/query",
    response_model=Answer,
    responses={422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
def query(body: QueryRequest, engine: EngineDep) -> Answer:
    """Answer a question from the stored documents.

    Every claim in `answer` is followed by a marker [n]; `citations[n-1]` gives the
    document, the verbatim quote and its character offsets, verified against the stored
    text. When the documents do not answer, `abstained` is true.
    """
    return engine.ask(body.question, top_k=body.top_k, filters=body.filters)
