"""Rebuilding documents stored by an earlier version (admins)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import EngineDep
from api.schemas import DocumentOutcome, ErrorBody, ReindexReport, ReindexRequest
from api.security import AdminAccess
from citeqa.domain import STORE_FORMAT

router = APIRouter(prefix="/v1", tags=["documents"])


@router.post(
    "/reindex",
    dependencies=[AdminAccess],
    response_model=ReindexReport,
    responses={409: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def reindex(engine: EngineDep, body: ReindexRequest | None = None) -> ReindexReport:
    """Rebuild up to `limit` documents stored in an older format from their stored text
    (`/readyz` says when any are due). Each document is rebuilt whole or not at all, so
    an interrupted call loses nothing; call again while `remaining` > 0."""
    limit = (body or ReindexRequest()).limit
    result, remaining = await run_in_threadpool(engine.documents.reindex, limit)
    return ReindexReport(
        reindexed=result.count("updated"),
        failed=result.count("failed"),
        remaining=remaining,
        format=STORE_FORMAT,
        seconds=round(result.seconds, 3),
        documents=[DocumentOutcome.model_validate(o) for o in result.documents],
    )
