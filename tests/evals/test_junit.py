"""`citeqa eval --junit FILE`: JUnit XML that a real JUnit parser (junitparser) reads, one
testcase per gold question named by its id and question, failing with what was wrong,
and one testcase per gate threshold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import Failure, JUnitXml, Skipped

from evals import junit
from evals.metrics import QuestionResult
from evals.run import GateFailure
from evals.sets import EvalRecord
from tests.conftest import REPO, run_cli

EXAMPLES_SET = REPO / "evals" / "sets" / "examples.jsonl"


def record(id: str, answerable: bool = True) -> EvalRecord:
    return EvalRecord(
        id=id,
        question=f"Question {id}?",
        answers=["twelve"] if answerable else [],
        evidence=[{"doc": "handbook", "text": "Members may borrow twelve items."}],
        answerable=answerable,
    )


def result(id: str, answerable: bool = True, **fields: object) -> QuestionResult:
    base: dict[str, object] = {
        "id": id,
        "question": f"Question {id}?",
        "answerable": answerable,
        "abstained": False,
        "answer": "Members may borrow twelve items. [1]",
        "latency_ms": 12.5,
        "retrieval_hit": True,
        "doc_hit": True,
        "contains": True,
        "f1": 1.0,
        "citations": 1,
        "citations_valid": 1,
        "citation_hit": True,
    }
    return QuestionResult(**{**base, **fields})  # type: ignore[arg-type]


def cases(path: Path) -> dict[str, dict[str, object]]:
    """Every testcase by name: its suite, and its failure's message, type and text."""
    found: dict[str, dict[str, object]] = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            outcome = case.result[0] if case.result else None
            found[case.name] = {
                "suite": suite.name,
                "passed": case.is_passed,
                "skipped": isinstance(outcome, Skipped),
                "message": outcome.message if isinstance(outcome, Failure) else None,
                "text": outcome.text if isinstance(outcome, Failure) else None,
                "time": case.time,
            }
    return found


def test_every_kind_of_miss_is_named_in_its_failure(tmp_path: Path) -> None:
    pairs = [
        (record("right"), result("right")),
        (record("abstained"), result("abstained", abstained=True, contains=False)),
        (record("wrong"), result("wrong", contains=False, answer="Nine. [1]")),
        (record("missed"), result("missed", citation_hit=False)),
        (record("declined", False), result("declined", False, abstained=True, citations=0)),
        (record("answered", False), result("answered", False)),
        (record("unverified"), result("unverified", citations=2, citations_valid=1)),
        # a form feed from a PDF's text: XML cannot hold it, the report must still parse
        (record("form\x0cfeed"), result("form\x0cfeed", answer="Page one.\x0cPage two. [1]")),
    ]
    summary = {"citation_validity": 0.875, "answer_correct": 0.5, "judge_accuracy": None}
    bounds = {"min_citation_validity": 1.0, "max_answer_correct": 0.9, "min_judge_accuracy": 0.5}
    gate = [GateFailure("citation_validity", 0.875, 1.0, "min")]
    tree = junit.document(
        "mine",
        [r for r, _ in pairs],
        [q for _, q in pairs],
        bounds,
        gate,
        summary,  # type: ignore[arg-type]
        {"backend": "extractive", "judge_accuracy": None},
    )
    path = tmp_path / "reports" / "junit.xml"
    junit.write(path, tree)
    found = cases(path)
    messages = {name.split(":")[0]: case["message"] for name, case in found.items()}
    assert messages == {
        "right": None,
        "abstained": "abstained",
        "wrong": "wrong answer",
        "missed": "citation missed the evidence",
        "declined": None,
        "answered": "answered an unanswerable question",
        "unverified": "citation did not verify",
        "form\ufffdfeed": None,
        "citation_validity >= 1": "citation_validity = 0.875 is under its threshold 1.0",
        "answer_correct <= 0.9": None,
        "judge_accuracy >= 0.5": None,
    }
    assert found["right: Question right?"]["time"] == pytest.approx(0.0125, abs=0.001)
    assert "expected one of: twelve" in str(found["wrong: Question wrong?"]["text"])
    assert "Nine. [1]" in str(found["wrong: Question wrong?"]["text"])
    assert "handbook: Members may borrow" in str(found["missed: Question missed?"]["text"])
    assert found["judge_accuracy >= 0.5"]["skipped"]
    suites = {s.name: s for s in JUnitXml.fromfile(str(path))}
    assert (suites["mine"].tests, suites["mine"].failures) == (8, 5)
    assert (suites["mine gate"].tests, suites["mine gate"].failures) == (3, 1)
    assert suites["mine gate"].skipped == 1
    with pytest.raises(ValueError, match="is not that of question"):
        junit.document("x", [record("a")], [result("b")], None, [], {}, {})


def test_eval_writes_a_testcase_per_gold_question_and_per_threshold(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text("[default]\nmin_citation_validity = 1.0\nmax_latency_p50_ms = 0.001\n")
    report = tmp_path / "ci" / "citeqa.xml"
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "eval",
        str(EXAMPLES_SET),
        "--docs",
        str(REPO / "examples"),
        "--thresholds",
        str(strict),
        "--json",
        "--junit",
        str(report),
    )
    assert code == 1 and "gate failed: latency_p50_ms" in err  # the XML is written anyway
    data = json.loads(out)
    found = cases(report)
    questions = {k: v for k, v in found.items() if v["suite"] == "examples"}
    assert list(questions) == [f"{q['id']}: {q['question']}" for q in data["questions"]]
    for q in data["questions"]:
        case = questions[f"{q['id']}: {q['question']}"]
        right = q["correct"] if q["answerable"] else q["abstained"]
        assert case["passed"] == right, (q, case)
        if not q["answerable"] and not q["abstained"]:
            assert case["message"] == "answered an unanswerable question"
        if q["answerable"] and q["abstained"]:
            assert case["message"] == "abstained"
    gate = {k: v for k, v in found.items() if v["suite"] == "examples gate"}
    assert gate["citation_validity >= 1"]["passed"]
    assert str(gate["latency_p50_ms <= 0.001"]["message"]).startswith("latency_p50_ms = ")
    # --no-gate: the questions only
    code, _, _ = run_cli(
        monkeypatch,
        capsys,
        "eval",
        str(EXAMPLES_SET),
        "--docs",
        str(REPO / "examples"),
        "--no-gate",
        "--junit",
        str(report),
    )
    assert code == 0
    assert {c["suite"] for c in cases(report).values()} == {"examples"}
