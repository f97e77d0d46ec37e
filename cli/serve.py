"""`citeqa serve`: the REST API, its docs and the chat page under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import app, fail
from cli.common import settings as current_settings


@app.command(short_help="Serve the REST API, its docs and the chat page.")
def serve(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    insecure_no_auth: Annotated[
        bool,
        typer.Option(
            "--insecure-no-auth",
            help="Serve on a non-loopback address without API keys (anyone who can reach "
            "it may read and change the documents).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="API processes. More than 1 needs a Chroma server (CITEQA_CHROMA_URL).",
        ),
    ] = 1,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs) and the chat page (/)."""
    import uvicorn

    from api.app import create_app
    from api.security import is_loopback, load_keys
    from citeqa import logs

    settings = current_settings()
    if not load_keys(settings) and not is_loopback(host) and not insecure_no_auth:
        fail(
            f"refusing to serve on {host} without API keys: set CITEQA_API_KEYS (or "
            "CITEQA_API_KEYS_FILE), or pass --insecure-no-auth",
            2,
        )
    if workers > 1:
        if not settings.store.chroma_url:
            fail(
                "--workers > 1 needs a Chroma server: the embedded store belongs to one "
                "process. Start one with `chroma run --path DIR --port 8001` and set "
                "CITEQA_CHROMA_URL=http://127.0.0.1:8001",
                2,
            )
        # each worker builds its own app from the same CITEQA_* environment
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=log_level,
            log_config=logs.config(settings.logging.format, log_level),
        )
        return
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        log_config=logs.config(settings.logging.format, log_level),
    )
