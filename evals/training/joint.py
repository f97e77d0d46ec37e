"""The joint gate: the answer model's confidence and the verifier's best logit weighed
together by one logistic regression, fitted on held-out predictions of both.

The verifier alone as a second gate (answer only when both pass) abstained on
near-misses but cost paraphrases: two thresholds, each chosen alone, each stop some right
answers. Weighed together, a confident verifier can carry a middling confidence and the
other way round, and one threshold is chosen on the combination.

Stacked, held out: the rows are leave-one-group-out predictions of both parts (the
answer model fitted without the question's group, the verifier fine-tuned without it),
so the weights learn how each part does on documents it never saw, as they will be at
inference. Every figure reported is held out once more: for a group, the weights are
fitted without it and its threshold is chosen from the other groups' own held-out
combinations (nested), with the answer model's threshold rule (`choose_threshold`).

Fitted on the project's own groups only; the public sets are reported through the
weights fitted on all own groups, never fitted on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from citeqa.answering.extractive import joint_row as engine_row
from citeqa.answering.model import Linear
from evals.training.fitting import ANSWERABILITY_STRENGTH, fit
from evals.training.heldout import choose_threshold
from evals.training.replay import Outcome

# the joint model's features, in the order the engine builds its row
FEATURES = ("confidence_logit", "verification")


def joint_row(confidence: float, verification: float) -> np.ndarray:
    """The engine's row for an answer (`citeqa.answering.extractive.joint_row`), in the
    float64 that training predicts in."""
    return engine_row(confidence, verification, np.float64)


@dataclass(frozen=True)
class Judged:
    """One question: its held-out outcome under the answer model, and the held-out
    verifier's best logit over its best units."""

    outcome: Outcome
    verification: float

    @property
    def label(self) -> bool:
        """What the joint model predicts: the composed answer is right."""
        return self.outcome.good()


def judged(
    outcomes: Sequence[Outcome],
    ids: Sequence[str],
    reads: Mapping[str, Sequence[float]],
    units: int,
) -> list[Judged]:
    """Each question's outcome (in `ids` order) with its best verifier logit over its
    best `units` units (`reads`: logits by question id, best unit first)."""
    if len(outcomes) != len(ids):
        raise ValueError("one outcome per question id")
    return [
        Judged(o, max(reads[qid][:units], default=-1e9))
        for o, qid in zip(outcomes, ids, strict=True)
    ]


def fit_joint(groups: Sequence[Sequence[Judged]]) -> Linear:
    """P(right) from confidence and verification; every group weighs the same."""
    blocks = [
        (
            np.vstack([joint_row(j.outcome.confidence, j.verification) for j in group]),
            np.array([j.label for j in group], dtype=bool),
        )
        for group in groups
        if group
    ]
    return fit(blocks, FEATURES, ANSWERABILITY_STRENGTH)


def combined(model: Linear, group: Sequence[Judged]) -> list[Outcome]:
    """The group's outcomes with the joint probability as their confidence."""
    if not group:
        return []
    rows = np.vstack([joint_row(j.outcome.confidence, j.verification) for j in group])
    return [
        replace(j.outcome, confidence=float(p))
        for j, p in zip(group, model.probabilities(rows), strict=True)
    ]


@dataclass
class JointFigures:
    """A group's held-out outcomes under the joint gate and the threshold it had."""

    threshold: float
    outcomes: list[Outcome]
    model: Linear


def held_out(
    per_group: Mapping[str, Sequence[Judged]], rule: str = "accuracy"
) -> dict[str, JointFigures]:
    """For each group: weights fitted without it, a threshold chosen from the other
    groups' own held-out combinations (each fitted without that group and this one)."""
    found = {}
    for g in per_group:
        others = [h for h in per_group if h != g]
        nested = {
            h: combined(fit_joint([per_group[k] for k in others if k != h]), per_group[h])
            for h in others
        }
        model = fit_joint([per_group[h] for h in others])
        found[g] = JointFigures(
            choose_threshold(nested, rule), combined(model, per_group[g]), model
        )
    return found


def shipped(
    per_group: Mapping[str, Sequence[Judged]], rule: str = "accuracy"
) -> tuple[Linear, float]:
    """The weights fitted on every group, and the threshold chosen from the groups'
    leave-one-group-out combinations."""
    logo = {
        g: combined(fit_joint([per_group[h] for h in per_group if h != g]), per_group[g])
        for g in per_group
    }
    return fit_joint(list(per_group.values())), choose_threshold(logo, rule)
