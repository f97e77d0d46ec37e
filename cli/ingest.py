"""`citeqa ingest`: files and folders into the store, with progress."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.common import app
from cli.common import engine as engine_of


class _Progress:
    """Ingest progress on stderr: a bar (documents, chunks, chunks/s, ETA) on a terminal;
    otherwise a plain line at most every `every` seconds and one at the end."""

    def __init__(self, total: int, every: float, quiet: bool) -> None:
        import time

        from tqdm import tqdm

        self._clock = time.monotonic
        self._started = self._last = self._clock()
        self._total, self._every, self._quiet = total, every, quiet
        self._documents = self._chunks = 0
        self._bar = (
            tqdm(total=total, unit="doc", file=sys.stderr, dynamic_ncols=True)
            if not quiet and sys.stderr.isatty()
            else None
        )

    def _rate(self) -> float:
        return self._chunks / max(self._clock() - self._started, 1e-9)

    def document(self, _outcome: object) -> None:
        self._documents += 1
        # an archive counts as one file and reports one outcome per member
        self._total = max(self._total, self._documents)
        if self._bar is not None:
            self._bar.total = self._total
            self._bar.update(1)
        self._line()

    def chunks(self, n: int) -> None:
        self._chunks += n
        if self._bar is not None:
            self._bar.set_postfix_str(f"{self._chunks} chunks, {self._rate():.1f} chunks/s")
        self._line()

    def _line(self, final: bool = False) -> None:
        if self._bar is not None or self._quiet:
            return
        now = self._clock()
        if not final and now - self._last < self._every:
            return
        self._last = now
        elapsed = now - self._started
        left = self._total - self._documents
        eta = f", about {elapsed / self._documents * left:.0f} s left" if self._documents else ""
        print(
            f"ingest: {self._documents}/{self._total} documents, {self._chunks} chunks, "
            f"{self._rate():.1f} chunks/s, {elapsed:.0f} s{eta if left else ''}",
            file=sys.stderr,
            flush=True,
        )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        else:
            self._line(final=True)


@app.command(short_help="Ingest files and folders; unchanged documents are skipped.")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (searched recursively).")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    progress_every: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds between progress lines when stderr is not a terminal (a terminal "
            "gets a progress bar).",
        ),
    ] = 5.0,
) -> None:
    """Ingest documents (text, Markdown, HTML, PDF, office formats, each also compressed
    as .gz, .bz2 or .xz, and the supported files in .zip and .tar archives); unchanged
    ones are skipped."""
    from ingest.pipeline import sources_from_paths

    engine = engine_of()
    sources = list(sources_from_paths(paths))
    progress = _Progress(len(sources), progress_every, quiet=json_output)
    try:
        result = engine.documents.ingest(
            sources, on_document=progress.document, on_chunks=progress.chunks
        )
    finally:
        progress.close()
    summary = result.summary()
    if json_output:
        payload = {**summary, "documents": [o.__dict__ for o in result.documents]}
        typer.echo(json.dumps(payload, indent=2))
    else:
        for outcome in result.documents:
            if outcome.status in ("failed", "unsupported") or outcome.message not in (
                None,
                "unchanged",
            ):
                code = f" [{outcome.code}]" if outcome.code else ""
                typer.echo(f"{outcome.status:>11}  {outcome.doc_id}: {outcome.message}{code}")
        typer.echo(
            "added {added}, updated {updated}, skipped {skipped}, failed {failed}, "
            "unsupported {unsupported}; {chunks} chunks in {seconds:.1f} s".format(**summary)
        )
    if summary["failed"]:
        raise typer.Exit(1)
