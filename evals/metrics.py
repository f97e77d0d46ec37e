"""Metrics over one eval run. Pure functions of the per-question results."""

from __future__ import annotations

import re
import statistics
import string
from collections import Counter
from dataclasses import dataclass

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MARKER = re.compile(r"\s*\[\d+\]")
_PUNCT = str.maketrans({c: " " for c in string.punctuation + "“”‘’–—…"})


def normalize(text: str) -> str:
    """SQuAD-style normalisation: lower case, no punctuation or articles, single spaces."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCT))
    return " ".join(text.split())


def strip_markers(answer: str) -> str:
    return _MARKER.sub("", answer)


def contains_answer(answer: str, golds: list[str]) -> bool:
    hay = f" {normalize(strip_markers(answer))} "
    return any(normalize(g) and f" {normalize(g)} " in hay for g in golds)


def token_f1(answer: str, golds: list[str]) -> float:
    pred = normalize(strip_markers(answer)).split()
    best = 0.0
    for gold in golds:
        ref = normalize(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not pred or not ref or common == 0:
            continue
        precision, recall = common / len(pred), common / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


@dataclass
class QuestionResult:
    id: str
    question: str
    answerable: bool
    abstained: bool
    answer: str
    latency_ms: float
    retrieval_hit: bool | None  # gold evidence inside a retrieved passage; None: no evidence
    doc_hit: bool | None
    contains: bool
    f1: float
    citations: int
    citations_valid: int
    citation_hit: bool | None
    # The extractive answerer's confidence (P(right)) and whether the answer it composes
    # is right whether or not it gives it, so that calibration and the risk-coverage
    # curve can replay the decision at other thresholds. None: no candidate at all.
    confidence: float | None = None
    good: bool = False
    judged: bool | None = None  # an LLM judge's verdict on the answer, when one was asked
    # Of the citations, how many quote the gold evidence (overlap its located span);
    # None: the evidence was not found at known offsets (no precision to measure).
    citations_on_evidence: int | None = None

    @property
    def correct(self) -> bool:
        """Answered with a gold answer and a citation of the gold evidence (where the
        evidence is known): what an outside check counts as right."""
        return self.contains and self.citation_hit is not False


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 2)


def _precision(answerable: list[QuestionResult]) -> float | None:
    """Of the citations of right answers whose gold evidence was located, the share
    that quote it: what is left is padding (a unit cited beside the one that answers)."""
    right = [
        r for r in answerable if r.correct and r.citations and r.citations_on_evidence is not None
    ]
    cited = sum(r.citations for r in right)
    return round(sum(r.citations_on_evidence or 0 for r in right) / cited, 4) if cited else None


def summarize(results: list[QuestionResult]) -> dict[str, float | int | None]:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    abstained = [r for r in results if r.abstained]
    citations = sum(r.citations for r in results)
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "retrieval_recall": _mean(
            [float(r.retrieval_hit) for r in answerable if r.retrieval_hit is not None]
        ),
        "doc_recall": _mean([float(r.doc_hit) for r in answerable if r.doc_hit is not None]),
        "answer_containment": _mean([float(r.contains) for r in answerable]),
        "answer_correct": _mean([float(r.correct) for r in answerable]),
        "answer_f1": _mean([r.f1 for r in answerable]),
        "citation_validity": round(sum(r.citations_valid for r in results) / citations, 4)
        if citations
        else 1.0,
        "citation_recall": _mean(
            [float(bool(r.citation_hit)) for r in answerable if r.citation_hit is not None]
        ),
        "citation_precision": _precision(answerable),
        "abstention_precision": _mean([float(not r.answerable) for r in abstained]),
        "abstention_recall": _mean([float(r.abstained) for r in unanswerable]),
        "false_abstention_rate": _mean([float(r.abstained) for r in answerable]),
        "judge_accuracy": _mean([float(r.judged) for r in answerable if r.judged is not None]),
        "latency_p50_ms": _percentile(latencies, 50),
        "latency_p95_ms": _percentile(latencies, 95),
    }


def decision_accuracy(results: list[QuestionResult], threshold: float) -> float:
    """Share of questions handled right if the answerer used this threshold: unanswerable
    ones abstained, answerable ones answered rightly (a gold answer, the gold evidence
    cited)."""
    right = 0
    for r in results:
        answered = r.confidence is not None and r.confidence >= threshold
        right += (not answered) if not r.answerable else (answered and r.good)
    return right / len(results) if results else 0.0


def risk_coverage(
    points: list[tuple[float | None, bool, bool]],
) -> tuple[list[float], list[float]]:
    """(share answered, accuracy of the answered) as the threshold moves, from each
    question's (confidence, answerable, good): an answered unanswerable question is
    wrong, an answered answerable one is right when good."""
    coverage, accuracy = [], []
    for step in range(1, 100):
        t = step / 100
        answered = [(a, g) for c, a, g in points if c is not None and c >= t]
        if answered:
            coverage.append(len(answered) / len(points))
            accuracy.append(sum(a and g for a, g in answered) / len(answered))
    return coverage, accuracy


def separation_auc(points: list[tuple[float, bool]]) -> float | None:
    """How well a confidence tells answerable questions from unanswerable ones, whatever
    the threshold: the chance that an answerable question, drawn at random, scores above
    an unanswerable one (ties count half; 0.5 is no better than chance, below 0.5 the
    order is reversed). From (confidence, answerable) pairs; None without both kinds."""
    yes = [c for c, answerable in points if answerable]
    no = [c for c, answerable in points if not answerable]
    if not yes or not no:
        return None
    above = sum((y > n) + 0.5 * (y == n) for y in yes for n in no)
    return round(above / (len(yes) * len(no)), 3)
