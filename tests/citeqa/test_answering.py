"""The answer stage (citeqa.answering): features, the shipped model, WordNet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from citeqa import wordnet
from citeqa.answering.features import FEATURES, QUESTION_FEATURES, profile, question_row
from citeqa.answering.model import MODEL_FILE, AnswerModel, ModelMismatch


def test_the_shipped_model_fits_the_features_and_gives_probabilities() -> None:
    model = AnswerModel.load()
    assert model.units.features == list(FEATURES)
    assert model.answerability.features == list(QUESTION_FEATURES)
    assert 0.0 < model.threshold < 1.0
    rows = np.random.default_rng(3).normal(size=(50, len(FEATURES))).astype(np.float32)
    p = model.units.probabilities(rows)
    assert p.shape == (50,) and float(p.min()) >= 0.0 and float(p.max()) <= 1.0
    q = model.answerability.probabilities(question_row(rows, np.sort(p)[::-1])[None, :])
    assert 0.0 <= float(q[0]) <= 1.0
    training = json.loads(MODEL_FILE.read_text())["training"]
    assert training["command"] == "make train-answerer" and training["sets"]


def test_a_model_for_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(MODEL_FILE.read_text())
    data["units"]["features"] = data["units"]["features"][:-1]
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ModelMismatch):
        AnswerModel.load(path)


@pytest.mark.skipif(not wordnet.available(), reason="Debian's wordnet-base is not installed")
def test_wordnet_relates_inflections_synonyms_and_derived_forms() -> None:
    related = wordnet.related("prohibited")
    assert {"prohibit", "forbid", "prohibition"} <= related
    assert "permit" in wordnet.related("allowed")
    assert wordnet.related("qwzxv") == {"qwzxv"}  # unknown words relate to themselves


def test_question_profile_sees_answer_type_negation_and_unseen_terms() -> None:
    idf = {"zorblat": 5.0, "ferri": 1.0, "carri": 1.0}
    df = {"ferri": 3, "carri": 2}
    asked = profile(
        "How many Zorblats did the ferry not carry on route 7B?",
        lambda t: idf.get(t, 1.0),
        lambda t: df.get(t, 0),
    )
    assert asked.answer_type == "number" and asked.negated
    assert asked.unseen > 0.5  # "zorblat" (and the route) are nowhere in the store
    assert asked.specifics == ["zorblats", "7b"]
    known = lambda t: 1  # noqa: E731
    assert profile("When did it open?", known, known).answer_type == "date"
    assert profile("Who signed it?", known, known).answer_type == "name"
    assert profile("Is it free?", known, known).answer_type is None
