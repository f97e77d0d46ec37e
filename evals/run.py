"""Run an eval set through the engine exactly as the API does, and score it."""

from __future__ import annotations

import re
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from citeqa.citations import verifies
from citeqa.engine import Engine
from citeqa.settings import Settings
from evals.judge import LLMJudge
from evals.metrics import QuestionResult, contains_answer, decision_accuracy, summarize, token_f1
from evals.sets import EvalRecord, same_doc
from ingest.pipeline import sources_from_paths

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")


@contextmanager
def fresh_engine(settings: Settings, docs: Path) -> Iterator[Engine]:
    """A throwaway embedded store holding just `docs`: evals never touch the user's data
    and always measure the documents they name."""
    with tempfile.TemporaryDirectory(prefix="citeqa-eval-") as tmp:
        engine = Engine(settings.model_copy(update={"data_dir": Path(tmp), "chroma_url": None}))
        engine.ingest(sources_from_paths([docs]))
        yield engine


class _EvidenceLocator:
    """Finds gold evidence in the stored documents, as (doc_id, start, end) spans."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._doc_ids = list(engine.store.manifest())
        self._texts: dict[str, str] = {}

    def resolve(self, gold: str) -> str | None:
        return next((d for d in self._doc_ids if same_doc(gold, d)), None)

    def spans(self, record: EvalRecord) -> list[tuple[str, int | None, int | None]]:
        found: list[tuple[str, int | None, int | None]] = []
        for evidence in record.evidence:
            doc_id = self.resolve(evidence.doc)
            if doc_id is None:
                continue
            text = self._text(doc_id)
            words = evidence.text.split()
            pattern = r"\s+".join(re.escape(w) for w in words)
            match = re.search(pattern, text) if words else None
            found.append((doc_id, match.start(), match.end()) if match else (doc_id, None, None))
        return found

    def _text(self, doc_id: str) -> str:
        if doc_id not in self._texts:
            record = self._engine.store.get_document(doc_id)
            self._texts[doc_id] = (record.text or "") if record else ""
        return self._texts[doc_id]


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
    locator = _EvidenceLocator(engine)
    results: list[QuestionResult] = []
    for record in records:
        if engine.llm is None:
            answer, candidates = engine.ask_with_candidates(record.question, top_k)
            chunks = [c.passage.chunk for c in candidates]
        else:
            answer, candidates = engine.ask(record.question, top_k), []
            k = top_k or engine.settings.top_k
            chunks = [p.chunk for p in engine.retriever.retrieve(record.question, k).passages]
        spans = locator.spans(record)
        passages = {c.id: c for c in chunks}.values()
        targets = [d for d in (locator.resolve(g) for g in record.target_docs()) if d]
        docs = engine.store.get_documents([c.doc_id for c in answer.citations])
        valid = sum(verifies(docs.get(c.doc_id), c.quote, c.start, c.end) for c in answer.citations)
        has_evidence = bool(spans)
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
            candidates=[
                (
                    c.dense,
                    c.coverage,
                    contains_answer(c.text, record.answers) if record.answers else False,
                    has_evidence and _overlaps(c.passage.chunk.doc_id, c.start, c.end, spans),
                )
                for c in candidates
            ],
            judged=judged,
        )
        results.append(result)
        if on_result:
            on_result(result)
    return results


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


def calibrate(results: list[QuestionResult]) -> list[tuple[float, float, float]]:
    """(accuracy, dense_weight, min_support) over a grid, best first."""
    grid = []
    for w10 in range(0, 11):
        for s100 in range(5, 91):
            w, s = w10 / 10, s100 / 100
            grid.append((round(decision_accuracy(results, w, s), 4), w, s))
    grid.sort(key=lambda t: (-t[0], t[1], t[2]))
    return grid


__all__ = [
    "DEFAULT_THRESHOLDS",
    "calibrate",
    "check_gate",
    "fresh_engine",
    "load_thresholds",
    "run_records",
    "summarize",
]
