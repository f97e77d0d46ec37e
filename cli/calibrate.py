"""`citeqa calibrate`: the answer threshold against decision accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import app, fail
from cli.common import settings as current_settings


@app.command("calibrate", short_help="The answer threshold against decision accuracy.")
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
    from evals.calibration import sweep
    from evals.run import calibrate, fresh_engine, run_records
    from evals.sets import load_set

    settings = current_settings()
    per_set = []
    current = None
    for item in sets:
        set_path, sep, docs = item.partition("=")
        if not sep:
            fail(f"{item!r}: expected SET.jsonl=DOCS_DIR")
        with fresh_engine(settings, Path(docs)) as engine:
            per_set.append(run_records(engine, load_set(Path(set_path))))
            current = engine.query.answerer.threshold
    grids = [dict((t, acc) for acc, t in calibrate(results)) for results in per_set]
    mean = sweep(lambda t: sum(g[t] for g in grids) / len(grids))
    typer.echo("mean accuracy  per-set accuracies  threshold")
    for accuracy, threshold in mean[:top]:
        per = " ".join(f"{g[threshold]:.3f}" for g in grids)
        typer.echo(f"  {accuracy:.4f}       {per}   {threshold}")
    if current is not None:
        nearest = min(grids[0], key=lambda t: abs(t - current))
        per = " ".join(f"{g[nearest]:.3f}" for g in grids)
        mean_now = sum(g[nearest] for g in grids) / len(grids)
        typer.echo(f"current threshold {current:.3f}: mean {mean_now:.4f} ({per})")
