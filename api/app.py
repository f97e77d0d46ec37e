"""The FastAPI app factory. No import-time globals: every app gets its own settings."""

from __future__ import annotations

import functools
import importlib.resources
import logging
import signal
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import FrameType
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api import errors, observability, openapi
from api.deps import EngineProvider
from api.routers import chat_page, documents, health, openai_compat, query, reindex
from api.security import ConcurrencyLimit, Guard, ReadAccess
from citeqa import __version__
from citeqa.components.embedder import Embedder
from citeqa.errors import CiteqaError
from citeqa.settings import Settings
from ingest.jobs import IngestJobs

log = logging.getLogger("citeqa.api")

# the requests bounded by CITEQA_MAX_CONCURRENT_REQUESTS (POSTs to these paths)
HEAVY_PATHS = ("/v1/query", "/v1/query/stream", "/v1/chat/completions", "/v1/documents")


def _stop_ingests_on_exit(stopping: threading.Event) -> None:
    """Chain the server's SIGTERM and SIGINT handlers (uvicorn's, installed before the
    app starts) so that a stop also ends an ingest in progress: uvicorn waits for open
    requests before it exits, and an upload would otherwise hold it for as long as its
    embedding takes. The ingest rolls back its unfinished documents and answers 503."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals belong to the main thread (not the case under a test client)
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
            stopping.set()
            previous(signum, frame)

        signal.signal(sig, handler)


def create_app(
    settings: Settings | None = None, warm_up: bool = True, embedder: Embedder | None = None
) -> FastAPI:
    """The app; `embedder` overrides the one the settings name (tests pass the model they
    already loaded)."""
    settings = settings or Settings()
    provider = EngineProvider(settings, embedder)
    jobs = IngestJobs()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        provider.stopping.clear()  # an app may be started again after a stop (tests)
        _stop_ingests_on_exit(provider.stopping)
        # Load the model at start-up, not on the first request; a store that is down now
        # is retried on each request (and /readyz says 503 meanwhile).
        await run_in_threadpool(provider.embedder)
        if warm_up:
            try:
                engine = await run_in_threadpool(provider.get)
                await run_in_threadpool(engine.health.warm_up)
            except CiteqaError as exc:
                log.warning("starting without a store: %s", exc.message)
        yield
        # background ingest jobs end within one embedding call once told to stop, each
        # rolling back its unfinished documents and recording itself failed
        provider.stopping.set()
        await run_in_threadpool(jobs.join, 8.0)

    guard = Guard.from_settings(settings)  # a malformed key list fails here, at start-up
    app = FastAPI(
        title="citeqa",
        version=__version__,
        summary="Answers from your own documents, with citations you can check.",
        description="Every citation's quote is verified against the stored document text at "
        "its offsets; when the documents do not answer, the answer abstains. With "
        "CITEQA_API_KEYS set, every route but /healthz (and the static chat page) needs "
        "`Authorization: Bearer KEY`.",
        lifespan=lifespan,
        docs_url=None,  # served below, behind the read scope
        openapi_url=None,
    )
    app.state.engines = provider
    app.state.jobs = jobs
    app.state.guard = guard
    errors.install(app)
    app.include_router(health.router)
    app.include_router(query.router, dependencies=[ReadAccess])
    app.include_router(documents.router)
    app.include_router(documents.jobs_router)
    app.include_router(reindex.router)
    app.include_router(openai_compat.router, dependencies=[ReadAccess])
    app.include_router(chat_page.router)
    app.include_router(observability.router)
    _add_docs(app, settings, guard)
    app.add_middleware(
        ConcurrencyLimit, limit=settings.access.max_concurrent_requests, paths=HEAVY_PATHS
    )
    origins = [o.strip() for o in settings.access.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"],
            max_age=600,
        )
    # outermost: every response, the middlewares' own refusals included, has its id
    app.add_middleware(observability.RequestContext)
    return app


# Swagger UI and ReDoc, served from the files the fastapi-offline package ships (no CDN):
# the docs pages work on a machine without network.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
_ASSET_PATH = "/docs/assets"


# ReDoc's sidebar credit loads a logo from Redocly's CDN: pointed at the local icon, so
# that the page asks nothing of the outside world.
_OUTSIDE = {b"https://cdn.redoc.ly/redoc/logo-mini.svg": f"{_ASSET_PATH}/favicon.png".encode()}


@functools.cache
def _asset(name: str) -> bytes:
    data = importlib.resources.files("fastapi_offline").joinpath("static", name).read_bytes()
    for outside, local in _OUTSIDE.items():
        data = data.replace(outside, local)
    return data


def _add_docs(app: FastAPI, settings: Settings, guard: Guard) -> None:
    generate = app.openapi

    def document() -> dict[str, Any]:
        """FastAPI's document plus the models it cannot see (bodies a route parses by
        hand, the data of streamed events), so that every $ref resolves; then the
        security, errors and links of this app as it runs (api/openapi.py)."""
        if app.openapi_schema is None:
            spec = generate()
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in (*documents.BODY_MODELS, *query.EVENT_MODELS):
                found = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in found.pop("$defs", {}).items():
                    schemas.setdefault(name, sub)
                schemas.setdefault(model.__name__, found)
            openapi.complete(app, spec, settings, guard, HEAVY_PATHS)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = document  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False, dependencies=[ReadAccess])
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[ReadAccess])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="citeqa API",
            swagger_js_url=f"{_ASSET_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSET_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSET_PATH}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False, dependencies=[ReadAccess])
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url="/openapi.json",
            title="citeqa API",
            redoc_js_url=f"{_ASSET_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{_ASSET_PATH}/favicon.png",
            with_google_fonts=False,
        )

    # The viewers' own files are public (a browser sends no key for a script), like the
    # chat page; what they show, /openapi.json, is behind the read scope.
    @app.get(_ASSET_PATH + "/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        if name not in _ASSETS:
            raise HTTPException(404, "no such file")
        return Response(
            _asset(name),
            media_type=_ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )
