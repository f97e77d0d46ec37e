from __future__ import annotations

from evals.metrics import (
    QuestionResult,
    contains_answer,
    decision_accuracy,
    normalize,
    separation_auc,
    summarize,
    token_f1,
)
from evals.run import check_gate


def result(**kw: object) -> QuestionResult:
    base = dict(
        id="q",
        question="q?",
        answerable=True,
        abstained=False,
        answer="",
        latency_ms=10.0,
        retrieval_hit=True,
        doc_hit=True,
        contains=True,
        f1=1.0,
        citations=1,
        citations_valid=1,
        citation_hit=True,
    )
    base.update(kw)
    return QuestionResult(**base)  # type: ignore[arg-type]


def test_normalisation_and_containment_ignore_case_punctuation_articles_and_markers() -> None:
    assert normalize("The  U.S.-made ATACMS!") == "u s made atacms"
    assert contains_answer("It was General Cavoli [1].", ["general cavoli"])
    assert not contains_answer("Cavolini said so [1]", ["Cavoli"])


def test_token_f1() -> None:
    assert token_f1("Jake Sullivan [1]", ["Jake Sullivan"]) == 1.0
    assert 0 < token_f1("adviser Jake Sullivan said", ["Jake Sullivan"]) < 1
    assert token_f1("nothing", ["Jake Sullivan"]) == 0.0


def test_summary_counts_abstention_and_citations() -> None:
    results = [
        result(id="a"),
        result(
            id="b",
            contains=False,
            f1=0.0,
            abstained=True,
            citations=0,
            citations_valid=0,
            citation_hit=False,
        ),
        result(
            id="u1",
            answerable=False,
            abstained=True,
            citations=0,
            citations_valid=0,
            retrieval_hit=None,
            doc_hit=None,
            citation_hit=None,
        ),
        result(
            id="u2",
            answerable=False,
            abstained=False,
            retrieval_hit=None,
            doc_hit=None,
            citation_hit=None,
        ),
    ]
    summary = summarize(results)
    assert summary["answer_containment"] == 0.5
    assert summary["abstention_recall"] == 0.5
    assert summary["abstention_precision"] == 0.5
    assert summary["false_abstention_rate"] == 0.5
    assert summary["citation_validity"] == 1.0
    assert summary["retrieval_recall"] == 1.0


def test_gate_reports_each_missed_threshold() -> None:
    summary = {"citation_validity": 0.9, "latency_p95_ms": 50.0, "abstention_recall": None}
    failures = check_gate(
        summary,
        {"min_citation_validity": 1.0, "max_latency_p95_ms": 100.0, "min_abstention_recall": 0.5},
    )
    assert [f.metric for f in failures] == ["citation_validity"]


def test_decision_accuracy_replays_the_abstention_threshold() -> None:
    answerable = result(id="a", confidence=0.9, good=True)
    unanswerable = result(id="u", answerable=False, confidence=0.5, good=False)
    assert decision_accuracy([answerable, unanswerable], 0.6) == 1.0
    assert decision_accuracy([answerable, unanswerable], 0.2) == 0.5  # answers both
    assert decision_accuracy([answerable, unanswerable], 0.95) == 0.5  # abstains on both
    wrong = result(id="w", confidence=0.9, good=False)  # answered, but not rightly
    assert decision_accuracy([wrong], 0.5) == 0.0
    assert decision_accuracy([result(id="n", confidence=None)], 0.5) == 0.0  # no candidate


def test_separation_auc_ranks_answerable_above_unanswerable() -> None:
    assert separation_auc([(0.9, True), (0.8, True), (0.2, False), (0.1, False)]) == 1.0
    assert separation_auc([(0.1, True), (0.9, False)]) == 0.0  # the order reversed
    assert separation_auc([(0.5, True), (0.5, False)]) == 0.5  # a tie counts half
    # 0.7 beats 0.6 and 0.2; 0.3 beats 0.2 only: 3 of 4 pairs
    assert separation_auc([(0.7, True), (0.3, True), (0.6, False), (0.2, False)]) == 0.75
    assert separation_auc([(0.7, True)]) is None  # no unanswerable question to compare


def test_a_right_answer_holds_the_gold_answer_and_cites_the_evidence() -> None:
    assert result(id="a", contains=True, citation_hit=True).correct
    assert not result(id="b", contains=True, citation_hit=False).correct
    assert result(id="c", contains=True, citation_hit=None).correct  # evidence unknown
    assert not result(id="d", contains=False, citation_hit=True).correct


def test_citation_precision_counts_right_answers_citations_on_the_gold_evidence() -> None:
    results = [
        result(id="a", citations=2, citations_valid=2, citations_on_evidence=1),  # one padded
        result(id="b", citations=1, citations_on_evidence=1),
        # not counted: a wrong answer, evidence not located, an unanswerable question
        result(id="w", contains=False, citations=3, citations_on_evidence=0),
        result(id="n", citations=4, citations_on_evidence=None),
        result(id="u", answerable=False, citations=2, citations_on_evidence=0),
    ]
    assert summarize(results)["citation_precision"] == round(2 / 3, 4)
    assert summarize([result(id="n", citations_on_evidence=None)])["citation_precision"] is None
