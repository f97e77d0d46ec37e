from __future__ import annotations

from ingest.metadata import derive_title, extract_date, extract_front_matter


def test_leading_date_becomes_metadata_and_leaves_the_body() -> None:
    date, body = extract_date(" date 2024-05-30 President Biden, under pressure")
    assert date == "2024-05-30"
    assert body == "President Biden, under pressure"


def test_date_line_with_colon_is_recognised() -> None:
    date, body = extract_date("Date: 2023-01-15\nMinutes of the meeting")
    assert (date, body) == ("2023-01-15", "Minutes of the meeting")


def test_text_without_a_date_is_left_alone() -> None:
    assert extract_date("dates are fruit 2024-05-30") == (None, "dates are fruit 2024-05-30")
    assert extract_date("date 2024-13-45 not a date") == (None, "date 2024-13-45 not a date")


def test_front_matter_fields_are_parsed_and_removed() -> None:
    fields, body = extract_front_matter("---\ntitle: Handbook\ndate: 2025-02-03\n---\n# H\n")
    assert fields == {"title": "Handbook", "date": "2025-02-03"}
    assert body == "# H\n"


def test_title_prefers_hint_then_heading_then_short_first_line_then_file_name() -> None:
    assert derive_title("# Heading\ntext", "Hint", "a.md") == "Hint"
    assert derive_title("intro\n# Heading\ntext", None, "a.md") == "Heading"
    assert derive_title("Short first line\nmore", None, "a.txt") == "Short first line"
    long_line = "word " * 60
    assert derive_title(long_line, None, "us-allows-strikes.txt") == "Us allows strikes"
