"""`citeqa eval`: answers scored against a gold set, gated, optionally as JUnit XML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.common import app, fail, with_backend
from cli.common import engine as engine_of
from cli.common import settings as current_settings


@app.command("eval", short_help="Score answers against a gold set; exits 1 when a gate fails.")
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
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            help="Write JUnit XML here for CI: a testcase per gold question (failed: what "
            "was wrong) and one per gate threshold.",
        ),
    ] = None,
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
        unstored_documents,
    )
    from evals.sets import load_set

    settings = current_settings()
    if backend is not None:
        if backend not in ("extractive", "llm"):
            fail("--backend must be 'extractive' or 'llm'", 2)
        settings = with_backend(settings, backend)
    records = load_set(set_path)
    name = set_path.stem if set_path.stem != "qa" else set_path.parent.name
    if docs is not None and not docs.is_dir():
        fail(f"--docs {docs} is not a folder")
    context = fresh_engine(settings, docs) if docs is not None else nullcontext(engine_of(settings))
    with context as engine:
        _refuse_unstored(engine, set_path, docs, unstored_documents(engine, records))
        llm_judge = None
        if judge:
            from citeqa.components.llm import ChatLLM
            from evals.judge import LLMJudge

            if settings.llm.base_url is None and settings.llm.api_key is None:
                fail("--judge needs an LLM: set CITEQA_LLM_BASE_URL or an API key", 2)
            llm_judge = LLMJudge(engine.components.llm or ChatLLM(settings))
        results = run_records(engine, records, top_k, judge=llm_judge)
    summary = summarize(results)
    bounds = load_thresholds(thresholds or DEFAULT_THRESHOLDS, name)
    gate = [] if no_gate else check_gate(summary, bounds)
    failures = [str(f) for f in gate]
    data = rep.payload(
        name,
        summary,
        results,
        failures,
        {"backend": engine.query.backend_name, **settings.answer.model_dump()},
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
    if junit is not None:
        from evals import junit as junit_xml

        properties: dict[str, object] = {
            "set": str(set_path),
            "backend": engine.query.backend_name,
            **summary,
        }
        tree = junit_xml.document(
            name, records, results, None if no_gate else bounds, gate, summary, properties
        )
        junit_xml.write(junit, tree)
    for failure in failures:
        typer.echo(f"gate failed: {failure}", err=True)
    if failures:
        raise typer.Exit(1)


def _refuse_unstored(  # type: ignore[no-untyped-def]
    engine, set_path: Path, docs: Path | None, missing: list[str]
) -> None:
    """An eval over a store without the set's documents would only measure their absence."""
    if not missing and (docs is not None or engine.documents.ids()):
        return
    if not missing:
        fail(
            f"the store ({engine.settings.store.data_dir}) holds no documents: pass --docs DIR, "
            f"the folder of the documents {set_path.name} asks about",
            2,
        )
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    one = len(missing) == 1
    count = f"{len(missing)} document{'' if one else 's'} that {set_path.name} asks about"
    if docs is None:
        fail(
            f"{count} {'is' if one else 'are'} not in the store ({shown}): pass --docs DIR, "
            "the folder of the set's documents, to evaluate against a fresh store of them "
            "(or ingest them first)",
            2,
        )
    them = "it" if one else "them"
    fail(
        f"{count} {'was' if one else 'were'} not stored from --docs {docs} ({shown}): the "
        f"folder lacks {them}, or {them} could not be read",
        2,
    )
