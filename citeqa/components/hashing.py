"""A deterministic stand-in for the embedding model: each text's words hashed (crc32) into
384 signed buckets, normalised. For what must not wait for the neural model: the scale
benchmark's stores of a million chunks, and the fast test tier (`make test-fast`). Never
a setting: a store embedded with it answers by shared words only."""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

_WORD = re.compile(r"\w+")
DIMENSION = 384


class HashEmbedder:
    """A stand-in for MiniLM: each text's words hashed (crc32) into 384 signed buckets,
    normalised. Deterministic in every process, about a hundred times faster than the
    model, and of the same dimension, so stores and vectors have their real sizes."""

    name = "bench:hash-384"
    dimension = DIMENSION

    def __init__(self) -> None:
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(DIMENSION, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            code = zlib.crc32(word.encode())
            vector[code % DIMENSION] += 1.0 if code & 0x10000 else -1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._vector(t).tolist() for t in texts]

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        self.calls += 1
        units = [
            np.vstack([self._vector(text[a:b]) for a, b in per_text]) if per_text else None
            for text, per_text in zip(texts, spans, strict=True)
        ]
        return [self._vector(t).tolist() for t in texts], units

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text).tolist()
