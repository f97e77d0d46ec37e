from __future__ import annotations

import pytest
from pydantic import ValidationError

from citeqa.settings import Settings


def test_settings_come_from_citeqa_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEQA_TOP_K", "9")
    monkeypatch.setenv("CITEQA_CHROMA_URL", "http://127.0.0.1:8001/")
    monkeypatch.setenv("CITEQA_ANSWER__MAX_SENTENCES", "2")
    settings = Settings()
    assert settings.top_k == 9
    assert settings.chroma_url == "http://127.0.0.1:8001"
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
