from __future__ import annotations

import pytest

from citeqa.text import terms


def test_terms_are_stemmed_and_free_of_question_words() -> None:
    assert terms("What remains prohibited?") == ["remain", "prohibit"]
    assert terms("Who is the mayor of Kharkiv?") == ["mayor", "kharkiv"]
    assert terms("prohibiting the strikes") == ["prohibit", "strike"]


def test_question_terms_drop_the_degree_word_of_how_questions() -> None:
    from citeqa.text import question_terms

    assert question_terms("How often is the filter replaced?") == ["filter", "replac"]
    assert question_terms("How far can the missile reach?") == ["missil", "reach"]
    assert question_terms("Which long-range missiles?") == ["long", "rang", "missil"]


# the hyphen-minus's typographic kin: hyphen, non-breaking hyphen, figure dash, en and em
# dash, horizontal bar, minus sign, small and full-width hyphen-minus
DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"


@pytest.mark.parametrize("dash", list(DASHES))
def test_typographic_dashes_read_as_the_hyphen_minus(dash: str) -> None:
    from citeqa.text import key_words, question_terms

    plain = "tar --file ARCHIVE: a file-based, read-only archive of 2-3 GiB"
    typeset = plain.replace("-", dash)
    assert typeset != plain
    assert (
        terms(typeset)
        == terms(plain)
        == ["tar", "file", "archiv", "file", "base", "read", "archiv", "2", "3", "gib"]
    )
    assert question_terms(f"What is {typeset}?") == question_terms(f"What is {plain}?")
    assert key_words(typeset) == key_words(plain)


def test_cached_stems_equal_fresh_stemming_also_when_the_cache_is_emptied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import Stemmer

    from citeqa import text as text_module

    stemmer = Stemmer.Stemmer("english")
    sample = (
        "The ferries didn't run; ferrying resumed when the harbour's cranes were repaired. "
        "Running, runs, ran: relational relations relate. Ukraine’s officials weren't told."
    )
    words = [w for w in text_module.words(sample) if w and w not in text_module.STOP_WORDS]
    expected = list(stemmer.stemWords(words))
    text_module.STEM_CACHE.clear()
    monkeypatch.setattr(text_module.STEM_CACHE, "limit", 5)  # forces clears mid-way
    for _ in range(3):  # cold, then from the cache
        assert terms(sample) == expected
    assert 0 < len(text_module.STEM_CACHE) <= len(set(words))
    assert "ferri" in expected and "ukrain" in expected and "didn" not in expected
