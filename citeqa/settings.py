"""All configuration, read from `CITEQA_*` environment variables (and `.env`).

One class, built once by whoever starts citeqa (CLI, API factory, eval runner) and passed
down; nothing reads the environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnswerSettings(BaseModel):
    """Tunables of the offline extractive answerer (calibrated with `citeqa eval --calibrate`)."""

    # Defaults from `citeqa calibrate` over the seed, examples, squad2-sample and
    # realtimeqa-cnn sets: the best mean per-set decision accuracy, 0.663 (README).
    min_support: float = Field(
        0.45,
        ge=0.0,
        le=1.0,
        description="Abstain when no sentence's support score reaches this value.",
    )
    max_sentences: int = Field(3, ge=1, le=10, description="Most sentences in an answer.")
    relative_cutoff: float = Field(
        0.75,
        ge=0.0,
        le=1.0,
        description="A further sentence joins the answer when its support is at least this "
        "fraction of the best sentence's support.",
    )
    dense_weight: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="Weight of embedding similarity against question-term coverage in a "
        "sentence's support score.",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITEQA_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

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
    embed_model: str = Field(
        "local:all-MiniLM-L6-v2",
        description="Embedding model: 'local:all-MiniLM-L6-v2' (offline, shipped in a PyPI "
        "package) or 'openai:<model>' such as 'openai:text-embedding-3-small'.",
    )
    embed_batch_size: int = Field(64, ge=1, le=2048, description="Texts per embedding call.")
    embed_base_url: str | None = Field(
        None, description="OpenAI-compatible base URL for 'openai:' embeddings."
    )
    embed_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("CITEQA_EMBED_API_KEY", "OPENAI_API_KEY"),
        description="API key for 'openai:' embeddings (falls back to OPENAI_API_KEY).",
    )
    chunk_size: int = Field(256, ge=32, le=4096, description="Chunk size in cl100k tokens.")
    chunk_overlap: int = Field(32, ge=0, le=1024, description="Chunk overlap in cl100k tokens.")
    top_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question by default.")
    max_top_k: int = Field(50, ge=1, le=200, description="Largest top_k a request may ask for.")
    max_question_tokens: int = Field(
        256, ge=8, le=8192, description="Longest question accepted, in cl100k tokens."
    )
    max_document_bytes: int = Field(
        20 * 1024 * 1024, ge=1024, description="Largest document accepted for ingest, in bytes."
    )
    answer: AnswerSettings = Field(
        default_factory=lambda: AnswerSettings(), description="Extractive answer tunables."
    )

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("CITEQA_CHROMA_URL must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_chunking(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("CITEQA_CHUNK_OVERLAP must be smaller than CITEQA_CHUNK_SIZE")
        if self.top_k > self.max_top_k:
            raise ValueError("CITEQA_TOP_K must not exceed CITEQA_MAX_TOP_K")
        if not (self.embed_model.startswith("local:") or self.embed_model.startswith("openai:")):
            raise ValueError("CITEQA_EMBED_MODEL must start with 'local:' or 'openai:'")
        return self
