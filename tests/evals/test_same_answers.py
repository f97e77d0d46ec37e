"""The engine gives the answers, citations and abstentions its fingerprints record
(tests/data/answers, written by `python -m tests.answers write`), question by question:
a refactor changes none; a change meant to alter answers rewrites them in its commit.
The real-formatted sets' documents are built from the machine's own files
(evals/corpora.py); they are compared where those build to the bytes the fingerprints
were written over. Their stores are built anew each time, in a new folder: ranking ties
go by place in the documents, not by chunk id (an id hashes the source path), and at the
default HNSW width (CITEQA_STORE__EF_SEARCH, 256) the search finds the same candidates
every build; before both, a store built again could answer a question or two from other
passages.
Another machine's floating point may swap a unit of an answer for its neighbour, so the
check here is `drifts` (abstentions exact, most cited spans kept); `python -m tests.answers
check` on the machine that wrote them is exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.corpora import CorpusError, build
from tests.answers import corpus_digest, drifts, fingerprints, recorded_digests
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


@pytest.mark.slow
@pytest.mark.parametrize("name", ["licences", "sysdocs", "markdown", "pdfs"])
def test_real_formatted_sets_match_their_fingerprints(name: str, tmp_path: Path) -> None:
    try:
        docs = build(name, tmp_path / name)
    except CorpusError as exc:
        pytest.skip(f"the {name} corpus cannot be built here: {exc}")
    written_over = recorded_digests(SNAPSHOTS / f"{name}.json")[name]
    if corpus_digest(docs) != written_over:
        pytest.skip(f"this machine's files build another {name} corpus than the fingerprints'")
    expected = json.loads((SNAPSHOTS / f"{name}.json").read_text())
    assert drifts(expected, fingerprints(SETS / f"{name}.jsonl", docs)) == []
