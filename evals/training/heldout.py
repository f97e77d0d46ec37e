"""Held-out predictions and the threshold chosen from them.

Sets are grouped by their documents, and every figure is held out, leave-one-group-out:
neither part of the model nor the threshold saw the group (the threshold comes from the
other groups' own held-out predictions, nested); the group is then reranked, composed
and scored exactly as the engine would. Within a group, k-fold figures let the units
model train on the group's other folds too.

The shipped model is fitted on all training groups; its threshold maximises the mean
per-group decision accuracy of the leave-one-group-out predictions (answered rightly or
rightly abstained), chosen with the sweep `citeqa calibrate` uses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from citeqa.answering.model import Linear
from evals.calibration import sweep
from evals.training.augment import source_of
from evals.training.dumps import QuestionDump
from evals.training.fitting import answerability_model, units_model
from evals.training.replay import Outcome, Replay, replays, set_confidence


def choose_threshold(per_group: dict[str, list[Outcome]], rule: str = "accuracy") -> float:
    """The threshold with the best mean decision accuracy over the groups (held-out
    predictions): answerable questions answered rightly, unanswerable ones abstained;
    every group that has unanswerable questions weighs the same (one without them only
    ever rewards answering). `rule` "balanced": within a group, its answerable and its
    unanswerable questions weigh the same too (the mean of the share answered rightly
    and the share abstained), whatever their numbers. Ties go to the lower threshold."""
    weighing = [
        outcomes for outcomes in per_group.values() if any(not o.answerable for o in outcomes)
    ] or list(per_group.values())

    def accuracy(outcomes: list[Outcome], t: float) -> float:
        if rule != "balanced":
            return float(np.mean([o.right(t) for o in outcomes]))
        sides = [[o.right(t) for o in outcomes if o.answerable is side] for side in (True, False)]
        return float(np.mean([np.mean(side) for side in sides if side]))

    best = sweep(lambda t: float(np.mean([accuracy(outcomes, t) for outcomes in weighing])))
    return best[0][1]


@dataclass
class Shipped:
    """The model fitted on every training group, and its threshold."""

    units: Linear
    answerability: Linear
    threshold: float


@dataclass
class GroupFigures:
    """A reported group's held-out outcomes by question id: leave-one-group-out, and
    k-fold within the group (the same for a group never trained on)."""

    threshold: float
    outcomes: dict[str, Outcome]
    folded: dict[str, Outcome]


@dataclass
class HeldOut:
    """The training and reported questions by group, and the models fitted without
    some groups (each fitted once).

    `train`: what the units model learns from, by group (gold questions and kept
    near-misses); `answer_train`: what the answerability model learns from (the same,
    with answer-removed twins when asked for); `reported`: the gold questions of every
    group, training or evaluation only."""

    train: dict[str, list[QuestionDump]]
    answer_train: dict[str, list[QuestionDump]]
    reported: dict[str, list[QuestionDump]]
    unit_names: Sequence[str]
    question_names: Sequence[str]
    following_unit: bool
    threshold_rule: str = "accuracy"  # see choose_threshold
    _units: dict[frozenset[str], Linear] = field(default_factory=dict)

    def units_without(self, *left_out: str) -> Linear:
        key = frozenset(left_out)
        if key not in self._units:
            chosen = [qs for g, qs in self.train.items() if g not in key]
            self._units[key] = units_model(chosen, self.unit_names)
        return self._units[key]

    def replays(self, questions: list[QuestionDump], units: Linear) -> list[Replay]:
        return replays(questions, units, self.following_unit)

    def outcomes(self, left_out: tuple[str, ...] = ()) -> dict[str, list[Outcome]]:
        """Leave-one-group-out outcomes for the training groups not in left_out: for each
        group H, the replays of its reported questions under the units model fitted
        without left_out + H, with confidences from an answerability model fitted on the
        other groups' replays (their near-misses included)."""
        names = [h for h in self.answer_train if h not in left_out]
        replayed = {
            h: self.replays(self.answer_train[h], self.units_without(*left_out, h)) for h in names
        }
        found = {}
        for h in names:
            answerability = answerability_model(
                [replayed[k] for k in names if k != h], self.question_names
            )
            shown = {q.id for q in self.reported[h]}
            found[h] = set_confidence(
                [r for r in replayed[h] if r.question.id in shown], answerability
            )
        return found

    def shipped(self) -> Shipped:
        threshold = choose_threshold(self.outcomes(), self.threshold_rule)
        answerability = answerability_model(
            [self.replays(self.answer_train[h], self.units_without(h)) for h in self.answer_train],
            self.question_names,
        )
        return Shipped(self.units_without(), answerability, threshold)

    def group(self, g: str, folds: int, shipped: Shipped) -> GroupFigures:
        """The reported group's held-out figures."""
        if g not in self.train:
            # never trained on: the shipped model, as it is
            outcomes = set_confidence(
                self.replays(self.reported[g], shipped.units), shipped.answerability
            )
            by_id = {q.id: o for q, o in zip(self.reported[g], outcomes, strict=True)}
            return GroupFigures(shipped.threshold, by_id, by_id)
        # the threshold, from the other groups' own held-out outcomes (nested)
        threshold = choose_threshold(self.outcomes((g,)), self.threshold_rule)
        # the group itself: units model and answerability model never saw it
        others = [h for h in self.train if h != g]
        answerability = answerability_model(
            [self.replays(self.answer_train[h], self.units_without(g, h)) for h in others],
            self.question_names,
        )
        mine = self.replays(self.reported[g], self.units_without(g))
        outcomes = set_confidence(mine, answerability)
        by_id = {r.question.id: o for r, o in zip(mine, outcomes, strict=True)}
        # k-fold within the group: its other folds (and their near-misses) train the
        # units model too
        folded: dict[str, Outcome] = {}
        order = sorted(self.reported[g], key=lambda q: hashlib.sha256(q.id.encode()).hexdigest())
        for k in range(folds):
            held = order[k::folds]
            held_ids = {q.id for q in held}
            rest = [q for q in self.train[g] if source_of(q.id) not in held_ids]
            units = units_model([self.train[h] for h in others] + [rest], self.unit_names)
            held_replays = self.replays(held, units)
            for r, o in zip(held_replays, set_confidence(held_replays, answerability), strict=True):
                folded[r.question.id] = o
        return GroupFigures(threshold, by_id, folded)
