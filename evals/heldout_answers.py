"""`python -m evals.heldout_answers`: a gold set answered by the default engine with the
verifier swapped for one tuned without the set's group (`python -m evals.tune_reader
--heldout` writes them, as build/reader*/heldout-GROUP), the shipped joint gate kept,
for each way of adding the unit after the best one and each verifier margin: what the
verifier's part of an answer does on documents it never saw.

    python -m evals.heldout_answers evals/sets/textdocs.jsonl build/corpora/textdocs \\
        build/reader-15b/heldout-textdocs --following always never verifier --margins 100 1.5

`always` and `never` are CITEQA_ANSWER__FOLLOWING_UNIT=true and false; `verifier` is the
default (unset: the verifier decides). `--margins` are CITEQA_ANSWER__VERIFIER_MARGIN
values (100 keeps every unit; default: the shipped margin). One JSON line per way: the
share of answerable questions right (a gold answer, the gold evidence cited), of
unanswerable ones abstained, answer token F1 over answered answerable questions,
citations per answer, and the share of right answers' citations that quote the gold
evidence (the rest is padding). The gate was fitted on held-out reads of every group,
this one's among them, so only its two weights and threshold saw the set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FOLLOWING = {"always": True, "never": False, "verifier": None}


def main(argv: list[str] | None = None) -> int:
    from citeqa.components.reader import CrossEncoderReader
    from citeqa.settings import Settings
    from evals.metrics import summarize
    from evals.run import fresh_engine, run_records
    from evals.sets import load_set

    parser = argparse.ArgumentParser(
        prog="python -m evals.heldout_answers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("questions", type=Path)
    parser.add_argument("docs", type=Path)
    parser.add_argument("verifier", type=Path, help="a folder with model.onnx, tokenizer.json")
    parser.add_argument("--following", nargs="+", choices=sorted(FOLLOWING), default=["verifier"])
    parser.add_argument(
        "--margins",
        nargs="+",
        type=float,
        default=[None],
        help="CITEQA_ANSWER__VERIFIER_MARGIN values (default: the shipped one)",
    )
    args = parser.parse_args(argv)
    if not (args.verifier / "model.onnx").is_file():
        parser.error(f"no model.onnx in {args.verifier}")
    records = load_set(args.questions)
    for way, margin in [(w, m) for w in args.following for m in args.margins]:
        answer: dict[str, object] = {"following_unit": FOLLOWING[way]}
        if margin is not None:
            answer["verifier_margin"] = margin
        settings = Settings().replace(answer=answer)
        with fresh_engine(settings, args.docs) as engine:
            verification = engine.query.answerer.verification
            if verification is None or verification.joint is None:
                print("error: the default engine has no joint gate here", file=sys.stderr)
                return 1
            verification.verifier = CrossEncoderReader(str(args.verifier))
            results = run_records(engine, records)
        summary = summarize(results)
        right, abstained = summary["answer_correct"], summary["abstention_recall"]
        answered = [r for r in results if not r.abstained]
        f1 = [r.f1 for r in results if r.answerable and not r.abstained]
        line = {
            "set": args.questions.stem,
            "following": way,
            "margin": settings.answer.verifier_margin,
            "right": round(float(right), 3) if right is not None else None,
            "abstained": round(float(abstained), 3) if abstained is not None else None,
            "f1": round(sum(f1) / len(f1), 3) if f1 else 0.0,
            "citations_per_answer": round(
                sum(r.citations for r in answered) / max(1, len(answered)), 2
            ),
            "citation_precision": summary["citation_precision"],
        }
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
