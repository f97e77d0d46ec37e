"""The FastAPI app factory. No import-time globals: every app gets its own settings."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import EngineProvider
from api.routers import chat_page, documents, health, openai_compat, query
from citeqa import __version__
from citeqa.errors import CiteqaError
from citeqa.settings import Settings

log = logging.getLogger("citeqa.api")


def create_app(settings: Settings | None = None, warm_up: bool = True) -> FastAPI:
    settings = settings or Settings()
    provider = EngineProvider(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load the model at start-up, not on the first request; a store that is down now
        # is retried on each request (and /readyz says 503 meanwhile).
        await run_in_threadpool(provider.embedder)
        if warm_up:
            try:
                engine = await run_in_threadpool(provider.get)
                await run_in_threadpool(engine.warm_up)
            except CiteqaError as exc:
                log.warning("starting without a store: %s", exc.message)
        yield

    app = FastAPI(
        title="citeqa",
        version=__version__,
        summary="Answers from your own documents, with citations you can check.",
        description="Every citation's quote is verified against the stored document text at "
        "its offsets; when the documents do not answer, the answer abstains.",
        lifespan=lifespan,
    )
    app.state.engines = provider
    errors.install(app)
    app.include_router(health.router)
    app.include_router(query.router)
    app.include_router(documents.router)
    app.include_router(openai_compat.router)
    app.include_router(chat_page.router)
    return app
