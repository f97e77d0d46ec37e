from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from citeqa.components.store import ChromaStore
from citeqa.errors import EmbedderMismatch
from citeqa.settings import Settings
from ingest.engine import Engine


@pytest.mark.model  # names the real model
def test_opening_a_store_with_another_embedder_is_a_clear_error(
    engine: Engine, settings: Settings
) -> None:
    with pytest.raises(EmbedderMismatch, match="all-MiniLM-L6-v2"):
        ChromaStore(settings, "openai:text-embedding-3-small", 1536)


def test_collection_prefix_separates_stores(engine: Engine, settings: Settings) -> None:
    other = ChromaStore(settings.replace(collection_prefix="other"), "x", 3)
    assert other.chunks.count() == 0


def test_completing_a_record_rewrites_its_metadata_and_keeps_its_text(engine: Engine) -> None:
    from citeqa.domain import DocumentRecord

    record = DocumentRecord(
        doc_id="memo",
        title="Memo",
        source="memo.txt",
        content_hash="h1",
        status="pending",
        n_chunks=2,
        text="The memo text, stored once.",
        extra={"team": "ops"},
    )
    engine.components.store.documents.put([record])
    done = DocumentRecord(**{**record.__dict__, "status": "complete", "text": None})
    done.ingested_at = "2026-11-25T12:00:00+00:00"
    engine.components.store.documents.update_metadata([done])
    stored = engine.components.store.documents.get("memo")
    assert stored is not None
    assert stored.text == "The memo text, stored once."
    assert (stored.status, stored.ingested_at, stored.extra) == (
        "complete",
        "2026-11-25T12:00:00+00:00",
        {"team": "ops"},
    )


# One process's view of a store of random unit vectors (no model: the search is what is
# measured): the HNSW width it searches with, and the share of the exact 24 nearest that
# the store's search finds, over 30 random queries.
SEARCH_PROBE = """
import json, sys
import numpy as np
from citeqa.components.store import ChromaStore
from citeqa.settings import Settings

store = ChromaStore(
    Settings(data_dir=sys.argv[1]).replace(store={"ef_search": int(sys.argv[2])}), "probe", 32
)
chunks = store.collection("chunks")
rng = np.random.default_rng(7)
vectors = rng.normal(size=(4000, 32)).astype("float32")
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
if chunks.count() == 0:
    for i in range(0, len(vectors), 1000):
        ids = [str(j) for j in range(i, i + 1000)]
        chunks.add(ids=ids, embeddings=vectors[i : i + 1000])
found = 0.0
for query in rng.normal(size=(30, 32)).astype("float32"):
    exact = set(np.argsort(-(vectors @ query))[:24].tolist())
    got = store.chunks.nearest_ids(query.tolist(), 24, None)
    found += len(exact & {int(cid) for cid, _ in got}) / 24 / 30
width = chunks.configuration["hnsw"]["ef_search"]
print(json.dumps({"ef_search": width, "recall": found}))
"""


def _search_probe(data_dir: Path, ef_search: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", SEARCH_PROBE, str(data_dir), str(ef_search)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_the_search_width_is_the_setting_whatever_the_store_was_made_with(
    tmp_path: Path,
) -> None:
    """A store made narrow misses some of the nearest chunks; opened again with the
    default width (a new process, as a restarted server), it is changed to it and finds
    all of them."""
    narrow = _search_probe(tmp_path, 10)
    default = Settings().store.ef_search
    wide = _search_probe(tmp_path, default)
    assert narrow["ef_search"] == 10 and wide["ef_search"] == default
    assert narrow["recall"] < 0.95
    assert wide["recall"] >= 0.99
