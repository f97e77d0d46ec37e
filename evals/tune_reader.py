"""`python -m evals.tune_reader`: fine-tune the bundled cross-encoder on the project's own
gold sets (never the public ones) so that it tells an answering passage from a near-miss
(evals/training/reader_tuning.py says how).

  --heldout     for each group of sets, a model fine-tuned without it, written as it would
                ship (build/reader/heldout-GROUP), and the group's separation (AUC of
                answerable over unanswerable questions, each scored by its best logit over
                its best units) before and after, read through the INT8 graphs: figures no
                model saw
  --out DIR     the model fine-tuned on every group, written as DIR/model.onnx (INT8, the
                bundled graph) with tokenizer.json: use it with CITEQA_ANSWER__VERIFIER=true
                and CITEQA_ANSWER__VERIFIER_MODEL=DIR
  --ship        the same model as the shipped verifier (citeqa/answering/verifier.npz and
                verifier.json, with the gate chosen on the held-out reads)
  --joint       the joint gate (evals/training/joint.py): the shipped answer model's
                confidence and the verifier's best logit weighed together, fitted on the
                held-out predictions of both (the reads --heldout wrote), written into
                verifier.json, with its held-out figures per group and on the public sets
                (read by the shipped verifier, never fitted on) in the report

Needs torch and transformers (the dev venv). CPU-only; about three minutes per model on
two cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from evals.training import reader_tuning as rt
from evals.training.dumps import dump_set
from evals.training.registry import REPO, gold_sets


def _load(shared: Path) -> tuple[dict[str, list[Any]], dict[str, Any], dict[str, list[Any]]]:
    """Per group its dumps and records; records by question id."""
    from evals.sets import load_set

    dumps: dict[str, list[Any]] = {}
    records: dict[str, list[Any]] = {}
    by_id: dict[str, Any] = {}
    for gold in gold_sets(shared):
        if gold.public:
            continue
        print(f"dump {gold.name}", flush=True)
        found = load_set(gold.questions)
        dumps.setdefault(gold.group, []).append(dump_set(gold))
        records.setdefault(gold.group, []).append(found)
        by_id.update({r.id: r for r in found})
    return dumps, by_id, records


def _pairs(
    dumps: dict[str, list[Any]], records: dict[str, list[Any]], groups: list[str],
    tuning: rt.Tuning,
) -> list[rt.Pair]:  # fmt: skip
    return [
        pair
        for group in groups
        for dump, found in zip(dumps[group], records[group], strict=True)
        for pair in rt.set_pairs(dump, found, tuning.reworded)
    ]


def _scorer(reader: Any) -> Any:
    """A score function over (question, text) pairs for `rt.read_best`, read by a
    reader model one question at a time, as the engine reads."""
    import numpy as np

    def score(pairs: list[tuple[str, str]]) -> Any:
        values = np.zeros(len(pairs), dtype=np.float32)
        by_question: dict[str, list[int]] = {}
        for i, (question, _text) in enumerate(pairs):
            by_question.setdefault(question, []).append(i)
        for question, rows in by_question.items():
            values[rows] = reader.score(question, [pairs[i][1] for i in rows])
        return values

    return score


def _write_model(graph: Any, model: Any, folder: Path, source: Path) -> Any:
    import onnx

    tuned = rt.requantized(graph, rt.state_of(model))
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(tuned, str(folder / "model.onnx"))
    shutil.copy(source / "tokenizer.json", folder / "tokenizer.json")
    return tuned


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import onnx

    from citeqa.components.reader import BUNDLED, bundled_dir
    from citeqa.components.verifier import CARD_FILE, PATCH_FILE

    parser = argparse.ArgumentParser(
        prog="python -m evals.tune_reader", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--heldout", action="store_true")
    parser.add_argument("--out", type=Path, help="write the model tuned on every group here")
    parser.add_argument("--ship", action="store_true", help="write it as the shipped verifier")
    parser.add_argument("--work", type=Path, default=REPO / "build" / "reader")
    parser.add_argument("--report", type=Path, default=REPO / "evals" / "reader_tuning.json")
    parser.add_argument("--epochs", type=int, default=rt.Tuning.epochs)
    parser.add_argument("--learning-rate", type=float, default=rt.Tuning.learning_rate)
    parser.add_argument("--groups", nargs="*", help="hold out only these groups")
    parser.add_argument(
        "--reworded", action="store_true",
        help="add reworded answerable questions to the pairs (Tuning.reworded)",
    )  # fmt: skip
    parser.add_argument("--joint", action="store_true", help="fit and ship the joint gate")
    args = parser.parse_args(argv)
    if not (args.heldout or args.out or args.ship or args.joint):
        parser.error("say --heldout, --out DIR, --ship, --joint, or several")
    if args.joint and not (args.heldout or args.out or args.ship):
        return _joint(args.shared, args.work / "heldout-reads.json", args.report)
    folder = bundled_dir()
    graph = onnx.load(str(folder / "model.onnx"))
    base = rt.dequantized(graph)
    tokenizer = rt._tokenizer(folder / "tokenizer.json")
    tuning = rt.Tuning(
        epochs=args.epochs, learning_rate=args.learning_rate, reworded=args.reworded
    )
    dumps, by_id, records = _load(args.shared)
    groups = sorted(dumps)
    reads_file = args.work / "heldout-reads.json"

    def shipped_scorer(folder: Path) -> Any:
        """Scores from the written INT8 model, as the engine would read them."""
        from citeqa.components.reader import CrossEncoderReader

        return _scorer(CrossEncoderReader(str(folder)))

    if args.heldout:
        reads: dict[str, Any] = {"bundled": {}, "tuned": {}}  # INT8, as written
        bundled = shipped_scorer(folder)
        for group in args.groups or groups:
            started = time.perf_counter()
            reads["bundled"][group] = rt.read_best(bundled, dumps[group], by_id)
            model = rt.torch_model(base)
            pairs = _pairs(dumps, records, [g for g in groups if g != group], tuning)
            print(f"without {group}: {len(pairs)} pairs", flush=True)
            rt.fine_tune(model, tokenizer, pairs, tuning)
            held_out = args.work / f"heldout-{group}"
            _write_model(graph, model, held_out, folder)
            reads["tuned"][group] = rt.read_best(shipped_scorer(held_out), dumps[group], by_id)
            print(
                f"{group}: separation at 5 units {rt.separation(reads['bundled'][group], 5)}"
                f" -> {rt.separation(reads['tuned'][group], 5)}"
                f" ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
            # after every group: a run stopped part-way keeps the groups it finished
            args.work.mkdir(parents=True, exist_ok=True)
            reads_file.write_text(json.dumps(reads))
    if args.out is None and not args.ship:
        reads = json.loads(reads_file.read_text())
        _report(args.report, reads, groups, tuning, None)
        return 0
    model = rt.torch_model(base)
    pairs = _pairs(dumps, records, groups, tuning)
    print(f"every group: {len(pairs)} pairs", flush=True)
    rt.fine_tune(model, tokenizer, pairs, tuning)
    tuned = _write_model(graph, model, args.out or args.work / "all", folder)
    reads = json.loads(reads_file.read_text())
    units, threshold = rt.choose_gate(reads["tuned"])
    shipped = {
        "name": f"{BUNDLED}, fine-tuned for near-misses",
        "threshold": threshold,
        "units": units,
        "trained": "biases and layer norms",
        "learning_rate": tuning.learning_rate,
        "epochs": tuning.epochs,
        "reworded": tuning.reworded,
        "pairs": len(pairs),
        "groups": groups,
        "made_by": "python -m evals.tune_reader --heldout --ship",
    }
    if args.ship:
        patch = rt.patch_of(graph, tuned)
        np.savez_compressed(PATCH_FILE, allow_pickle=False, **patch)
        CARD_FILE.write_text(json.dumps(shipped, indent=1) + "\n")
        print(f"wrote {PATCH_FILE} ({len(patch)} initializers) and {CARD_FILE}")
    _report(args.report, reads, groups, tuning, shipped)
    if args.joint:
        return _joint(args.shared, reads_file, args.report)
    return 0


def _joint(shared: Path, reads_file: Path, report_path: Path) -> int:
    """Fit the joint gate on the held-out reads and the answer model's held-out
    outcomes, write it into the verifier's card and its figures into the report."""
    from citeqa.answering.model import AnswerModel
    from citeqa.components.verifier import CARD_FILE, card, load_verifier
    from evals.metrics import separation_auc
    from evals.sets import load_set
    from evals.training import joint
    from evals.training.replay import Outcome

    if not reads_file.is_file():
        print(f"error: no held-out reads at {reads_file} (run --heldout first)", file=sys.stderr)
        return 1
    shipped_card = card()
    if not shipped_card:
        print(f"error: no shipped verifier card at {CARD_FILE} (run --ship)", file=sys.stderr)
        return 1
    units = int(shipped_card["units"])
    tuned = json.loads(reads_file.read_text())["tuned"]
    outcomes, ids, golds = _answer_outcomes(shared)
    reads = {g: {qid: v for qid, _a, v in read} for g, read in tuned.items()}
    own = {g: joint.judged(outcomes[g], ids[g], reads[g], units) for g in sorted(reads)}
    model, threshold = joint.shipped(own)
    figures = joint.held_out(own)

    # the public sets: read by the shipped verifier (never tuned on them), judged by the
    # weights fitted on every own group (never fitted on them)
    score = _scorer(load_verifier())
    public: dict[str, list[joint.Judged]] = {}
    for gold in golds:
        if gold.public and gold.group in outcomes:
            found = {r.id: r for r in load_set(gold.questions)}
            read = rt.read_best(score, [dump_set(gold)], found, units)
            public[gold.group] = joint.judged(
                outcomes[gold.group], ids[gold.group], {q: v for q, _a, v in read}, units
            )

    def summary(outcomes: list[Outcome], t: float, before: list[Outcome], t0: float) -> Any:
        answerable = [o for o in outcomes if o.answerable]
        unanswerable = [o for o in outcomes if not o.answerable]

        def share(items: list[Outcome], t: float) -> float | None:
            return round(sum(o.right(t) for o in items) / len(items), 3) if items else None

        return {
            "threshold": t,
            "right": share(answerable, t),
            "abstained": share(unanswerable, t),
            "separation": separation_auc([(o.confidence, o.good()) for o in outcomes]),
            "answer_model_alone": {
                "threshold": t0,
                "right": share([o for o in before if o.answerable], t0),
                "abstained": share([o for o in before if not o.answerable], t0),
                "separation": separation_auc([(o.confidence, o.good()) for o in before]),
            },
        }

    from evals.training.heldout import choose_threshold

    report: dict[str, Any] = {"units": units, "groups": {}, "public": {}}
    for g, fig in figures.items():
        others = {h: [j.outcome for j in own[h]] for h in own if h != g}
        alone = choose_threshold(others)
        report["groups"][g] = summary(
            fig.outcomes, fig.threshold, [j.outcome for j in own[g]], alone
        )
    answer_model = AnswerModel.load()
    for g, judged in public.items():
        report["public"][g] = summary(
            joint.combined(model, judged), threshold, [j.outcome for j in judged],
            answer_model.threshold,
        )  # fmt: skip
    shipped_card["joint"] = {
        "model": model.to_dict(),
        "threshold": round(threshold, 4),
        "units": units,
        "answer_model": answer_model.version,
        "groups": sorted(own),
        "made_by": "python -m evals.tune_reader --joint",
    }
    CARD_FILE.write_text(json.dumps(shipped_card, indent=1) + "\n")
    full = json.loads(report_path.read_text()) if report_path.is_file() else {}
    full["joint"] = report
    report_path.write_text(json.dumps(full, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    print(f"wrote the joint gate into {CARD_FILE} and its figures into {report_path}")
    return 0


def _answer_outcomes(shared: Path) -> tuple[dict[str, Any], dict[str, list[str]], list[Any]]:
    """The shipped answer model's recipe (evals.train's defaults, reader off), held out:
    per group, each reported question's leave-one-group-out outcome, and their ids."""
    from citeqa.answering.features import question_features, unit_features
    from evals.training.heldout import HeldOut

    golds = gold_sets(shared)
    reported: dict[str, list[Any]] = {}
    for gold in golds:
        print(f"dump {gold.name}", flush=True)
        reported.setdefault(gold.group, []).extend(dump_set(gold).questions)
    held = HeldOut(
        reported, reported, reported, unit_features(False), question_features(False), True
    )
    outcomes = held.outcomes()
    return outcomes, {g: [q.id for q in qs] for g, qs in reported.items()}, golds


def _report(path: Path, reads: dict[str, Any], groups: list[str], tuning: rt.Tuning,
            shipped: dict[str, Any] | None) -> None:  # fmt: skip
    """Per group: separation before and after at each number of units read, and the
    gate chosen without the group applied to it (figures no model or choice saw)."""
    report: dict[str, Any] = {
        "learning_rate": tuning.learning_rate, "epochs": tuning.epochs,
        "reworded": tuning.reworded, "groups": {},
    }  # fmt: skip
    for group in [g for g in groups if g in reads["tuned"]]:
        entry: dict[str, Any] = {
            "separation": {
                str(n): {
                    "bundled": rt.separation(reads["bundled"][group], n),
                    "tuned": rt.separation(reads["tuned"][group], n),
                }
                for n in (1, 3, 5, 10, 40)
            }
        }
        others = {g: r for g, r in reads["tuned"].items() if g != group}
        if others:  # the gate chosen without the group, applied to it
            units, threshold = rt.choose_gate(others)
            entry["gate"] = {
                "units": units,
                "threshold": threshold,
                **rt.gate_figures(reads["tuned"][group], units, threshold),
            }
        report["groups"][group] = entry
    if shipped is not None:
        report["shipped"] = shipped
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["groups"], indent=1))


if __name__ == "__main__":
    sys.exit(main())
