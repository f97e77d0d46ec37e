"""The held-out report: figures per set (leave-one-group-out and k-fold), as JSON,
Markdown and a risk-coverage plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.training.replay import Outcome


def write(report: dict[str, Any], curves: dict[str, Any], path: Path) -> str:
    """Write the report at `path` (Markdown), with its JSON and plot beside it; return
    the Markdown."""
    from evals.report import plot_risk_coverage

    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    plot_risk_coverage(
        curves, path.with_suffix(".png"), "held-out (leave-one-group-out) risk-coverage"
    )
    text = markdown(report)
    path.write_text(text, encoding="utf-8")
    return text


def summary(outcomes: list[Outcome], threshold: float) -> dict[str, Any]:
    from evals.metrics import separation_auc

    answerable = [o for o in outcomes if o.answerable]
    unanswerable = [o for o in outcomes if not o.answerable]
    answered = [o for o in outcomes if o.answered(threshold)]
    retrieved = [o.retrieved for o in answerable if o.retrieved is not None]

    def share(values: list[bool]) -> float | None:
        return round(sum(values) / len(values), 3) if values else None

    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "right": sum(o.right(threshold) for o in answerable),
        "abstained_unanswerable": sum(not o.answered(threshold) for o in unanswerable),
        "containment": share([o.answered(threshold) and o.contains for o in answerable]),
        "correct": share([o.right(threshold) for o in answerable]),
        "best_possible": share([o.good() for o in answerable]),
        "abstention_recall": share([not o.answered(threshold) for o in unanswerable]),
        "false_abstention": share([not o.answered(threshold) for o in answerable]),
        "answered_precision": share([o.right(threshold) for o in answered]),
        "retrieval_recall": share([bool(r) for r in retrieved]),
        "separation_auc": separation_auc([(o.confidence, o.answerable) for o in outcomes]),
    }


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Answer model: held-out figures",
        "",
        "Threshold rule: the best mean per-group decision accuracy (answerable questions "
        "answered rightly, unanswerable ones abstained) over held-out predictions. Shipped "
        f"threshold: {report.get('shipped_threshold')}; the precision it gives (answered "
        "questions that are right) is in the table.",
        "",
        "Leave-one-group-out (the set's documents never seen by either model, nor by the "
        "threshold choice). Right: the answer holds a gold answer and cites the gold "
        "evidence; best possible: right if it never abstained. Separation: the chance that "
        "an answerable question gets a higher confidence than an unanswerable one (AUC; 0.5 "
        "is chance, below 0.5 the confidence ranks them the wrong way round): what any "
        "threshold can do for abstention.",
        "",
        "| set | right (answerable) | abstained (unanswerable) | best possible | containment "
        "| abstention recall | false abstention | answered precision | retrieval recall@6 "
        "| threshold | separation |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in report["sets"].items():
        lines.append(
            f"| {name} | {row['right']}/{row['answerable']} | "
            f"{row['abstained_unanswerable']}/{row['unanswerable']} | {row['best_possible']} | "
            f"{row['containment']} | {row['abstention_recall']} | {row['false_abstention']} | "
            f"{row['answered_precision']} | {row['retrieval_recall']} | {row['threshold']} | "
            f"{row['separation_auc']} |"
        )
    lines += [
        "",
        f"{report['folds']}-fold within each group (the units model also trains on the "
        "group's other folds; answerability model and threshold as above):",
        "",
        "| set | right (answerable) | abstained (unanswerable) | containment | abstention recall "
        "| retrieval recall@6 |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in report["sets"].items():
        k = row["kfold"]
        lines.append(
            f"| {name} | {k['right']}/{k['answerable']} | {k['abstained_unanswerable']}/"
            f"{k['unanswerable']} | {k['containment']} | {k['abstention_recall']} | "
            f"{k['retrieval_recall']} |"
        )
    lines.append("")
    return "\n".join(lines)
