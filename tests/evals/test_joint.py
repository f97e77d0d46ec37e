"""The joint gate's fitting (evals/training/joint.py): one logistic regression over the
answer model's confidence and the verifier's best logit, fitted and judged held out."""

from __future__ import annotations

import numpy as np
import pytest

from citeqa.answering.extractive import Joint
from evals.training import joint
from evals.training.replay import Outcome


def _outcome(answerable: bool, confidence: float, good: bool = True) -> Outcome:
    return Outcome(answerable, confidence, good, good, True, True)


def _groups(seed: int = 0) -> dict[str, list[joint.Judged]]:
    """Three groups where the answer model's confidence says little (near-misses get
    high confidence too) and the verifier's logit says much, with noise."""
    rng = np.random.default_rng(seed)
    groups = {}
    for name in ("a", "b", "c"):
        found = []
        for i in range(60):
            answerable = i % 3 != 0
            confidence = float(rng.uniform(0.2, 0.9))
            verification = float(rng.normal(2.0 if answerable else -2.0, 1.5))
            found.append(joint.Judged(_outcome(answerable, confidence), verification))
        groups[name] = found
    return groups


def test_the_fitted_weights_lean_on_what_separates() -> None:
    model = joint.fit_joint(list(_groups().values()))
    assert list(model.features) == list(joint.FEATURES)
    confidence_weight, verification_weight = model.coef
    assert verification_weight > 5 * abs(confidence_weight)


def test_held_out_figures_never_fit_on_the_group_they_judge() -> None:
    groups = _groups()
    figures = joint.held_out(groups)
    assert set(figures) == set(groups)
    for g, fig in figures.items():
        without = joint.fit_joint([groups[h] for h in groups if h != g])
        assert fig.model.coef == pytest.approx(without.coef)
        assert len(fig.outcomes) == len(groups[g])
        # better than chance at both kinds, held out
        answerable = [o for o in fig.outcomes if o.answerable]
        unanswerable = [o for o in fig.outcomes if not o.answerable]
        assert sum(o.right(fig.threshold) for o in answerable) / len(answerable) > 0.7
        assert sum(o.right(fig.threshold) for o in unanswerable) / len(unanswerable) > 0.7


def test_the_engine_reads_the_shipped_weights_as_training_computed_them() -> None:
    model, threshold = joint.shipped(_groups())
    gate = Joint(model, threshold)
    for confidence, verification in ((0.3, -2.5), (0.6, 0.4), (0.9, 3.0)):
        expected = float(model.probabilities(joint.joint_row(confidence, verification))[0])
        assert gate.probability(confidence, verification) == pytest.approx(expected, abs=1e-5)
    assert gate.probability(0.5, 3.0) > threshold > gate.probability(0.5, -3.0)


def test_a_question_without_its_reads_is_refused() -> None:
    with pytest.raises(ValueError):
        joint.judged([_outcome(True, 0.5)], ["q1", "q2"], {"q1": [1.0]}, 3)
