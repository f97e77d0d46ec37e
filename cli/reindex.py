"""`citeqa reindex`: documents stored by an earlier version, rebuilt from their text."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import app
from cli.common import engine as engine_of


@app.command(short_help="Rebuild documents stored by an earlier version.")
def reindex(
    limit: Annotated[
        int | None, typer.Option(help="Rebuild at most this many documents now.")
    ] = None,
) -> None:
    """Rebuild documents stored by an earlier version from their stored text.

    Resumable: each document is rebuilt whole or left as it was, and a later run goes on
    where this one stopped. Documents keep answering meanwhile.
    """
    engine = engine_of()

    def on_document(outcome) -> None:  # type: ignore[no-untyped-def]
        typer.echo(f"{outcome.status}\t{outcome.doc_id}\t{outcome.chunks} chunks")

    result, remaining = engine.documents.reindex(limit, on_document)
    typer.echo(
        f"reindexed {result.count('updated')}, failed {result.count('failed')}; "
        f"{remaining} remaining; {result.seconds:.1f} s"
    )
