"""An eval run as JUnit XML, the test report format CI systems show (GitHub Actions through
a report action, GitLab's `artifacts:reports:junit`, Jenkins' junit step).

One testsuite of the gold questions, one testcase each, named by its id and question; a
question that was not answered right fails with what was wrong. A second testsuite holds
the gate: one testcase per threshold. The command's exit status stays the gate's alone.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from evals.metrics import QuestionResult
from evals.run import GateFailure
from evals.sets import EvalRecord

ABSTAINED = "abstained"
WRONG_ANSWER = "wrong answer"
MISSED_EVIDENCE = "citation missed the evidence"
ANSWERED_UNANSWERABLE = "answered an unanswerable question"
UNVERIFIED = "citation did not verify"


def verdict(record: EvalRecord, result: QuestionResult) -> tuple[str, str] | None:
    """(what was wrong, the details) for a question not answered right; None when right.
    Right: an answerable question answered with a gold answer and (where the evidence is
    known) a citation of it; an unanswerable one abstained on; every citation verified."""
    given = f"answer given: {result.answer}"
    if result.citations_valid < result.citations:
        bad = result.citations - result.citations_valid
        return UNVERIFIED, f"{bad} of {result.citations} citations did not verify; {given}"
    if not record.answerable:
        if result.abstained:
            return None
        return ANSWERED_UNANSWERABLE, f"the documents do not answer it; {given}"
    expected = "expected one of: " + " | ".join(record.answers)
    if result.abstained:
        return ABSTAINED, f"abstained on an answerable question; {expected}"
    if not result.contains:
        return WRONG_ANSWER, f"the answer holds no gold answer; {expected}; {given}"
    if result.citation_hit is False:
        evidence = " | ".join(f"{e.doc}: {e.text}" for e in record.evidence)
        return MISSED_EVIDENCE, f"no citation overlaps the gold evidence ({evidence}); {given}"
    return None


# XML 1.0 has no way to write these (a PDF's form feed, a stray NUL): shown as U+FFFD
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(milliseconds: float) -> str:
    return f"{milliseconds / 1000:.3f}"


def _threshold_name(key: str, bound: float) -> str:
    kind, _, metric = key.partition("_")
    return f"{metric} {'>=' if kind == 'min' else '<='} {bound:g}"


def document(
    set_name: str,
    records: Sequence[EvalRecord],
    results: Sequence[QuestionResult],
    thresholds: dict[str, float] | None,
    gate: Sequence[GateFailure],
    summary: dict[str, float | int | None],
    properties: dict[str, object],
) -> ET.ElementTree[ET.Element | None]:
    """The report; `thresholds` None: no gate was applied (--no-gate), no gate suite."""
    if len(records) != len(results):
        raise ValueError("one result per gold question is needed")
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    set_name = _xml(set_name)
    root = ET.Element("testsuites", name=f"citeqa eval {set_name}")
    questions = ET.SubElement(
        root,
        "testsuite",
        name=set_name,
        timestamp=stamp,
        hostname=socket.gethostname(),
    )
    props = ET.SubElement(questions, "properties")
    for key, value in properties.items():
        if value is None:
            continue
        ET.SubElement(props, "property", name=key, value=_xml(str(value)))
    failed = 0
    total_ms = 0.0
    for record, result in zip(records, results, strict=True):
        if record.id != result.id:
            raise ValueError(f"result {result.id!r} is not that of question {record.id!r}")
        total_ms += result.latency_ms
        case = ET.SubElement(
            questions,
            "testcase",
            classname=f"citeqa.eval.{set_name}",
            name=_xml(f"{record.id}: {record.question}"),
            time=_seconds(result.latency_ms),
        )
        found = verdict(record, result)
        if found is not None:
            failed += 1
            kind, details = found
            failure = ET.SubElement(case, "failure", message=kind, type=kind)
            failure.text = _xml(details)
        ET.SubElement(case, "system-out").text = _xml(result.answer)
    questions.set("tests", str(len(results)))
    questions.set("failures", str(failed))
    questions.set("errors", "0")
    questions.set("skipped", "0")
    questions.set("time", _seconds(total_ms))
    tests, failures, skipped = len(results), failed, 0
    if thresholds is not None:
        suite = ET.SubElement(root, "testsuite", name=f"{set_name} gate", timestamp=stamp)
        missed = {(f.kind, f.metric): f for f in gate}
        gate_failed = gate_skipped = 0
        for key, bound in thresholds.items():
            kind, _, metric = key.partition("_")
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"citeqa.gate.{set_name}",
                name=_threshold_name(key, bound),
                time="0",
            )
            if summary.get(metric) is None:
                gate_skipped += 1
                ET.SubElement(case, "skipped", message="no question of the set measures it")
            elif (kind, metric) in missed:
                gate_failed += 1
                message = str(missed[(kind, metric)])
                ET.SubElement(case, "failure", message=message, type="gate")
        suite.set("tests", str(len(thresholds)))
        suite.set("failures", str(gate_failed))
        suite.set("errors", "0")
        suite.set("skipped", str(gate_skipped))
        suite.set("time", "0")
        tests += len(thresholds)
        failures += gate_failed
        skipped += gate_skipped
    root.set("tests", str(tests))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    root.set("time", _seconds(total_ms))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write(path: Path, tree: ET.ElementTree[ET.Element | None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tree.write(path, encoding="utf-8", xml_declaration=True)
