"""The `citeqa` command line. Every command honours the CITEQA_* settings."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError

from citeqa.errors import CiteqaError, describe_validation
from citeqa.settings import Settings

app = typer.Typer(
    help="Question answering over your own documents, with verified citations. Offline by "
    "default; settings come from CITEQA_* environment variables.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
docs_app = typer.Typer(help="List, show and delete stored documents.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


def _fail(message: str, code: int = 1) -> NoReturn:
    _print_error(message)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        _fail(f"invalid setting {describe_validation(exc.errors(), 'settings')}", 2)


def _with_backend(settings: Settings, backend: str) -> Settings:
    try:
        return Settings.model_validate({**settings.model_dump(), "backend": backend})
    except ValidationError as exc:
        _fail(f"invalid setting {describe_validation(exc.errors(), 'settings')}", 2)


def _engine(settings: Settings | None = None):  # type: ignore[no-untyped-def]
    from citeqa.engine import Engine

    return Engine(settings or _settings())


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


@app.command()
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

    engine = _engine()
    sources = list(sources_from_paths(paths))
    progress = _Progress(len(sources), progress_every, quiet=json_output)
    try:
        result = engine.ingest(sources, on_document=progress.document, on_chunks=progress.chunks)
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


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the answer contract as JSON.")
    ] = False,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Passages to retrieve.")] = None,
) -> None:
    """Answer a question from the stored documents, with citations."""
    engine = _engine()
    engine.validate_question(question, top_k)  # bad input fails before the model loads
    engine.warm_up()  # so timings_ms measures the question, not loading the model
    answer = engine.ask(question, top_k=top_k)
    if json_output:
        typer.echo(answer.model_dump_json(indent=2))
        return
    typer.echo(answer.answer)
    for c in answer.citations:
        typer.echo(f"\n[{c.n}] {c.title} ({c.doc_id}, chars {c.start}-{c.end})\n    “{c.quote}”")


@app.command()
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

    settings = _settings()
    if not load_keys(settings) and not is_loopback(host) and not insecure_no_auth:
        _fail(
            f"refusing to serve on {host} without API keys: set CITEQA_API_KEYS (or "
            "CITEQA_API_KEYS_FILE), or pass --insecure-no-auth",
            2,
        )
    if workers > 1:
        if not settings.chroma_url:
            _fail(
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
            log_config=logs.config(settings.log_format, log_level),
        )
        return
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=log_level,
        log_config=logs.config(settings.log_format, log_level),
    )


@docs_app.command("list")
def docs_list(
    limit: Annotated[int, typer.Option(help="Documents per page.")] = 50,
    offset: Annotated[int, typer.Option(help="Documents to skip.")] = 0,
    json_output: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List stored documents."""
    engine = _engine()
    records, total = engine.list_documents(limit, offset)
    if json_output:
        items = [{k: v for k, v in r.__dict__.items() if k != "text"} for r in records]
        payload = {"total": total, "documents": items, **engine.format_status()}
        typer.echo(json.dumps(payload, indent=2))
        return
    for r in records:
        typer.echo(f"{r.doc_id}\t{r.n_chunks} chunks\t{r.date or '-'}\t{r.title}")
    typer.echo(f"{len(records)} of {total} documents")
    _reindex_notice(engine)


def _reindex_notice(engine) -> None:  # type: ignore[no-untyped-def]
    status = engine.format_status()
    if status["reindex_due"]:
        typer.echo(
            f"{status['documents_to_reindex']} documents were stored by an earlier version "
            "(they still answer): run `citeqa reindex` to rebuild them",
            err=True,
        )


@docs_app.command("show")
def docs_show(doc_id: str, json_output: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a document's metadata and text."""
    record = _engine().get_document(doc_id)
    if json_output:
        typer.echo(json.dumps(record.__dict__, indent=2, ensure_ascii=False))
        return
    typer.echo(f"{record.title}\n{record.doc_id} · {record.source} · {record.date or 'undated'}\n")
    typer.echo(record.text or "")


@docs_app.command("delete")
def docs_delete(doc_id: str) -> None:
    """Delete a document and all its chunks."""
    _engine().delete_document(doc_id)
    typer.echo(f"deleted {doc_id}")


@app.command()
def reindex(
    limit: Annotated[
        int | None, typer.Option(help="Rebuild at most this many documents now.")
    ] = None,
) -> None:
    """Rebuild documents stored by an earlier version from their stored text.

    Resumable: each document is rebuilt whole or left as it was, and a later run goes on
    where this one stopped. Documents keep answering meanwhile.
    """
    engine = _engine()

    def on_document(outcome) -> None:  # type: ignore[no-untyped-def]
        typer.echo(f"{outcome.status}\t{outcome.doc_id}\t{outcome.chunks} chunks")

    result, remaining = engine.reindex(limit, on_document)
    typer.echo(
        f"reindexed {result.count('updated')}, failed {result.count('failed')}; "
        f"{remaining} remaining; {result.seconds:.1f} s"
    )


@app.command("eval")
def eval_command(
    set_path: Annotated[Path, typer.Argument(metavar="SET.jsonl", help="The gold eval set.")],
    docs: Annotated[
        Path | None, typer.Option(help="Ingest this folder into a fresh temporary store first.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the full results as JSON.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option(help="Write a Markdown report here (JSON beside it).")
    ] = None,
    top_k: Annotated[int | None, typer.Option("--top-k")] = None,
    thresholds: Annotated[Path | None, typer.Option(help="Gate thresholds (TOML).")] = None,
    calibrate_: Annotated[
        bool,
        typer.Option("--calibrate", help="Also sweep the abstention settings and print the best."),
    ] = False,
    no_gate: Annotated[
        bool, typer.Option("--no-gate", help="Report only; never fail on thresholds.")
    ] = False,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="extractive or llm (default: CITEQA_BACKEND). The gates in thresholds.toml "
            "were set for the extractive backend.",
        ),
    ] = None,
    judge: Annotated[
        bool,
        typer.Option("--judge", help="Also let the configured LLM judge answer correctness."),
    ] = False,
) -> None:
    """Evaluate answers against a gold set; exits 1 when a metric misses its threshold."""
    from contextlib import nullcontext

    from evals import report as rep
    from evals.run import (
        DEFAULT_THRESHOLDS,
        calibrate,
        check_gate,
        fresh_engine,
        load_thresholds,
        run_records,
        summarize,
    )
    from evals.sets import load_set

    settings = _settings()
    if backend is not None:
        if backend not in ("extractive", "llm"):
            _fail("--backend must be 'extractive' or 'llm'", 2)
        settings = _with_backend(settings, backend)
    records = load_set(set_path)
    name = set_path.stem if set_path.stem != "qa" else set_path.parent.name
    if docs is not None and not docs.is_dir():
        _fail(f"--docs {docs} is not a folder")
    context = fresh_engine(settings, docs) if docs is not None else nullcontext(_engine(settings))
    with context as engine:
        llm_judge = None
        if judge:
            from citeqa.components.llm import ChatLLM
            from evals.judge import LLMJudge

            if settings.llm_base_url is None and settings.llm_api_key is None:
                _fail("--judge needs an LLM: set CITEQA_LLM_BASE_URL or an API key", 2)
            llm_judge = LLMJudge(engine.llm or ChatLLM(settings))
        results = run_records(engine, records, top_k, judge=llm_judge)
    summary = summarize(results)
    bounds = load_thresholds(thresholds or DEFAULT_THRESHOLDS, name)
    failures = [] if no_gate else [str(f) for f in check_gate(summary, bounds)]
    data = rep.payload(
        name,
        summary,
        results,
        failures,
        {"backend": engine.backend, **settings.answer.model_dump()},
    )
    if json_output:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        typer.echo(rep.table(name, summary))
    if calibrate_:
        best = calibrate(results)
        typer.echo("\ncalibration (decision accuracy, threshold), best first:", err=json_output)
        for accuracy, threshold in best[:5]:
            typer.echo(f"  {accuracy:.4f}  threshold={threshold}", err=json_output)
    if report is not None:
        rep.write_markdown(report, data)
        rep.write_json(report.with_suffix(".json"), data)
    for failure in failures:
        typer.echo(f"gate failed: {failure}", err=True)
    if failures:
        raise typer.Exit(1)


@app.command("calibrate")
def calibrate_command(
    sets: Annotated[
        list[str],
        typer.Argument(
            metavar="SET.jsonl=DOCS_DIR", help="Eval sets, each with the folder of its documents."
        ),
    ],
    top: Annotated[int, typer.Option(help="How many of the best settings to print.")] = 10,
) -> None:
    """Show the answer model's threshold against mean per-set decision accuracy.

    Decision accuracy: unanswerable questions abstained, answerable ones answered with a
    best unit holding the gold answer or evidence. Each set weighs the same. The model
    itself is trained by `make train-answerer`; set CITEQA_ANSWER__THRESHOLD to use
    another threshold than the one stored with it.
    """
    from evals.run import calibrate, fresh_engine, run_records
    from evals.sets import load_set

    settings = _settings()
    per_set = []
    current = None
    for item in sets:
        set_path, sep, docs = item.partition("=")
        if not sep:
            _fail(f"{item!r}: expected SET.jsonl=DOCS_DIR")
        with fresh_engine(settings, Path(docs)) as engine:
            per_set.append(run_records(engine, load_set(Path(set_path))))
            current = engine.answerer.threshold
    grids = [dict((t, acc) for acc, t in calibrate(results)) for results in per_set]
    mean = sorted(
        ((sum(g[t] for g in grids) / len(grids), t) for t in grids[0]),
        key=lambda item: (-item[0], item[1]),
    )
    typer.echo("mean accuracy  per-set accuracies  threshold")
    for accuracy, threshold in mean[:top]:
        per = " ".join(f"{g[threshold]:.3f}" for g in grids)
        typer.echo(f"  {accuracy:.4f}       {per}   {threshold}")
    if current is not None:
        nearest = min(grids[0], key=lambda t: abs(t - current))
        per = " ".join(f"{g[nearest]:.3f}" for g in grids)
        mean_now = sum(g[nearest] for g in grids) / len(grids)
        typer.echo(f"current threshold {current:.3f}: mean {mean_now:.4f} ({per})")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except CiteqaError as exc:
        _print_error(exc.message)
        sys.exit(1)
    except KeyboardInterrupt:
        _print_error("interrupted")
        sys.exit(130)


def _print_error(message: str) -> None:
    typer.echo(f"error: {message}", err=True)


if __name__ == "__main__":
    main()
