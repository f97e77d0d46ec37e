"""What every command shares: the Typer app, settings, the engine, and errors as one
line on stderr (never a traceback)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from pydantic import ValidationError

from citeqa.settings import Settings, env_name

if TYPE_CHECKING:
    from ingest.engine import Engine

app = typer.Typer(
    help="Question answering over your own documents, with verified citations. Offline by "
    "default; settings come from CITEQA_* environment variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's own help: paragraphs rewrapped to the terminal and flags without a type
    # (Typer's rich help shows `--help <bool>` and keeps a docstring's line breaks)
    rich_markup_mode=None,
)
docs_app = typer.Typer(
    help="List, show and delete stored documents.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(docs_app, name="docs")


def fail(message: str, code: int = 1) -> NoReturn:
    print_error(message)
    raise typer.Exit(code)


def refused(exc: ValidationError) -> NoReturn:
    """Exit 2 naming the first refused setting as the environment names it."""
    errors = exc.errors()
    where = (env_name(errors[0]["loc"]) if errors else None) or "settings"
    fail(f"invalid setting {where}: {errors[0]['msg'] if errors else 'invalid value'}", 2)


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        refused(exc)


def with_backend(current: Settings, backend: str) -> Settings:
    try:
        return current.replace(backend=backend)
    except ValidationError as exc:
        refused(exc)


def engine(current: Settings | None = None) -> Engine:
    from ingest.engine import Engine  # noqa: PLC0415 (loads the models: only when needed)

    return Engine(current or settings())


def print_error(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
