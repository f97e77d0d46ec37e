"""Replaying the engine's decisions on a dump: each question's units reranked and
composed exactly as the engine does (citeqa.answering), given a units model; its
answerability row; and, given an answerability model, the outcome at any threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citeqa.answering.model import Linear
from evals.training.dumps import TOP_K, QuestionDump


@dataclass
class Outcome:
    """One question answered by the replayed engine at some threshold."""

    answerable: bool
    confidence: float  # P(right) from the answerability model (answer when >= threshold)
    contains: bool  # the composed answer holds a gold answer
    cited: bool  # one of its units overlaps the gold evidence
    evidence_known: bool
    retrieved: bool | None  # gold evidence in the top passages after reranking

    def answered(self, threshold: float) -> bool:
        return self.confidence >= threshold

    def good(self) -> bool:
        """The composed answer is right (whether or not it is given)."""
        return self.answerable and self.contains and (self.cited or not self.evidence_known)

    def right(self, threshold: float) -> bool:
        if not self.answerable:
            return not self.answered(threshold)
        return self.answered(threshold) and self.good()


class Replay:
    """One question reranked and composed exactly as the engine does (citeqa.answering),
    given the unit model's probabilities; its answerability row for the second model.

    `following_unit`: whether the unit after the best one joins the answer
    unconditionally (the model without the reader) or only by its own probability (the
    reader's model); the model file records the choice."""

    def __init__(
        self, question: QuestionDump, probabilities: np.ndarray, following_unit: bool = True
    ) -> None:
        from citeqa.answering.extractive import ExtractiveAnswerer
        from citeqa.answering.features import FEATURES, question_row
        from citeqa.answering.scorer import best_first, rerank
        from citeqa.domain import Candidate, Chunk, Passage
        from citeqa.settings import AnswerSettings
        from evals.metrics import contains_answer

        self.question = question
        pool = [
            Passage(Chunk(f"p{i}", doc, i, "", 0, 0), 0.0, None, None, fused_rank=rank)
            for i, (doc, rank) in enumerate(
                zip(question.passage_docs, question.passage_fused, strict=True)
            )
        ]
        kinds = [(FEATURES.index(f"kind_{k}"), k) for k in ("heading", "item", "row", "line")]
        candidates: list[Candidate] = []
        for i, display in enumerate(question.displays):
            before = int(question.previous[i])
            row = question.rows[i]
            kind = next((k for column, k in kinds if row[column] > 0.5), "sentence")
            candidate = Candidate(
                pool[int(question.passage[i])],
                int(question.starts[i]),
                int(question.ends[i]),
                display,
                display,
                kind,
                0.0,
                float(probabilities[i]),
                candidates[before] if before >= 0 else None,
                question.rows[i],
            )
            if candidate.previous is not None:
                candidate.previous.following = candidate
            candidates.append(candidate)
        rows = {id(c): i for i, c in enumerate(candidates)}
        ranked, kept = rerank(pool, best_first(candidates), TOP_K)
        table = (
            np.vstack([c.features for c in kept if c.features is not None])
            if kept
            else np.zeros((0, question.rows.shape[1] if question.rows.ndim == 2 else 0))
        )
        self.row = question_row(table, np.asarray([c.probability for c in kept]))
        settings = AnswerSettings(following_unit=following_unit)
        chosen = ExtractiveAnswerer(None, settings).compose(kept)
        text = " ".join(c.display for c in chosen)
        self.contains = bool(question.answers) and contains_answer(text, question.answers)
        self.cited = any(bool(question.overlaps[rows[id(c)]]) for c in chosen)
        self.retrieved = (
            any(question.passage_evidence[int(p.chunk.id[1:])] for p in ranked)
            if question.evidence_known
            else None
        )
        self.confidence = 0.0

    def outcome(self) -> Outcome:
        return Outcome(
            self.question.answerable,
            self.confidence,
            self.contains,
            self.cited,
            self.question.evidence_known,
            self.retrieved,
        )

    @property
    def label(self) -> bool:
        return self.outcome().good()


def replays(
    questions: list[QuestionDump], units: Linear, following_unit: bool = True
) -> list[Replay]:
    """The questions replayed with the units model's probabilities."""
    return [Replay(q, units.probabilities(q.rows), following_unit) for q in questions]


def set_confidence(replayed: list[Replay], answerability: Linear) -> list[Outcome]:
    """Each replayed question's confidence from the answerability model, and its outcome."""
    probabilities = answerability.probabilities(np.vstack([r.row for r in replayed]))
    for r, p in zip(replayed, probabilities, strict=True):
        r.confidence = float(p)
    return [r.outcome() for r in replayed]
