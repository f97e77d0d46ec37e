"""The verifier's model: a patch of the bundled cross-encoder's graph, built once into the
model cache and read like any reader model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from citeqa.answering.model import MODEL_FILE, AnswerModel
from citeqa.components.embedder import Embedder
from citeqa.components.reader import CrossEncoderReader, bundled_dir
from citeqa.components.verifier import PATCH_FILE, built, card, patched
from citeqa.errors import ConfigurationError
from citeqa.settings import Settings
from ingest.engine import Engine
from tests.conftest import SEED_DIR, require_shared

QUESTION = "When does the ferry to Gull Island leave?"
TEXTS = ["The ferry to Gull Island leaves at nine every morning.", "Bikes are lent for a week."]


def _bias() -> np.ndarray:
    graph = onnx.load(str(bundled_dir() / "model.onnx"))
    found = next(i for i in graph.graph.initializer if i.name == "classifier.bias")
    return numpy_helper.to_array(found)


def test_a_patch_is_built_once_into_the_cache_and_read_like_any_model(tmp_path: Path) -> None:
    patch = tmp_path / "patch.npz"
    np.savez_compressed(patch, **{"classifier.bias": _bias() + np.float32(2.0)})
    folder = built(patch, cache=tmp_path / "cache")
    assert sorted(p.name for p in folder.iterdir()) == ["model.onnx", "tokenizer.json"]
    made = (folder / "model.onnx").stat().st_mtime_ns
    assert built(patch, cache=tmp_path / "cache") == folder
    assert (folder / "model.onnx").stat().st_mtime_ns == made
    shifted = CrossEncoderReader(str(folder)).score(QUESTION, TEXTS)
    bundled = CrossEncoderReader().score(QUESTION, TEXTS)
    assert np.allclose(shifted - bundled, 2.0, atol=1e-3), (shifted, bundled)


def test_a_patch_that_does_not_fit_the_bundled_graph_is_refused(tmp_path: Path) -> None:
    graph = onnx.load(str(bundled_dir() / "model.onnx"))
    with pytest.raises(ConfigurationError, match="not in the bundled graph"):
        patched(graph, {"no.such.weight": np.zeros(3, np.float32)})
    with pytest.raises(ConfigurationError, match="does not fit"):
        patched(graph, {"classifier.bias": np.zeros(2, np.float32)})
    with pytest.raises(ConfigurationError, match="no verifier patch"):
        built(tmp_path / "missing.npz", cache=tmp_path)


def test_the_shipped_verifier_says_how_it_was_made() -> None:
    shipped = card()
    assert PATCH_FILE.is_file()
    assert {"name", "threshold", "units", "groups", "made_by"} <= set(shipped)
    # made from the project's own gold sets only, never the public samples it is measured on
    assert not {"squad2", "realtimeqa"} & set(shipped["groups"])
    # the joint gate: fitted on the same groups, for the answer model that ships
    joint = shipped["joint"]
    assert not {"squad2", "realtimeqa"} & set(joint["groups"])
    assert joint["answer_model"] == AnswerModel.load(MODEL_FILE).version
    assert joint["model"]["features"] == ["confidence_logit", "verification"]


NEAR_MISS = "How many ATACMS missiles has the United States delivered to Ukraine?"
ANSWERED = "Is the ban on ATACMS strikes inside Russia still in place?"
ATACMS_SENTENCE = "ATACMS systems or long-range strikes"


def _verifying(settings: Settings, **answer: object) -> Settings:
    return settings.replace(answer={"verifier": True, **answer})


@pytest.mark.model
def test_the_joint_gate_stops_a_near_miss_the_answer_model_would_give(
    settings: Settings, embedder: Embedder
) -> None:
    """With CITEQA_ANSWER__VERIFIER=true the shipped verifier decides with the joint gate
    fitted for the shipped answer model: a near-miss over the seed article that the
    answer model alone answers abstains, and its confidence is the joint probability,
    under the gate's threshold; a question the article answers is answered. (The seed
    article is among the sets the verifier and the gate were fitted on: this checks the
    mechanism; the held-out figures are in the README.)"""
    from ingest.pipeline import sources_from_paths

    require_shared()
    alone = Engine(settings.replace(reader="off"), embedder=embedder)
    alone.documents.ingest(sources_from_paths([SEED_DIR]))
    assert not alone.query.ask(NEAR_MISS).abstained

    engine = Engine(_verifying(settings), embedder=embedder)
    joint = engine.query.answerer.joint
    assert joint is not None and engine.query.answerer.threshold == card()["joint"]["threshold"]
    near_miss = engine.query.ask(NEAR_MISS)
    assert near_miss.abstained and near_miss.citations == []
    assert near_miss.confidence is not None and near_miss.confidence < joint.threshold
    assert near_miss.verification is not None

    answered = engine.query.ask(ANSWERED)
    assert not answered.abstained
    assert answered.confidence is not None and answered.confidence >= joint.threshold
    assert any(ATACMS_SENTENCE in c.quote for c in answered.citations)


@pytest.mark.model
def test_a_verifier_threshold_of_your_own_makes_it_a_second_gate(
    settings: Settings, embedder: Embedder
) -> None:
    """With CITEQA_ANSWER__VERIFIER_THRESHOLD set there is no joint gate: the answer
    model's confidence must pass its threshold and the verifier's best logit this one."""
    from ingest.pipeline import sources_from_paths

    require_shared()
    threshold = float(card()["threshold"])
    engine = Engine(_verifying(settings, verifier_threshold=threshold), embedder=embedder)
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    verification = engine.query.answerer.verification
    assert verification is not None and verification.joint is None
    assert engine.query.answerer.threshold == engine.query.answerer.model_threshold

    near_miss = engine.query.ask(NEAR_MISS)
    assert near_miss.abstained and near_miss.citations == []
    assert (
        near_miss.confidence is not None and near_miss.confidence >= engine.query.answerer.threshold
    )
    assert near_miss.verification is not None and near_miss.verification < threshold

    answered = engine.query.ask(ANSWERED)
    assert not answered.abstained
    assert answered.verification is not None and answered.verification >= threshold
    assert any(ATACMS_SENTENCE in c.quote for c in answered.citations)
