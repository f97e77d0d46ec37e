"""Sentence vectors pooled at ingest and stored with each chunk (citeqa.unit_vectors)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from citeqa.components.embedder import LocalMiniLMEmbedder
from citeqa.components.store import _chunk_from
from citeqa.segment import unit_spans
from citeqa.settings import Settings
from citeqa.unit_vectors import SPANS_KEY, VECTORS_KEY, Packed, UnitVectors, pack
from ingest.engine import Engine
from ingest.pipeline import sources_from_paths
from tests.conftest import SEED_DIR, CountingEmbedder, assert_citations_verify, require_shared

FERRY = (
    "The harbour ferry leaves at seven. It stops at the island pier. "
    "Winter timetables start in November."
)


def unpack(meta: dict[str, str], dimension: int) -> UnitVectors | None:
    packed = Packed.pop_from(meta, dimension, text_length=10_000)
    return packed.decode() if packed is not None else None


def _spans(text: str) -> list[tuple[int, int]]:
    return unit_spans(text)


def test_packed_vectors_keep_their_spans_and_direction() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(5, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    spans = [(0, 10), (11, 40), (41, 42), (43, 90), (91, 300)]
    meta = {"title": "t", **pack(spans, vectors)}
    got = unpack(meta, 384)
    assert got is not None
    assert got.spans == spans
    cosine = (got.vectors * vectors).sum(axis=1) / np.linalg.norm(got.vectors, axis=1)
    assert float(cosine.min()) > 0.999
    assert meta == {"title": "t"}  # the two strings never reach chunk metadata


def test_damaged_sentence_metadata_is_ignored_not_trusted() -> None:
    good = pack([(0, 5), (6, 12)], np.ones((2, 384), dtype=np.float32))
    assert unpack({SPANS_KEY: "0:5", VECTORS_KEY: good[VECTORS_KEY]}, 384) is None  # 1 span
    assert unpack({SPANS_KEY: "0:x", VECTORS_KEY: good[VECTORS_KEY]}, 384) is None
    assert unpack({SPANS_KEY: good[SPANS_KEY], VECTORS_KEY: "%%%"}, 384) is None
    assert unpack(dict(good), 1536) is None  # another embedder's dimension
    assert unpack({}, 384) is None
    # spans outside the chunk text: the chunk is scored as if it had no stored vectors
    chunk = _chunk_from("c1", "short", {"doc_id": "d", "start": 0, "end": 5, **good}, 384)
    assert chunk.unit_vectors(keep=True) is None and chunk.metadata == {}
    fits = _chunk_from("c2", "short text!!", {"doc_id": "d", "start": 0, "end": 12, **good}, 384)
    got = fits.unit_vectors(keep=True)
    assert got is not None and got.spans == [(0, 5), (6, 12)]


def test_sentence_vectors_agree_across_runtimes_and_past_the_window() -> None:
    onnx = LocalMiniLMEmbedder(runtime="onnx")
    torch = LocalMiniLMEmbedder(runtime="torch")
    long_text = " ".join(f"Pier {i} opens at dawn." for i in range(80))  # > 256 pieces
    texts = [FERRY, long_text]
    spans = [_spans(t) for t in texts]
    vectors_a, sentences_a = onnx.embed_chunks(texts, spans)
    vectors_b, sentences_b = torch.embed_chunks(texts, spans)
    # the chunk vectors are exactly what embed_documents gives
    plain = np.asarray(onnx.embed_documents(texts))
    assert float((np.asarray(vectors_a) * plain).sum(axis=1).min()) > 0.99999
    assert float((np.asarray(vectors_b) * plain).sum(axis=1).min()) > 0.99999
    for a, b, text_spans in zip(sentences_a, sentences_b, spans, strict=True):
        assert a is not None and b is not None
        assert a.shape == b.shape == (len(text_spans), 384)
        assert float((a * b).sum(axis=1).min()) > 0.9999
    # a sentence the 256-piece window never saw is embedded on its own
    last_start, last_end = spans[1][-1]
    alone = np.asarray(onnx.embed_documents([long_text[last_start:last_end]])[0])
    assert sentences_a[1] is not None
    assert float(sentences_a[1][-1] @ alone) > 0.99999
    # a sentence inside the window is pooled in context: close to, not equal to, alone
    first = np.asarray(onnx.embed_documents([FERRY[spans[0][0][0] : spans[0][0][1]]])[0])
    assert sentences_a[0] is not None
    assert 0.5 < float(sentences_a[0][0] @ first) < 0.99999


def test_a_query_embeds_only_the_question(seed_engine: Engine, embedder: CountingEmbedder) -> None:
    calls, texts = embedder.calls, embedder.texts
    for question in (
        "Is the use of ATACMS inside Russia still prohibited?",
        "Can Russian attacks near Kiev be answered with American weapons?",
        "Who is the mayor of Kharkiv?",
    ):
        answer = seed_engine.query.ask(question)
        assert_citations_verify(seed_engine, answer)
    assert (embedder.calls, embedder.texts) == (calls, texts)
    assert embedder.queries >= 3


class _NoUnitVectors(CountingEmbedder):
    """An embedder that, like the OpenAI one, stores no unit vectors."""

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        return self.embed_documents(texts), [None] * len(texts)


def test_chunks_without_stored_vectors_are_scored_at_query_time(
    data_dir: Path, minilm: LocalMiniLMEmbedder
) -> None:
    require_shared()
    embedder = _NoUnitVectors(minilm)
    engine = Engine(Settings(data_dir=data_dir), embedder=embedder)
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    assert all(c.unit_vectors(keep=True) is None for c in engine.components.store.chunks.iterate())
    calls = embedder.calls
    answer = engine.query.ask("Is the use of ATACMS inside Russia still prohibited?")
    assert not answer.abstained
    assert any("ATACMS" in c.quote for c in answer.citations)
    assert_citations_verify(engine, answer)
    assert embedder.calls > calls  # its sentences were embedded for this question
