from __future__ import annotations

import pytest

from citeqa.quotes import find_quote

PASSAGE = (
    "US officials said Biden\u2019s permission was only for Ukraine to strike military sites.\n"
    "Russia\u2019s attacks in other areas \u2013 even near the capital, Kiev \u2013 cannot be "
    "responded to using American weapons."
)


def span_text(quote: str) -> str | None:
    span = find_quote(PASSAGE, quote)
    return None if span is None else PASSAGE[span[0] : span[1]]


def test_exact_quote_is_found_and_the_span_is_the_passage_text() -> None:
    quote = "only for Ukraine to strike military sites"
    assert span_text(quote) == quote


def test_whitespace_and_typography_are_forgiven_but_the_span_quotes_the_document() -> None:
    got = span_text("military sites. Russia's attacks in other areas - even near")
    assert got == "military sites.\nRussia\u2019s attacks in other areas \u2013 even near"


def test_wrapping_quotes_and_added_trailing_period_are_forgiven() -> None:
    assert span_text('"only for Ukraine to strike."') == "only for Ukraine to strike"


def test_elided_quote_spans_from_first_to_last_piece_in_order() -> None:
    got = span_text("Russia's attacks ... cannot be responded to")
    assert got is not None
    assert got.startswith("Russia\u2019s attacks") and got.endswith("cannot be responded to")
    assert span_text("cannot be responded to ... Russia's attacks") is None  # out of order


@pytest.mark.parametrize(
    "quote",
    [
        "only for Ukraine to strike civilian sites",  # a changed word
        "ONLY FOR UKRAINE TO STRIKE",  # case differs
        "permission was for Ukraine",  # a dropped word
        "the",  # too short to support anything
        "...",
        "",
    ],
)
def test_anything_else_is_not_found(quote: str) -> None:
    assert find_quote(PASSAGE, quote) is None


def test_a_quote_of_words_hyphenated_at_a_pdf_line_end_is_found_verbatim() -> None:
    passage = (
        "Options go before the archive name, and the appli-\ncation protocol is chosen\nlater."
    )
    span = find_quote(passage, "the application protocol is chosen later")
    assert span is not None
    assert passage[span[0] : span[1]] == "the appli-\ncation protocol is chosen\nlater"


@pytest.mark.parametrize("dash", list("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"))
def test_a_quote_typed_with_a_hyphen_minus_finds_any_dash_of_the_text(dash: str) -> None:
    passage = f"Run tar {dash}{dash}create with the archive name first."
    found = find_quote(passage, "Run tar --create with the archive name")
    assert found is not None
    assert passage[found[0] : found[1]] == f"Run tar {dash}{dash}create with the archive name"
