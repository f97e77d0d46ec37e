"""The extractive answer: the best scored units, or an abstention."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from citeqa.answering.features import FEATURES, question_row
from citeqa.answering.model import AnswerModel
from citeqa.domain import Candidate
from citeqa.rendering import MARKDOWN_IMAGE
from citeqa.settings import AnswerSettings

# An answer unit this short ("Yes.", "No, sorry.") says little without the unit before it
# in its passage (the question of a FAQ, the clause it answers).
SHORT_UNIT_WORDS = 4


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, model: AnswerModel | None, settings: AnswerSettings) -> None:
        self.model = model
        self.settings = settings

    @property
    def threshold(self) -> float:
        """The configured threshold, else the model's."""
        if self.settings.threshold is not None:
            return self.settings.threshold
        if self.model is None:
            raise ValueError("no answer model and no threshold configured")
        return self.model.threshold

    def confidence(self, candidates: Sequence[Candidate]) -> float:
        """P(the answer composed from these candidates, best first, is right)."""
        if self.model is None:
            raise ValueError("no answer model")
        rows = [c.features for c in candidates if c.features is not None]
        table = np.vstack(rows) if rows else np.zeros((0, len(FEATURES)), dtype=np.float32)
        probabilities = np.asarray([c.probability for c in candidates], dtype=np.float32)
        row = question_row(table, probabilities)
        return float(self.model.answerability.probabilities(row[None, :])[0])

    def compose(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The units of the answer, in reading order: the best unit, those within
        `relative_cutoff` of its probability (at most `max_sentences`), the unit after the
        best one (`following_unit`), and the unit before a best unit too short to stand
        alone."""
        # a quoted markdown image would be fetched by a reader's browser (a data leak a
        # document could plant): such units are never answers, as in generated ones
        candidates = [c for c in candidates if not MARKDOWN_IMAGE.search(c.display)]
        if not candidates:
            return []
        best = candidates[0].probability
        floor = self.settings.relative_cutoff * best
        chosen = [c for c in candidates if c.probability >= floor][: self.settings.max_sentences]
        lead = chosen[0]
        extra = []
        if self.settings.following_unit and lead.following is not None:
            extra.append(lead.following)
        if len(lead.display.split()) <= SHORT_UNIT_WORDS and lead.previous is not None:
            extra.append(lead.previous)
        for unit in extra:
            if all(c is not unit for c in chosen) and not MARKDOWN_IMAGE.search(unit.display):
                chosen.append(unit)
        doc_order = {c.passage.chunk.doc_id: i for i, c in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda c: (doc_order[c.passage.chunk.doc_id], c.start))

    def select(self, candidates: Sequence[Candidate]) -> tuple[list[Candidate], float]:
        """The answer's units and the confidence in them; no units: abstain."""
        if not candidates:
            return [], 0.0
        confidence = self.confidence(candidates)
        if confidence < self.threshold:
            return [], confidence
        return self.compose(candidates), confidence
