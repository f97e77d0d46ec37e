"""Fitting: the one logistic regression both parts of the answer model are fitted with,
and what each part is fitted on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from citeqa.answering.model import Linear

if TYPE_CHECKING:
    from evals.training.dumps import QuestionDump
    from evals.training.replay import Replay

# the answerability model has few rows (a question each): stronger regularisation than
# the units model's
UNITS_STRENGTH = 1.0
ANSWERABILITY_STRENGTH = 0.1


def fit(blocks: Sequence[tuple[np.ndarray, np.ndarray]], names: Sequence[str], c: float) -> Linear:
    """A logistic regression (inverse regularisation strength `c`) over the standardised
    rows of these (rows, labels) blocks, every block weighing the same; deterministic.
    It predicts in float64 (rounded to the model file's precision by `stored`)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([rows for rows, _labels in blocks]).astype(np.float64)
    y = np.concatenate([labels for _rows, labels in blocks]).astype(int)
    weights = np.concatenate([np.full(len(labels), 1.0 / len(labels)) for _, labels in blocks])
    weights *= len(y) / weights.sum()
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit((x - mean) / scale, y, sample_weight=weights)
    return Linear(
        list(names),
        mean.tolist(),
        scale.tolist(),
        model.coef_[0].tolist(),
        float(model.intercept_[0]),
        dtype=np.float64,
    )


def units_model(groups: Sequence[Sequence[QuestionDump]], names: Sequence[str]) -> Linear:
    """P(this unit answers) from the unit rows of these groups' questions; every group
    weighs the same (a group without a row is left out)."""
    blocks = [
        (
            np.vstack([q.rows for q in questions if len(q.rows)]),
            np.concatenate([q.labels for q in questions if len(q.rows)]),
        )
        for questions in groups
        if any(len(q.rows) for q in questions)
    ]
    return fit(blocks, names, UNITS_STRENGTH)


def answerability_model(groups: Sequence[Sequence[Replay]], names: Sequence[str]) -> Linear:
    """P(the composed answer is right) from each replayed question's answerability row;
    every group weighs the same."""
    blocks = [
        (np.vstack([r.row for r in group]), np.array([r.label for r in group], dtype=bool))
        for group in groups
    ]
    return fit(blocks, names, ANSWERABILITY_STRENGTH)


def stored(model: Linear) -> Linear:
    """The model as the model file holds it: parameters to six decimals, float32."""
    return Linear(
        features=list(model.features),
        mean=[round(float(v), 6) for v in model.mean],
        scale=[round(float(v), 6) for v in model.scale],
        coef=[round(float(v), 6) for v in model.coef],
        intercept=round(float(model.intercept), 6),
    )
