"""The training package's parts on their own: the dump cache key read from the import
graph, the one fitting function on fixed rows, the shared threshold sweep, and the
command's help agreeing with its options."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from evals import run
from evals.calibration import THRESHOLDS, sweep
from evals.corpora import load_manifest
from evals.metrics import QuestionResult
from evals.training import command, dumps, fitting, heldout, registry
from evals.training.replay import Outcome
from tests.conftest import REPO


def _package(root: Path, name: str) -> Path:
    """A package: features imports helper inside a function; unrelated is imported by
    nobody."""
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "helper.py").write_text("WEIGHT = 1\n")
    (folder / "unrelated.py").write_text("NAME = 'x'\n")
    (folder / "features.py").write_text(
        f"def weight():\n    from {name}.helper import WEIGHT\n\n    return WEIGHT\n"
    )
    return folder


def test_the_dump_key_changes_with_a_module_the_features_import_and_not_with_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "keyed_features_pkg"
    folder = _package(tmp_path, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    root = [f"{name}.features"]
    before = dumps.source_key(root, [name])
    assert dumps.imported_modules(root, [name]) == [f"{name}.features", f"{name}.helper"]

    (folder / "unrelated.py").write_text("NAME = 'y'\n")
    assert dumps.source_key(root, [name]) == before

    (folder / "helper.py").write_text("WEIGHT = 2\n")
    changed = dumps.source_key(root, [name])
    assert changed != before

    # a module the features start importing joins the key: no list to keep up to date
    (folder / "features.py").write_text(
        f"from {name}.unrelated import NAME\n\n\ndef weight():\n    return len(NAME)\n"
    )
    assert f"{name}.unrelated" in dumps.imported_modules(root, [name])
    keyed = dumps.source_key(root, [name])
    (folder / "unrelated.py").write_text("NAME = 'zzz'\n")
    assert dumps.source_key(root, [name]) != keyed


def test_the_dump_key_covers_the_features_scorer_and_retrieval_and_not_the_fitting() -> None:
    modules = set(dumps.imported_modules([dumps.__name__], dumps.PACKAGES))
    for needed in (
        "citeqa.answering.features",
        "citeqa.answering.scorer",
        "citeqa.query",
        "citeqa.retrieve",
        "citeqa.lexical",
        "ingest.pipeline",
        "evals.corpora",
        "evals.metrics",
        "evals.run",
        "evals.sets",
        "evals.training.registry",
    ):
        assert needed in modules, needed
    # what the features import, transitively, is in too
    features = set(dumps.imported_modules(["citeqa.answering.features"], dumps.PACKAGES))
    assert features <= modules
    # fitting, replay and the report come after the dumps: changing them keeps the cache
    for later in ("evals.training.fitting", "evals.training.replay", "evals.training.report"):
        assert later not in modules


def _blocks() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)

    def group(n: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
        rows = rng.normal(size=(n, 3)) + shift
        rows[:, 2] = 1.0  # a constant column: its scale is taken as 1
        labels = rows[:, 0] + 0.5 * rows[:, 1] + rng.normal(scale=0.5, size=n) > shift
        return rows, labels

    return [group(40, 0.0), group(10, 1.0)]


# fitted from _blocks() by evals/train.py before it became a package (main at 070886f):
# the units model from questions of five rows, the answerability model from one row a
# question, each rounded to six decimals
RECORDED_UNITS = ([1.926324, 0.872102, 0.0], -0.644396)
RECORDED_PROBABILITIES = [0.645424, 0.297699, 0.327798, 0.906722]
RECORDED_ANSWERABILITY = ([0.775267, 0.39293, 0.0], -0.197226)


def test_fitting_fixed_rows_gives_the_recorded_models_every_time() -> None:
    blocks = _blocks()
    names = ["a", "b", "constant"]
    questions = [
        [SimpleNamespace(rows=r[i : i + 5], labels=y[i : i + 5]) for i in range(0, len(r), 5)]
        for r, y in blocks
    ]
    units = fitting.units_model(questions, names)  # type: ignore[arg-type]
    assert fitting.units_model(questions, names) == units  # type: ignore[arg-type]
    assert ([round(v, 6) for v in units.coef], round(units.intercept, 6)) == RECORDED_UNITS
    assert units.scale[2] == 1.0 and units.coef[2] == 0.0
    probabilities = units.probabilities(blocks[1][0][:4])
    assert probabilities.dtype == np.float64
    assert [round(float(p), 6) for p in probabilities] == RECORDED_PROBABILITIES

    replayed = [
        [SimpleNamespace(row=r, label=bool(y)) for r, y in zip(*b, strict=True)] for b in blocks
    ]
    answerability = fitting.answerability_model(replayed, names)  # type: ignore[arg-type]
    recorded = ([round(v, 6) for v in answerability.coef], round(answerability.intercept, 6))
    assert recorded == RECORDED_ANSWERABILITY
    # stronger regularisation than the units model, from the same rows
    assert np.abs(answerability.coef).sum() < np.abs(units.coef).sum()

    # the model file's form: six decimals, predicting in float32 as the engine does
    shipped = fitting.stored(units)
    assert shipped.coef == [round(v, 6) for v in units.coef]
    assert shipped.probabilities(blocks[1][0][:4]).dtype == np.float32
    assert np.allclose(shipped.probabilities(blocks[1][0][:4]), probabilities, atol=1e-5)


def test_every_block_weighs_the_same_whatever_its_size() -> None:
    # one row repeated: five positive in one block, ninety-five negative in another
    row = np.ones((1, 1))
    small = (np.repeat(row, 5, axis=0), np.ones(5, dtype=bool))
    large = (np.repeat(row, 95, axis=0), np.zeros(95, dtype=bool))
    by_block = fitting.fit([small, large], ["x"], 1.0).probabilities(row)[0]
    pooled = fitting.fit([(np.vstack([small[0], large[0]]), np.r_[small[1], large[1]])], ["x"], 1.0)
    assert abs(by_block - 0.5) < 0.02
    assert abs(pooled.probabilities(row)[0] - 0.05) < 0.02


def test_the_sweep_puts_the_best_first_and_breaks_ties_by_the_lower_threshold() -> None:
    accuracy = {0.2: 0.9, 0.3: 0.9, 0.5: 0.95}
    best = sweep(lambda t: accuracy.get(t, 0.1))
    assert best[0] == (0.95, 0.5)
    assert best[1:3] == [(0.9, 0.2), (0.9, 0.3)]
    assert [t for _a, t in best[3:]] == sorted(t for t in THRESHOLDS if t not in accuracy)
    assert len(best) == 99 and THRESHOLDS[0] == 0.01 and THRESHOLDS[-1] == 0.99


def _outcome(answerable: bool, confidence: float) -> Outcome:
    return Outcome(answerable, confidence, True, True, True, True)


def test_training_and_calibrate_choose_by_the_same_sweep() -> None:
    # answerable questions at 0.6 and 0.8, unanswerable at 0.3 and 0.5: any threshold
    # in (0.5, 0.6] is right on all four; the lowest such is 0.51
    outcomes = [
        _outcome(True, 0.6),
        _outcome(True, 0.8),
        _outcome(False, 0.3),
        _outcome(False, 0.5),
    ]
    assert heldout.choose_threshold({"group": outcomes}) == 0.51
    results = [
        QuestionResult(
            id=str(i),
            question="q",
            answerable=o.answerable,
            abstained=False,
            answer="",
            latency_ms=0.0,
            retrieval_hit=None,
            doc_hit=None,
            contains=True,
            f1=1.0,
            citations=0,
            citations_valid=0,
            citation_hit=None,
            confidence=o.confidence,
            good=o.answerable,
        )
        for i, o in enumerate(outcomes)
    ]
    assert run.calibrate(results)[0] == (1.0, 0.51)
    # a group without unanswerable questions weighs only when no group has any
    only_answerable = {"a": [_outcome(True, 0.2)], "b": outcomes}
    assert heldout.choose_threshold(only_answerable) == 0.51
    assert heldout.choose_threshold({"a": [_outcome(True, 0.2)]}) == 0.01


def test_public_sets_are_flagged_in_the_registry() -> None:
    golds = registry.gold_sets(REPO.parent / "shared")
    public = registry.public_groups(golds)
    assert set(public) <= {"squad2", "realtimeqa"}
    assert all(g.public == (g.group in public) for g in golds)
    assert {"examples", "licences", "sysdocs", "markdown", "pdfs"} <= {g.name for g in golds}


def test_a_sets_documents_are_its_folder_or_its_corpus_built_under_the_root(
    tmp_path: Path,
) -> None:
    golds = {g.name: g for g in registry.gold_sets(REPO.parent / "shared")}
    examples = golds["examples"]
    assert examples.documents(tmp_path) == REPO / "examples"
    assert list(tmp_path.iterdir()) == []  # a folder set builds nothing
    licences = golds["licences"]
    assert licences.docs is None
    built = licences.documents(tmp_path)
    assert built == tmp_path / "licences"
    assert sorted(p.name for p in built.iterdir()) == sorted(
        d.id for d in load_manifest("licences")
    )


def test_the_help_names_every_option_and_no_other() -> None:
    parser = command.parser()
    options = {o for action in parser._actions for o in action.option_strings}
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", command.__doc__ or ""))
    assert named == options - {"-h", "--help"}, named ^ options


@pytest.mark.slow
def test_the_entry_point_runs_as_a_module() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "evals.train", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert shown.stdout.startswith("usage: python -m evals.train")
    assert "--near-misses" in shown.stdout
