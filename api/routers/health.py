from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep
from api.schemas import ErrorBody, Health, Readiness
from api.security import ReadAccess

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": ErrorBody}},
    dependencies=[ReadAccess],
)
def readyz(engine: EngineDep) -> Readiness:
    """The store answers and the embedder is loaded (503 otherwise)."""
    return Readiness(status="ready", **engine.health.readiness())
