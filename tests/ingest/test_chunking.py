from __future__ import annotations

import os
from pathlib import Path

from ingest.chunking import chunk_spans, count_tokens
from tests.conftest import SEED_FILE, SHARED, require_shared


def test_tiktoken_uses_the_bundled_cache_offline() -> None:
    cache = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    assert cache.is_dir() and any(cache.iterdir())
    assert count_tokens("hello world") == 2


def test_every_chunk_is_the_exact_slice_at_its_offsets_and_within_budget() -> None:
    require_shared()
    files = [
        SEED_FILE,
        *sorted((SHARED / "evalsets" / "realtimeqa_cnn_2022" / "docs").glob("*.txt"))[:25],
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        spans = chunk_spans(text, 256, 32)
        assert spans, path.name
        for span in spans:
            assert 0 <= span.start < span.end <= len(text)
            assert count_tokens(text[span.start : span.end]) <= 256
        # together the chunks cover every word of the text
        covered = set()
        for span in spans:
            covered.update(range(span.start, span.end))
        assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_smaller_chunks_overlap_and_advance() -> None:
    text = " ".join(f"Sentence number {i} talks about topic {i % 7}." for i in range(200))
    spans = chunk_spans(text, 64, 16)
    assert len(spans) > 5
    assert all(b.start > a.start for a, b in zip(spans, spans[1:], strict=False))
    assert any(b.start < a.end for a, b in zip(spans, spans[1:], strict=False))


def test_empty_text_has_no_chunks() -> None:
    assert chunk_spans("   \n ", 256, 32) == []
