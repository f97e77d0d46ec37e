"""`python -m benchmarks.html_text` scores what it should: on a real Sphinx page, the
page's whole visible text keeps all its chrome and loses no content, and citeqa's reader
keeps next to no chrome and the page's structure."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import html_text
from ingest.readers.html import load_html

POLICY = Path("/usr/share/doc/python3/python-policy.html")


def test_the_scores_tell_a_whole_page_from_its_content() -> None:
    if not POLICY.exists():
        pytest.skip("needs Debian's python3-dev (make html-docs installs it)")
    (sphinx,) = [f for f in html_text.FAMILIES if f.name == "sphinx"]
    data = POLICY.read_bytes()
    ref = html_text.reference(data, sphinx)
    assert ref is not None and ref.chrome and ref.headings and ref.items

    whole, reader = html_text.Score(), html_text.Score()
    body = html_text._parse(data).find("body")
    whole.add(ref, body.text_content())
    reader.add(ref, load_html(data)[0])
    assert whole.row()["chrome_kept"] > 0.9 and whole.row()["content_lost"] == 0.0
    assert whole.row()["pilcrows"] > 0
    assert reader.row()["chrome_kept"] < 0.05 and reader.row()["content_lost"] < 0.01
    assert reader.row()["pilcrows"] == 0
    # bare text has no Markdown marks: no heading or item is found in it
    assert whole.row()["structure_by_kind"]["headings"] == 0.0
    assert reader.row()["structure"] > 0.95
