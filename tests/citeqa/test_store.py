from __future__ import annotations

import pytest

from citeqa.components.store import ChromaStore
from citeqa.engine import Engine
from citeqa.errors import EmbedderMismatch
from citeqa.settings import Settings


def test_opening_a_store_with_another_embedder_is_a_clear_error(
    engine: Engine, settings: Settings
) -> None:
    with pytest.raises(EmbedderMismatch, match="all-MiniLM-L6-v2"):
        ChromaStore(settings, "openai:text-embedding-3-small", 1536)


def test_collection_prefix_separates_stores(engine: Engine, settings: Settings) -> None:
    other = ChromaStore(settings.model_copy(update={"collection_prefix": "other"}), "x", 3)
    assert other.count_chunks() == 0
