from __future__ import annotations

from ingest.metadata import derive_title, extract_date, extract_front_matter, humanised_name


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
    assert derive_title("Gzip manual\n===========\nIt packs.", None, "x.txt") == "Gzip manual"
    long_line = "word " * 60
    assert derive_title(long_line, None, "us-allows-strikes.txt") == "Us allows strikes"
    assert derive_title("", None, None) == "Untitled"


def test_a_first_line_that_is_a_sentence_is_never_the_title() -> None:
    readme = "This is the file README for the gzip distribution.\nIt explains..."
    assert derive_title(readme, None, "README.gz") == "README"
    assert derive_title("Dear all:\nthe ferry is late", None, "ferry_notice.txt") == "Ferry notice"
    twelve_plus = "the ferry leaves at nine and the museum opens at ten every day of the week"
    assert derive_title(twelve_plus, None, "changelog.Debian.gz") == "Changelog Debian"
    two = "These are the GNU core utilities.  This package is the union of"
    assert derive_title(two, None, "coreutils/README") == "README (coreutils)"
    record = "adduser (3.130) unstable; urgency=low\n\n  * Fixes."
    assert derive_title(record, None, "doc.tar.gz/adduser/NEWS.Debian") == "NEWS Debian (adduser)"
    # a heading that opens a section of any document names none
    setext = "Introduction\n============\nBash is"
    assert derive_title(setext, None, "bash/README") == "README (bash)"
    assert derive_title("# NAME\n\ntar - an archiver", None, "tar.md") == "Tar"


def test_file_names_are_made_readable() -> None:
    assert humanised_name("gpl-2.txt.gz") == "Gpl 2"
    assert humanised_name("docs.zip/guide/my_notes.v2.md") == "My notes v2"
    assert humanised_name("python3.12.html") == "Python3.12"
    assert humanised_name("bash/README.Debian.gz") == "README Debian (bash)"
    assert humanised_name("README.Debian.gz") == "README Debian"
