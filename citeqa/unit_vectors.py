"""Unit vectors stored with each chunk, so a query scores its units (sentences, list
items, headings, rows, lines: citeqa.segment) without running the embedding model on
them.

At ingest the local embedder pools one vector per unit of a chunk from the token states
of the chunk's own forward pass (the mean of the unit's word pieces), so they cost no
extra model call; a unit past the model's 256-piece window is embedded on its own. They
are stored in the chunk's Chroma metadata as two strings (named when every unit was a
sentence; the names stay, stores depend on them):

- `sent_spans`: the units' character spans relative to the chunk, "start:end,..."
  with the unit's kind letter;
- `sent_vecs`: per unit, a float32 scale and 384 int8 values (symmetric quantisation,
  cosine error under 0.005), base64.

A chunk without them (embedded by the OpenAI embedder, or stored before they existed)
is scored the old way: its units are embedded at query time.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeqa.segment import SENTENCE, UNIT_CODES, UNIT_KINDS

SPANS_KEY = "sent_spans"
VECTORS_KEY = "sent_vecs"


@dataclass(frozen=True)
class UnitVectors:
    spans: list[tuple[int, int]]  # character offsets relative to the chunk text
    vectors: np.ndarray  # (len(spans), dimension), float32, about unit length
    kinds: list[str] | None = None  # unit kinds (citeqa.segment); None: all sentences

    def kind(self, index: int) -> str:
        return self.kinds[index] if self.kinds is not None else SENTENCE


def pack(
    spans: Sequence[tuple[int, int]], vectors: np.ndarray, kinds: Sequence[str] | None = None
) -> dict[str, str]:
    """The two metadata strings for a chunk's units ("start:end:k", k the unit kind's
    letter; format-1 stores have "start:end", all sentences)."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(spans), -1)
    scale = np.abs(vectors).max(axis=1, keepdims=True) / 127.0
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    quantised = np.rint(vectors / scale).astype(np.int8)
    rows = [s.tobytes() + q.tobytes() for s, q in zip(scale, quantised, strict=True)]
    return {
        SPANS_KEY: ",".join(
            f"{start}:{end}" + (f":{UNIT_CODES[kind]}" if kinds else "")
            for (start, end), kind in zip(spans, kinds or [SENTENCE] * len(spans), strict=True)
        ),
        VECTORS_KEY: base64.b64encode(b"".join(rows)).decode("ascii"),
    }


@dataclass(frozen=True)
class Packed:
    """A chunk's two stored strings, decoded only when the chunk is actually scored (a
    query reads about four times more chunks than it answers from)."""

    spans_text: str
    vectors_text: str
    dimension: int
    text_length: int

    @classmethod
    def pop_from(cls, meta: dict[str, Any], dimension: int, text_length: int) -> Packed | None:
        spans_text, vectors_text = meta.pop(SPANS_KEY, None), meta.pop(VECTORS_KEY, None)
        if not isinstance(spans_text, str) or not isinstance(vectors_text, str):
            return None
        return cls(spans_text, vectors_text, dimension, text_length)

    def decode(self) -> UnitVectors | None:
        """The vectors; None when the strings do not fit together, the store's dimension
        or the chunk's text (then the sentences are embedded at query time)."""
        if not self.spans_text:
            return None
        try:
            fields = [item.split(":") for item in self.spans_text.split(",")]
            spans = [(int(f[0]), int(f[1])) for f in fields]
            kinds = [UNIT_KINDS[f[2]] for f in fields] if len(fields[0]) == 3 else None
            raw = np.frombuffer(base64.b64decode(self.vectors_text), dtype=np.int8)
        except (ValueError, IndexError, KeyError):
            return None
        if raw.size != len(spans) * (4 + self.dimension):
            return None
        if not all(0 <= start < end <= self.text_length for start, end in spans):
            return None
        rows = raw.reshape(len(spans), 4 + self.dimension)
        scale = rows[:, :4].copy().view(np.float32)
        return UnitVectors(spans, rows[:, 4:].astype(np.float32) * scale, kinds)
