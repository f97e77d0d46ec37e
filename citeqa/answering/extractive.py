"""The extractive answer: the best scored units, or an abstention."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from citeqa.answering.features import question_row
from citeqa.answering.model import AnswerModel, Linear
from citeqa.answering.scorer import reader_text
from citeqa.components.reader import Reader
from citeqa.domain import Candidate
from citeqa.lexical import context_line
from citeqa.rendering import MARKDOWN_IMAGE
from citeqa.segment import HEADING, SENTENCE
from citeqa.settings import AnswerSettings

# An answer unit this short ("Yes.", "No, sorry.") says little without the unit before it
# in its passage (the question of a FAQ, the clause it answers).
SHORT_UNIT_WORDS = 4
# A unit ending in ":" ("... then you can run:") introduces what follows it: it is cited
# with the list items, lines or rows after it in its passage, at most this many.
MAX_CARRIED = 4
# The verifier reads this many of the best units unless its card or settings say otherwise.
VERIFIER_UNITS = 5


def _key(candidate: Candidate) -> tuple[str, int, int]:
    return candidate.passage.chunk.doc_id, candidate.start, candidate.end


def dangling(candidate: Candidate) -> bool:
    return candidate.display.rstrip().endswith(":")


def carried(candidate: Candidate) -> list[Candidate]:
    """What a unit ending in ":" introduces: the units after it in its passage, up to
    the first sentence of prose after them, at most MAX_CARRIED."""
    found: list[Candidate] = []
    following = candidate.following
    while following is not None and len(found) < MAX_CARRIED:
        if found and following.kind == SENTENCE:
            break
        found.append(following)
        following = following.following
    return found


def _showable(candidate: Candidate) -> bool:
    """Not a heading (alone it answers nothing), no markdown image (a quoted image would
    be fetched by a reader's browser: a data leak a document could plant)."""
    return candidate.kind != HEADING and not MARKDOWN_IMAGE.search(candidate.display)


def citable(candidate: Candidate) -> bool:
    """A unit that can lead or join an answer on its own merit: showable, and not an
    introduction whose list is not in hand."""
    return _showable(candidate) and not (dangling(candidate) and candidate.following is None)


def joint_row(
    confidence: float, verification: float, dtype: type[np.floating] = np.float32
) -> np.ndarray:
    """The joint gate's row for an answer: its confidence as a logit, and the verifier's
    best logit (training builds its rows here too, in float64)."""
    p = min(max(confidence, 1e-6), 1.0 - 1e-6)
    return np.array([[math.log(p / (1.0 - p)), verification]], dtype=dtype)


class Joint(NamedTuple):
    """The joint gate (evals/training/joint.py): P(right) from the answer model's
    confidence and the verifier's best logit, one logistic regression over both fitted
    on held-out predictions of each; the answer is given when it reaches `threshold`."""

    model: Linear  # features: confidence_logit, verification
    threshold: float

    def probability(self, confidence: float, verification: float) -> float:
        return float(self.model.probabilities(joint_row(confidence, verification))[0])


class Verification:
    """The verifier's reading of the best units: the question read with each of the
    `units` best citable candidates (as the reader reads a unit: context line, the end of
    the unit before, the unit). Without `joint`, a second gate: the answer is given when
    the answer model's confidence passes its threshold and the best logit reaches
    `threshold`. With it, one gate: the joint probability of both reaches its threshold
    (and is the answer's confidence)."""

    def __init__(
        self, verifier: Reader, threshold: float, units: int, joint: Joint | None = None
    ) -> None:
        self.verifier = verifier
        self.threshold = threshold
        self.units = units
        self.joint = joint

    @staticmethod
    def _read(unit: Candidate, before: Candidate | None) -> str:
        """A unit as the verifier reads it: context line, the end of the unit before, the
        unit."""
        return reader_text(
            context_line(unit.passage.chunk),
            before.display if before is not None else None,
            unit.display,
        )

    def best(self, question: str, candidates: Sequence[Candidate]) -> float | None:
        """The best logit over the best units (None: no citable unit)."""
        read = [c for c in candidates if citable(c)][: self.units]
        if not read:
            return None
        texts = [self._read(c, c.previous) for c in read]
        return float(np.max(self.verifier.score(question, texts)))

    def follows(self, question: str, lead: Candidate, following: Candidate) -> bool:
        """Whether the unit after the lead answers as well as the lead: the verifier
        reads it (after the lead) at a logit of at least the lead's and of its threshold.
        Read after the lead, a unit that only continues an answer scores high from the
        lead's words: it joins only when it holds as much of the answer."""
        # the lead reads as `best` read it: the verifier's pair cache answers it
        texts = [self._read(lead, lead.previous), self._read(following, lead)]
        lead_logit, next_logit = (float(v) for v in self.verifier.score(question, texts))
        return next_logit >= max(self.threshold, lead_logit)

    def keep(self, question: str, units: Sequence[Candidate], margin: float) -> list[Candidate]:
        """Of an answer's units (best first), those the verifier reads within `margin`
        logits of the best of them, in their order: a unit the answer model rates near
        the best one but that says less to the question is padding. A unit is read as
        `best` reads it, except one whose unit before is itself in the answer: that one
        is read without it, since read after the unit that answers it scores from that
        unit's words (and would push out the unit it follows). The best-read unit is
        always kept."""
        logits = self.unit_logits(question, units)
        top = max(logits)
        return [u for u, logit in zip(units, logits, strict=True) if logit >= top - margin]

    def unit_logits(self, question: str, units: Sequence[Candidate]) -> list[float]:
        """The verifier's logit for each of an answer's units, read as `keep` says."""
        keys = {_key(u) for u in units}

        def before(unit: Candidate) -> Candidate | None:
            previous = unit.previous
            return previous if previous is not None and _key(previous) not in keys else None

        texts = [self._read(u, before(u)) for u in units]
        return [float(v) for v in self.verifier.score(question, texts)]


class Selected(NamedTuple):
    units: list[Candidate]  # none: abstain
    confidence: float
    verification: float | None  # the verifier's best logit, when it read


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(
        self,
        model: AnswerModel | None,
        settings: AnswerSettings,
        verification: Verification | None = None,
    ) -> None:
        self.model = model
        self.settings = settings
        self.verification = verification

    @property
    def following_unit(self) -> bool:
        """Whether the unit after the best one may join the answer beyond its probability:
        the configured choice, else the one the model was trained with (models that do
        not say: true, as before the reader). With the verifier and no configured choice
        it joins only as `Verification.follows` says (`compose`'s `question`)."""
        if self.settings.following_unit is not None:
            return self.settings.following_unit
        if self.model is None:
            return False
        return self.model.training.get("following_unit", "always") == "always"

    def _follows(self, question: str | None, lead: Candidate, following: Candidate) -> bool:
        """Whether the unit after the lead joins the answer: always when so configured;
        unset, with the verifier and the question, only when the verifier reads it as
        answering as well as the lead (`Verification.follows`: the unit after the best
        one is not added unconditionally); otherwise as the model was trained."""
        if not self.following_unit:
            return False
        if self.settings.following_unit is None and self.verification is not None and question:
            return self.verification.follows(question, lead, following)
        return True

    @property
    def joint(self) -> Joint | None:
        return self.verification.joint if self.verification is not None else None

    @property
    def threshold(self) -> float:
        """The configured threshold, else the joint gate's (it decides when there is
        one), else the model's."""
        if self.settings.threshold is None and self.joint is not None:
            return self.joint.threshold
        return self.model_threshold

    @property
    def model_threshold(self) -> float:
        """The configured threshold, else the answer model's."""
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
        width = len(self.model.units.features)
        table = np.vstack(rows) if rows else np.zeros((0, width), dtype=np.float32)
        probabilities = np.asarray([c.probability for c in candidates], dtype=np.float32)
        row = question_row(table, probabilities)
        return float(self.model.answerability.probabilities(row[None, :])[0])

    def judge(self, candidates: Sequence[Candidate], question: str) -> tuple[float, float | None]:
        """The answer's confidence as the threshold `select` applies sees it, and the
        verifier's best logit: with the joint gate, its probability (None for the logit
        where no unit is citable, the confidence then the answer model's); otherwise the
        answer model's P(right), the verifier not asked."""
        confidence = self.confidence(candidates)
        joint = self.joint
        if joint is None or self.verification is None:
            return confidence, None
        verified = self.verification.best(question, candidates)
        if verified is None:
            return confidence, None
        return joint.probability(confidence, verified), verified

    def compose(
        self, candidates: Sequence[Candidate], question: str | None = None
    ) -> list[Candidate]:
        """The units of the answer, in reading order, each once: the best citable unit,
        those within `relative_cutoff` of its probability (at most `max_sentences`) and
        the unit after the best one as `_follows` says; given the question and the
        verifier, only those of them it reads within `verifier_margin` of the best of
        them (`Verification.keep`); then what a unit ending in ":" introduces and the unit
        before a best unit too short to stand alone. Overlapping passages hold the same
        unit: it is cited once."""
        usable: list[Candidate] = []
        seen: set[tuple[str, int, int]] = set()
        for candidate in candidates:
            if _key(candidate) not in seen and citable(candidate):
                usable.append(candidate)
            seen.add(_key(candidate))
        if not usable:
            return []
        floor = self.settings.relative_cutoff * usable[0].probability
        chosen = [c for c in usable if c.probability >= floor][: self.settings.max_sentences]
        lead = chosen[0]
        keys = {_key(c) for c in chosen}
        following = lead.following
        if following is not None and _key(following) not in keys:
            if _showable(following) and self._follows(question, lead, following):
                chosen.append(following)
        if self.verification is not None and question and len(chosen) > 1:
            chosen = self.verification.keep(question, chosen, self.settings.verifier_margin)
        extra = [unit for c in chosen if dangling(c) for unit in carried(c)]
        if chosen[0] is lead and len(lead.display.split()) <= SHORT_UNIT_WORDS:
            if lead.previous is not None:
                extra.append(lead.previous)
        keys = {_key(c) for c in chosen}
        for unit in extra:
            if _key(unit) not in keys and _showable(unit):
                chosen.append(unit)
                keys.add(_key(unit))
        doc_order = {c.passage.chunk.doc_id: i for i, c in reversed(list(enumerate(chosen)))}
        return sorted(chosen, key=lambda c: (doc_order[c.passage.chunk.doc_id], c.start))

    def select(self, candidates: Sequence[Candidate], question: str | None = None) -> Selected:
        """The answer's units, the confidence in them and, given the question, the
        verifier's best logit; no units: abstain (the model's confidence is under its
        threshold, or the verifier finds no best unit that answers the question). With
        the joint gate the confidence is the joint probability, which alone decides."""
        if not candidates:
            return Selected([], 0.0, None)
        if self.joint is not None and question is not None:  # a joint gate has a verifier
            confidence, verified = self.judge(candidates, question)
            if verified is None or confidence < self.threshold:
                return Selected([], confidence, verified)
            return Selected(self.compose(candidates, question), confidence, verified)
        confidence = self.confidence(candidates)
        if confidence < self.model_threshold:
            return Selected([], confidence, None)
        verified = None
        if self.verification is not None and question is not None:
            verified = self.verification.best(question, candidates)
            if verified is None or verified < self.verification.threshold:
                return Selected([], confidence, verified)
        return Selected(self.compose(candidates, question), confidence, verified)
