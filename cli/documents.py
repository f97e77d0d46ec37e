"""`citeqa docs list|show|delete`: the stored documents."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.common import docs_app
from cli.common import engine as engine_of


@docs_app.command("list")
def docs_list(
    limit: Annotated[int, typer.Option(help="Documents per page.")] = 50,
    offset: Annotated[int, typer.Option(help="Documents to skip.")] = 0,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored documents."""
    engine = engine_of()
    records, total = engine.documents.list_documents(limit, offset)
    if json_output:
        items = [{k: v for k, v in r.__dict__.items() if k != "text"} for r in records]
        payload = {"total": total, "documents": items, **engine.health.format_status()}
        typer.echo(json.dumps(payload, indent=2))
        return
    for r in records:
        typer.echo(f"{r.doc_id}\t{r.n_chunks} chunks\t{r.date or '-'}\t{r.title}")
    typer.echo(f"{len(records)} of {total} documents")
    _reindex_notice(engine)


def _reindex_notice(engine) -> None:  # type: ignore[no-untyped-def]
    status = engine.health.format_status()
    if status["reindex_due"]:
        typer.echo(
            f"{status['documents_to_reindex']} documents were stored by an earlier version "
            "(they still answer): run `citeqa reindex` to rebuild them",
            err=True,
        )


@docs_app.command("show")
def docs_show(doc_id: str, json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a document's metadata and text."""
    record = engine_of().documents.get_document(doc_id)
    if json_output:
        typer.echo(json.dumps(record.__dict__, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{record.title}\n{record.doc_id} · {record.source} · {record.date or 'undated'}\n")
    typer.echo(record.text or "")


@docs_app.command("delete")
def docs_delete(doc_id: str) -> None:
    """Delete a document and all its chunks."""
    engine_of().documents.delete_document(doc_id)
    typer.echo(f"deleted {doc_id}")
