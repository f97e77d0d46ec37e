"""The answer model, stored as JSON: two logistic regressions and a threshold.

- `units`: P(this unit answers the question) from the unit features (FEATURES); it
  ranks the units, and the passages by their best unit;
- `answerability`: P(the answer composed from the best units is right) from the
  question's features (QUESTION_FEATURES: how sure `units` is of its best unit, how far
  ahead of the next, what that unit holds); below `threshold` the answerer abstains.

Each part holds its feature names in order, the standardisation (mean and scale), the
coefficients and intercept. The file also says how it was trained. `make
train-answerer` (evals/training/) rebuilds it deterministically; prediction needs only
numpy.
"""

from __future__ import annotations

import json
from dataclasses import InitVar, asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.answering.features import question_features, unit_features

MODEL_FILE = Path(__file__).with_name("answer_model.json")
# the same, trained with the reader's features (CITEQA_READER=on)
READER_MODEL_FILE = Path(__file__).with_name("answer_model_reader.json")
FORMAT = 2


class ModelMismatch(ValueError):
    """The model file does not fit this version of the features."""


@dataclass
class Linear:
    """A logistic regression over standardised features.

    It predicts in float32, as the engine does; training, which predicts with the
    parameters it has just fitted, asks for float64 (`dtype`, not stored)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    dtype: InitVar[type[np.floating[Any]]] = np.float32

    def __post_init__(self, dtype: type[np.floating[Any]]) -> None:
        self._mean = np.asarray(self.mean, dtype=dtype)
        self._scale = np.asarray(self.scale, dtype=dtype)
        self._coef = np.asarray(self.coef, dtype=dtype)

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        if rows.size == 0:
            return np.zeros(rows.shape[0], dtype=self._coef.dtype)
        z = ((rows - self._mean) / self._scale) @ self._coef + self.intercept
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(self._coef.dtype)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


@dataclass
class AnswerModel:
    units: Linear
    answerability: Linear
    threshold: float  # answer when P(right) reaches it
    version: str = "untrained"
    format: int = FORMAT
    training: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reader = "reader" in self.units.features  # trained with the reader's features
        if tuple(self.units.features) != unit_features(self.reader) or tuple(
            self.answerability.features
        ) != question_features(self.reader):
            raise ModelMismatch(
                "the answer model was trained on other features; rebuild it with "
                "`make train-answerer`"
            )

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "version": self.version,
            "threshold": self.threshold,
            "units": self.units.to_dict(),
            "answerability": self.answerability.to_dict(),
            "training": self.training,
        }
        return json.dumps(data, indent=1) + "\n"

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerModel:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ModelMismatch(f"answer model format {data.get('format')} is not {FORMAT}")
        return cls(
            units=Linear(**data["units"]),
            answerability=Linear(**data["answerability"]),
            threshold=float(data["threshold"]),
            version=str(data.get("version", "")),
            training=dict(data.get("training", {})),
        )


def placeholder(reader: bool = False) -> AnswerModel:
    """A model that ranks units by similarity alone and answers at P(right) >= 0.5: what
    training runs with before there is a trained model (the ranking it gives is not
    used: training reads the fused pool before any reranking)."""

    def weights(names: tuple[str, ...], chosen: dict[str, float], intercept: float) -> Linear:
        size = len(names)
        coef = [chosen.get(name, 0.0) for name in names]
        return Linear(list(names), [0.0] * size, [1.0] * size, coef, intercept)

    return AnswerModel(
        weights(unit_features(reader), {"cos": 4.0, "soft_coverage": 3.0}, -4.0),
        weights(question_features(reader), {"best_logit": 1.0}, 0.0),
        threshold=0.5,
        version="placeholder",
    )
