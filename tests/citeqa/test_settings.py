from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from citeqa.settings import FLAT_NAMES, Settings, env_name


def test_settings_come_from_citeqa_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "9")
    monkeypatch.setenv("CITEQA_CHROMA_URL", "http://127.0.0.1:8001/")
    monkeypatch.setenv("CITEQA_ANSWER__MAX_SENTENCES", "2")
    settings = Settings()
    assert settings.query.top_k == 9
    assert settings.store.chroma_url == "http://127.0.0.1:8001"
    assert settings.answer.max_sentences == 2


@pytest.mark.parametrize(
    "env",
    [
        {"CITEQA_CHUNK_OVERLAP": "300"},
        {"CITEQA_CHROMA_URL": "127.0.0.1:8000"},
        {"CITEQA_EMBED_MODEL": "word2vec"},
        {"CITEQA_TOP_K": "0"},
        {"CITEQA_COLLECTION_PREFIX": "bad name!"},
    ],
)
def test_unsafe_or_invalid_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError):
        Settings()


def test_sections_are_set_by_sectioned_names_and_the_sectioned_name_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITEQA_LLM__MODEL", "local-model")
    monkeypatch.setenv("CITEQA_STORE__COLLECTION_PREFIX", "second")
    monkeypatch.setenv("CITEQA_COLLECTION_PREFIX", "first")  # the flat name of the same
    monkeypatch.setenv("CITEQA_LOG_QUESTIONS", "true")
    settings = Settings()
    assert settings.llm.model == "local-model"
    assert settings.store.collection_prefix == "second"
    assert settings.logging.questions is True


def test_every_flat_name_still_sets_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "CITEQA_DATA_DIR": ("/tmp/citeqa-flat", ("store", "data_dir")),
        "CITEQA_EMBED_BATCH_SIZE": ("17", ("embedding", "batch_size")),
        "CITEQA_CHUNK_SIZE": ("300", ("ingest", "chunk_size")),
        "CITEQA_MAX_TOP_K": ("40", ("query", "max_top_k")),
        "CITEQA_LLM_TIMEOUT": ("12.5", ("llm", "timeout")),
        "CITEQA_RATE_LIMIT_PER_MINUTE": ("30", ("access", "rate_limit_per_minute")),
        "CITEQA_LOG_FORMAT": ("json", ("logging", "format")),
        "CITEQA_SERVER": ("http://127.0.0.1:9000", ("client", "server")),
    }
    for name, (value, _where) in values.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    for name, (value, (section, field)) in values.items():
        got = getattr(getattr(settings, section), field)
        assert str(got) == value or got == type(got)(value), name
    # every flat name maps to a field that exists
    for flat, (section, field) in FLAT_NAMES.items():
        assert field in type(getattr(settings, section)).model_fields, flat


def test_openai_api_key_is_the_fallback_key_of_the_llm_and_the_embedder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fallback")
    monkeypatch.setenv("CITEQA_EMBED_API_KEY", "sk-embed")
    settings = Settings()
    assert settings.llm.api_key is not None
    assert settings.llm.api_key.get_secret_value() == "sk-fallback"
    assert settings.embedding.api_key is not None
    assert settings.embedding.api_key.get_secret_value() == "sk-embed"
    assert settings.llm_enabled  # a key turns the LLM on under backend=auto


def test_flat_names_in_a_dotenv_file_are_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("CITEQA_TOP_K=4\nCITEQA_LLM__MAX_RETRIES=5\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITEQA_MAX_QUESTION_TOKENS", "99")
    settings = Settings()
    assert (settings.query.top_k, settings.llm.max_retries) == (4, 5)
    assert settings.query.max_question_tokens == 99


def test_keywords_take_flat_names_and_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "9")
    settings = Settings(top_k=3, reader="on", llm={"model": "given"})
    assert (settings.query.top_k, settings.reader, settings.llm.model) == (3, "on", "given")
    copy = settings.replace(data_dir=Path("/tmp/elsewhere"), answer={"verifier": True})
    assert copy.store.data_dir == Path("/tmp/elsewhere") and copy.answer.verifier
    assert (copy.query.top_k, copy.llm.model) == (3, "given")  # the rest kept
    with pytest.raises(ValidationError):
        settings.replace(top_k=0)  # validated like the environment


def test_a_refused_setting_is_named_as_the_environment_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "0")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert env_name(info.value.errors()[0]["loc"]) == "CITEQA_TOP_K"
    assert env_name(("answer", "max_sentences")) == "CITEQA_ANSWER__MAX_SENTENCES"


@pytest.mark.parametrize(
    ("reader", "verifier", "enabled"),
    [
        (None, None, True),  # the default: CITEQA_READER=verify
        ("verify", None, True),
        ("off", None, False),  # the path before the verifier was the default
        ("on", None, False),
        (None, "false", False),
        ("off", "true", True),  # an explicit verifier setting wins
        ("on", "true", True),
    ],
)
def test_the_verifier_follows_the_reader_unless_set(
    monkeypatch: pytest.MonkeyPatch, reader: str | None, verifier: str | None, enabled: bool
) -> None:
    for name, value in (("CITEQA_READER", reader), ("CITEQA_ANSWER__VERIFIER", verifier)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.reader == (reader or "verify")
    assert settings.verifier_enabled is enabled
    assert settings.replace(top_k=3).verifier_enabled is enabled  # a copy keeps it
