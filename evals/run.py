"""Run an eval set through the engine exactly as the API does, and score it."""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from citeqa.answering.model import AnswerModel
from citeqa.citations import verifies
from citeqa.domain import Retrieval
from citeqa.segment import display_map, display_text
from citeqa.settings import Settings
from evals.calibration import sweep
from evals.judge import LLMJudge
from evals.metrics import QuestionResult, contains_answer, decision_accuracy, summarize, token_f1
from evals.sets import EvalRecord, same_doc
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")


@contextmanager
def fresh_engine(
    settings: Settings, docs: Path, answer_model: AnswerModel | None = None
) -> Iterator[Engine]:
    """A throwaway embedded store holding just `docs`: evals never touch the user's data
    and always measure the documents they name."""
    with tempfile.TemporaryDirectory(prefix="citeqa-eval-") as tmp:
        engine = Engine(
            settings.replace(data_dir=Path(tmp), chroma_url=None),
            answer_model=answer_model,
        )
        engine.documents.ingest(sources_from_paths([docs]))
        yield engine


class EvidenceLocator:
    """Finds gold evidence in the stored documents, as (doc_id, start, end) spans.

    Evidence is written from the source document, so it is matched on the words as a
    reader sees them: line breaks and indentation as spaces, line-end hyphenation joined,
    curly quotes and dashes straightened, case ignored."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._doc_ids = engine.documents.ids()
        self._texts: dict[str, tuple[str, list[int]]] = {}

    def resolve(self, gold: str) -> str | None:
        return next((d for d in self._doc_ids if same_doc(gold, d)), None)

    def spans(self, record: EvalRecord) -> list[tuple[str, int | None, int | None]]:
        found: list[tuple[str, int | None, int | None]] = []
        for evidence in record.evidence:
            doc_id = self.resolve(evidence.doc)
            if doc_id is None:
                continue
            shown, where = self._text(doc_id)
            wanted = _comparable(display_text(evidence.text))
            at = shown.find(wanted) if wanted else -1
            if at < 0:
                found.append((doc_id, None, None))
            else:
                found.append((doc_id, where[at], where[at + len(wanted) - 1] + 1))
        return found

    def _text(self, doc_id: str) -> tuple[str, list[int]]:
        if doc_id not in self._texts:
            record = self._engine.documents.records([doc_id]).get(doc_id)
            shown, where = display_map((record.text or "") if record else "")
            self._texts[doc_id] = (_comparable(shown), where)
        return self._texts[doc_id]


_TYPOGRAPHY = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def _comparable(text: str) -> str:
    """Lower case with straight quotes and dashes: the same length as text."""
    return text.lower().translate(_TYPOGRAPHY)


def unstored_documents(engine: Engine, records: list[EvalRecord]) -> list[str]:
    """The documents the set's questions name (evidence and gold_docs) that the store
    does not hold, as the set names them: scored without them, every answer they hold
    would count as missed."""
    locator = EvidenceLocator(engine)
    named = {doc for r in records for doc in r.target_docs()}
    named |= {e.doc for r in records for e in r.evidence}
    return sorted(doc for doc in named if locator.resolve(doc) is None)


def _overlaps(
    doc_id: str, start: int, end: int, spans: list[tuple[str, int | None, int | None]]
) -> bool:
    for gold_doc, gold_start, gold_end in spans:
        if gold_doc != doc_id:
            continue
        if gold_start is None or gold_end is None:
            return True  # evidence not found verbatim: the document is the best we know
        if start < gold_end and gold_start < end:
            return True
    return False


def run_records(
    engine: Engine,
    records: list[EvalRecord],
    top_k: int | None = None,
    on_result: Callable[[QuestionResult], None] | None = None,
    judge: LLMJudge | None = None,
) -> list[QuestionResult]:
    """Ask every question with the engine's backend and score the answers. The
    extractive backend also records its scored candidates (for calibration)."""
    locator = EvidenceLocator(engine)
    results: list[QuestionResult] = []
    for record in records:
        if engine.components.llm is None:
            answer, retrieval = engine.query.ask_with_candidates(record.question, top_k)
        else:
            answer = engine.query.ask(record.question, top_k)
            k = top_k or engine.settings.query.top_k
            retrieval = engine.query.pipeline.run(record.question, k)
        chunks = [p.chunk for p in retrieval.passages]
        spans = locator.spans(record)
        confidence, good = _replayable(engine, record, retrieval, spans)
        passages = {c.id: c for c in chunks}.values()
        targets = [d for d in (locator.resolve(g) for g in record.target_docs()) if d]
        docs = engine.documents.records([c.doc_id for c in answer.citations])
        valid = sum(verifies(docs.get(c.doc_id), c.quote, c.start, c.end) for c in answer.citations)
        has_evidence = bool(spans)
        # precision needs every piece of evidence at known offsets
        located = spans if all(start is not None for _d, start, _e in spans) else []
        judged = None
        if judge is not None and record.answerable:
            judged = (not answer.abstained) and judge.correct(
                record.question, record.answers, answer.answer
            )
        result = QuestionResult(
            id=record.id,
            question=record.question,
            answerable=record.answerable,
            abstained=answer.abstained,
            answer=answer.answer,
            latency_ms=answer.timings_ms.total,
            retrieval_hit=any(_overlaps(p.doc_id, p.start, p.end, spans) for p in passages)
            if has_evidence
            else None,
            doc_hit=any(p.doc_id in targets for p in passages) if targets else None,
            contains=(not answer.abstained) and contains_answer(answer.answer, record.answers),
            f1=0.0 if answer.abstained else token_f1(answer.answer, record.answers),
            citations=len(answer.citations),
            citations_valid=valid,
            citation_hit=any(_overlaps(c.doc_id, c.start, c.end, spans) for c in answer.citations)
            if has_evidence
            else None,
            confidence=confidence,
            good=good,
            judged=judged,
            citations_on_evidence=sum(
                _overlaps(c.doc_id, c.start, c.end, located) for c in answer.citations
            )
            if located
            else None,
        )
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _replayable(
    engine: Engine,
    record: EvalRecord,
    retrieval: Retrieval,
    spans: list[tuple[str, int | None, int | None]],
) -> tuple[float | None, bool]:
    """The extractive answerer's confidence for this question and whether the answer it
    composes is right (a gold answer, the gold evidence cited where known), whatever
    the threshold: what calibration and the risk-coverage curve replay."""
    if not retrieval.candidates:
        return None, False
    answerer = engine.query.answerer
    chosen = answerer.compose(retrieval.candidates, record.question)
    text = " ".join(c.display for c in chosen)
    holds = bool(record.answers) and contains_answer(text, record.answers)
    known = any(start is not None for _doc, start, _end in spans)
    cited = any(_overlaps(c.passage.chunk.doc_id, c.start, c.end, spans) for c in chosen)
    good = record.answerable and holds and (cited or not known)
    return answerer.confidence(retrieval.candidates), good


@dataclass
class GateFailure:
    metric: str
    value: float | None
    bound: float
    kind: str  # "min" or "max"

    def __str__(self) -> str:
        relation = "under" if self.kind == "min" else "over"
        return f"{self.metric} = {self.value} is {relation} its threshold {self.bound}"


def load_thresholds(path: Path, set_name: str) -> dict[str, float]:
    with path.open("rb") as handle:
        table = tomllib.load(handle)
    merged = dict(table.get("default", {}))
    merged.update(table.get(set_name, {}))
    return {k: float(v) for k, v in merged.items()}


def check_gate(
    summary: dict[str, float | int | None], thresholds: dict[str, float]
) -> list[GateFailure]:
    failures = []
    for key, bound in thresholds.items():
        kind, _, metric = key.partition("_")
        value = summary.get(metric)
        if kind not in ("min", "max") or metric not in summary:
            raise ValueError(f"unknown threshold {key!r}")
        if value is None:
            continue  # the set has no question this metric applies to
        if (kind == "min" and value < bound) or (kind == "max" and value > bound):
            failures.append(GateFailure(metric, float(value), bound, kind))
    return failures


def calibrate(results: list[QuestionResult]) -> list[tuple[float, float]]:
    """(decision accuracy, threshold) over thresholds 0.01 ... 0.99, best first (the
    sweep training chooses the model's threshold with)."""
    return sweep(lambda t: round(decision_accuracy(results, t), 4))


__all__ = [
    "DEFAULT_THRESHOLDS",
    "calibrate",
    "check_gate",
    "fresh_engine",
    "load_thresholds",
    "run_records",
    "summarize",
    "unstored_documents",
]
