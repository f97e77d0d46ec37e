"""The engine gives the answers, citations and abstentions its fingerprints record
(tests/data/answers, written by `python -m tests.answers write`), question by question:
a refactor changes none; a change meant to alter answers rewrites them in its commit.
The real-formatted sets have fingerprints too (tests/data/answers), checked by hand with
`python -m tests.answers check`, not here: a store built again from the same files can
answer a few of their questions from other passages (Chroma's HNSW search is approximate
and its graph differs from build to build), so such a test fails at random.
Another machine's floating point may swap a unit of an answer for its neighbour, so the
check here is `drifts` (abstentions exact, most cited spans kept); `python -m tests.answers
check` on the machine that wrote them is exact."""

from __future__ import annotations

import json

import pytest

from tests.answers import drifts, fingerprints
from tests.conftest import EXAMPLES, REPO, SEED_DIR, require_shared

# these judge answers, which need the real embedding model (not in make test-fast)
pytestmark = pytest.mark.model

SNAPSHOTS = REPO / "tests" / "data" / "answers"
SETS = REPO / "evals" / "sets"


@pytest.mark.parametrize(
    ("name", "shared"), [("examples", False), ("seed", True), ("seed-paraphrase", True)]
)
def test_answers_match_their_fingerprints(name: str, shared: bool) -> None:
    if shared:
        require_shared()
    docs = SEED_DIR if shared else EXAMPLES
    expected = json.loads((SNAPSHOTS / f"{name}.json").read_text())
    assert drifts(expected, fingerprints(SETS / f"{name}.jsonl", docs)) == []
