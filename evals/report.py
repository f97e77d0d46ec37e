"""Eval output: a terminal table, JSON, and a Markdown report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.metrics import QuestionResult, risk_coverage

LABELS = {
    "questions": "questions",
    "answerable": "answerable",
    "unanswerable": "unanswerable",
    "retrieval_recall": "retrieval recall@k (evidence in a passage)",
    "doc_recall": "document recall@k",
    "answer_containment": "answer contains gold (answerable)",
    "answer_correct": "right: gold answer and gold evidence cited (answerable)",
    "answer_f1": "answer token F1 (answerable)",
    "citation_validity": "citation validity",
    "citation_recall": "citation recall (cites gold evidence)",
    "citation_precision": "citation precision (right answers' citations on gold evidence)",
    "abstention_precision": "abstention precision",
    "abstention_recall": "abstention recall (unanswerable)",
    "false_abstention_rate": "false abstention rate (answerable)",
    "latency_p50_ms": "latency p50 (ms)",
    "latency_p95_ms": "latency p95 (ms)",
}


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if value <= 1.0 else f"{value:.1f}"
    return str(value)


def table(name: str, summary: dict[str, Any]) -> str:
    width = max(len(v) for v in LABELS.values())
    lines = [f"eval set: {name}"]
    lines += [f"  {LABELS[k]:<{width}}  {_fmt(summary.get(k))}" for k in LABELS]
    return "\n".join(lines)


def payload(
    name: str,
    summary: dict[str, Any],
    results: list[QuestionResult],
    failures: list[str],
    settings: dict[str, Any],
) -> dict[str, Any]:
    return {
        "set": name,
        "metrics": summary,
        "passed": not failures,
        "failures": failures,
        "settings": settings,
        "questions": [
            {
                "id": r.id,
                "question": r.question,
                "answerable": r.answerable,
                "abstained": r.abstained,
                "contains_gold": r.contains,
                "correct": r.correct,
                "confidence": r.confidence,
                "good": r.good,
                "retrieval_hit": r.retrieval_hit,
                "citation_hit": r.citation_hit,
                "citations": r.citations,
                "citations_on_evidence": r.citations_on_evidence,
                "answer": r.answer,
                "latency_ms": r.latency_ms,
            }
            for r in results
        ],
    }


def write_markdown(path: Path, data: dict[str, Any]) -> None:
    lines = [f"# citeqa eval: {data['set']}", "", "| metric | value |", "|---|---|"]
    lines += [f"| {LABELS[k]} | {_fmt(data['metrics'].get(k))} |" for k in LABELS]
    lines += ["", f"Gate: {'passed' if data['passed'] else 'FAILED'}"]
    lines += [f"- {f}" for f in data["failures"]]
    misses = [q for q in data["questions"] if q["answerable"] and not q["contains_gold"]]
    wrong_answers = [q for q in data["questions"] if not q["answerable"] and not q["abstained"]]
    lines += ["", f"## Answerable questions missed ({len(misses)})", ""]
    lines += [f"- `{q['id']}` {q['question']}\n  → {q['answer'][:200]}" for q in misses[:50]]
    lines += ["", f"## Unanswerable questions answered ({len(wrong_answers)})", ""]
    lines += [f"- `{q['id']}` {q['question']}\n  → {q['answer'][:200]}" for q in wrong_answers[:50]]
    points = [
        (q.get("confidence"), q["answerable"], q.get("good", False)) for q in data["questions"]
    ]
    if any(c is not None for c, _a, _g in points):
        picture = path.with_suffix(".png")
        plot_risk_coverage(
            {data["set"]: risk_coverage(points)}, picture, f"risk-coverage: {data['set']}"
        )
        lines += [
            "",
            "## Risk and coverage",
            "",
            "Accuracy of the answered questions against the share answered, as the "
            "answer threshold moves (an answered unanswerable question counts as wrong):",
            "",
            f"![risk-coverage]({picture.name})",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def plot_risk_coverage(
    curves: dict[str, tuple[list[float], list[float]]], path: Path, title: str
) -> None:
    """Accuracy of the answered questions against the share answered, one line per set
    (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 5))
    for name, (coverage, accuracy) in curves.items():
        axes.plot(coverage, accuracy, marker=".", label=name)
    axes.set_xlabel("share of questions answered")
    axes.set_ylabel("accuracy of the answered questions")
    axes.set_xlim(0, 1.02)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.set_title(title)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
