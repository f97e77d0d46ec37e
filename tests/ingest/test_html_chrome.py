"""Real Sphinx pages (Debian's documentation packages, read where they are installed) are
stored without their chrome: no "¶" permalink, no navigation, breadcrumb, sidebar or
footer text, while headings, list items and code keep their structure; answers over
them cite no chrome.

What is chrome and what is content is read from each page's own markup with lxml, as
Sphinx marks it (`role="main"` holds the content; `role="navigation"`, the "related" bar,
the sidebar, the search box and the footer are around it), not from citeqa's rules."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from lxml import html as lxml_html

from citeqa.segment import HEADING, ITEM, Structure, display_text, segment
from ingest.loaders import load_bytes

DOC = Path("/usr/share/doc")
# page name -> (glob under /usr/share/doc, the Debian package that ships it; Makefile html-docs)
PAGES = {
    "python-policy.html": ("python3/python-policy.html", "python3-dev"),
    "json.html": ("python3.*/html/library/json.html", "python3-doc"),
    "controlflow.html": ("python3.*/html/tutorial/controlflow.html", "python3-doc"),
    "quickstart.html": ("python-requests-doc/html/user/quickstart.html", "python-requests-doc"),
}
_CHROME = (
    "//*[@role='navigation'] | //*[@role='search'] | //div[@class='footer']"
    " | //div[contains(concat(' ', normalize-space(@class), ' '), ' related ')]"
    " | //div[contains(concat(' ', normalize-space(@class), ' '), ' sphinxsidebar ')]"
)
_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "a", "dt", "td", "th", "caption")
_MARKER = re.compile(r"^(?:#{1,6}|-|\d{1,3}\.)\s+")


def _path(name: str) -> Path:
    pattern, package = PAGES[name]
    found = sorted(DOC.glob(pattern))
    if not found:
        pytest.skip(f"needs Debian's {package} (make html-docs installs it)")
    return found[-1]


def _norm(text: str) -> str:
    return " ".join(text.replace("¶", "").split())


@dataclass
class Page:
    main: object  # the lxml element Sphinx marks role="main"
    chrome_only: set[str]  # chrome blocks' texts that no block of the content has
    main_text: str


@cache
def _page(path: Path) -> Page:
    root = lxml_html.fromstring(path.read_bytes())
    for bad in root.xpath("//script | //style"):
        bad.drop_tree()
    (main,) = root.xpath("//div[@role='main']")
    chrome = {_norm(e.text_content()) for part in root.xpath(_CHROME) for e in part.iter(_BLOCKS)}
    chrome |= {_norm(part.text_content()) for part in root.xpath(_CHROME)}
    content = {_norm(e.text_content()) for e in main.iter(_BLOCKS)}
    return Page(main, {c for c in chrome - content if c}, _norm(" ".join(main.itertext())))


def _unit_texts(structure: Structure, text: str) -> list[str]:
    return [_MARKER.sub("", display_text(text[u.start : u.end])) for u in structure.units]


def _leaked(page: Page, text: str) -> list[str]:
    """Chrome found in text: a unit that is a chrome block, or a chrome block of four
    words or more inside it (and not inside the content)."""
    units = set(_unit_texts(segment(text, "html"), text))
    flat = _norm(text)
    return sorted(
        line
        for line in page.chrome_only
        if line in units or (len(line.split()) >= 4 and line in flat and line not in page.main_text)
    )


@pytest.mark.parametrize("name", sorted(PAGES))
def test_sphinx_page_is_stored_without_permalinks_navigation_sidebar_or_footer(
    name: str,
) -> None:
    path = _path(name)
    page = _page(path)
    doc = load_bytes(path.read_bytes(), name)
    assert page.chrome_only  # the page has chrome to leave out
    assert "¶" not in doc.text
    assert _leaked(page, doc.text) == []
    assert not re.search(
        r"^#+ (?:Navigation|Table of Contents|Previous topic|Next topic)$", doc.text, re.M
    )
    # nothing of the content goes with the chrome: every word of it is stored (words that
    # run across two blocks in the page's bare text, "versionThe", found with spaces out)
    stored, squashed = set(re.findall(r"\w+", doc.text)), re.sub(r"\s", "", doc.text)
    words = set(re.findall(r"\w+", page.main.text_content()))  # type: ignore[attr-defined]
    assert {w for w in words if w not in stored and w not in squashed} == set()


@pytest.mark.parametrize("name", sorted(PAGES))
def test_sphinx_headings_list_items_and_code_keep_their_structure(name: str) -> None:
    path = _path(name)
    page = _page(path)
    doc = load_bytes(path.read_bytes(), name)
    structure = segment(doc.text, doc.kind)
    units = structure.units
    headings = {
        _MARKER.sub("", display_text(doc.text[u.start : u.end])) for u in units if u.kind == HEADING
    }
    wanted = [_norm(h.text_content()) for h in page.main.iter("h1", "h2", "h3", "h4", "h5", "h6")]  # type: ignore[attr-defined]
    assert wanted and [h for h in wanted if h not in headings] == []

    # a list item is one unit that starts with its marker: never "-" alone, its text after
    texts = [display_text(doc.text[u.start : u.end]) for u in units]
    assert not [t for t in texts if re.fullmatch(r"-|\d{1,3}\.", t)]
    items = [_MARKER.sub("", t) for t, u in zip(texts, units, strict=True) if u.kind == ITEM]
    for li in page.main.iter("li"):  # type: ignore[attr-defined]
        first = li.find("p")
        own = _norm((first if first is not None else li).text_content())[:30]
        if li.find("ul") is None and li.find("ol") is None and own:
            assert any(i.startswith(own) or own.startswith(i) for i in items), own

    # code blocks keep their lines and indentation
    lines = "\n".join(line.rstrip() for line in doc.text.split("\n") if line.strip())
    for pre in list(page.main.iter("pre"))[:5]:  # type: ignore[attr-defined]
        code = [line.rstrip() for line in pre.text_content().split("\n") if line.strip()]
        assert "\n".join(code[:3]) in lines


def test_python_policy_authors_are_one_item_each() -> None:
    """The symptom the issue names: "-" and "Neil Schemenauer" were two paragraphs."""
    path = _path("python-policy.html")
    doc = load_bytes(path.read_bytes(), "python-policy.html")
    structure = segment(doc.text, doc.kind)
    by_text = {display_text(doc.text[u.start : u.end]): u for u in structure.units}
    author = by_text["- Neil Schemenauer <nas@debian.org>"]
    assert author.kind == ITEM
    assert structure.heading_path(author.block) == ["Contents", "1. Copyright"]
    assert doc.text.startswith("# Abstract")  # not "### Navigation" and the breadcrumbs


# Written before the first run: what a reader of these four pages would ask.
QUESTIONS = [
    "Where is the source of the Debian Python policy document kept?",
    "Who are the authors of the Debian Python Policy?",
    "How do I pass parameters in URLs with Requests?",
    "Which RFC specifies the JSON format?",
    "What does the range() function generate?",
]


@pytest.mark.model
def test_answers_over_sphinx_pages_cite_no_chrome(settings, embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from ingest.engine import Engine
    from ingest.pipeline import sources_from_paths

    # The answer model alone (CITEQA_READER=off), which answers every question here, so
    # that every answer's quotes are checked; the verifier, by default, abstains on the
    # first (joint probability 0.38 against 0.40) and quotes the same units otherwise.
    engine = Engine(settings.replace(reader="off"), embedder=embedder)

    folder = tmp_path / "pages"
    folder.mkdir()
    pages = {}
    for name in PAGES:
        path = _path(name)
        shutil.copy(path, folder / name)
        pages[name] = _page(path)
    engine.documents.ingest(sources_from_paths([folder]))
    for name, page in pages.items():
        stored = engine.documents.get_document(name).text or ""
        assert "¶" not in stored and _leaked(page, stored) == [], name
    # the questions written here, and those citeqa suggests from the stored headings
    for question in QUESTIONS + engine.query.suggestions(4):
        answer = engine.query.ask(question)
        if question in QUESTIONS:
            assert answer.citations, question  # each is answered, so quotes were checked
        for citation in answer.citations:
            record = engine.components.store.documents.get(citation.doc_id)
            assert record.text[citation.start : citation.end] == citation.quote
            assert "¶" not in citation.quote
            assert _leaked(pages[citation.doc_id], citation.quote) == [], (question, citation.quote)


NEWS = Path(__file__).resolve().parents[1] / "fixtures" / "news"


@pytest.mark.parametrize("path", sorted(NEWS.glob("*.html")), ids=lambda p: p.stem)
def test_news_style_pages_keep_the_story_and_drop_menus_sidebars_and_footers(path: Path) -> None:
    """No news site ships in Debian: three layouts written for this test (semantic HTML5,
    a div layout without landmarks, a blog theme), chrome and story marked in the page
    (`data-chrome`, `data-reference="content"`)."""
    root = lxml_html.fromstring(path.read_bytes())
    (story,) = root.xpath("//*[@data-reference='content']")
    chrome = {
        _norm(e.text_content()) for part in root.xpath("//*[@data-chrome]") for e in part.iter()
    }
    chrome = {c for c in chrome if c and len(c.split()) >= 2}
    doc = load_bytes(path.read_bytes(), path.name)
    assert chrome and [c for c in chrome if c in _norm(doc.text)] == []
    assert set(re.findall(r"\w+", " ".join(story.itertext()))) <= set(re.findall(r"\w+", doc.text))
    structure = segment(doc.text, doc.kind)
    headings = {
        _MARKER.sub("", display_text(doc.text[u.start : u.end]))
        for u in structure.units
        if u.kind == HEADING
    }
    assert {_norm(h.text_content()) for h in story.iter("h1", "h2")} <= headings


def test_a_page_without_a_usable_main_landmark_is_read_whole_less_its_chrome() -> None:
    """An empty `main` (a script fills it in) or two of them mark nothing: the body is
    read, its navigation and footer still left out."""
    for main in ("<main></main>", "<main><p>Part one.</p></main><main><p>Part two.</p></main>"):
        page = f"""<html><body><nav><a href="/">Home</a> <a href="/news">All news</a></nav>
        {main}<div><h1>Ferry fares</h1><p>A return ticket costs 6 euros.</p></div>
        <footer>Contact the harbour office</footer></body></html>""".encode()
        text = load_bytes(page, "fares.html").text
        assert "# Ferry fares\n\nA return ticket costs 6 euros." in text
        assert "All news" not in text and "harbour office" not in text


@pytest.mark.parametrize(
    "open_tag, close_tag",
    [
        ("<div>", "</div>"),
        ("<ul><li>item ", "</li></ul>"),
        ('<a href="#">', "</a>"),
        ("<table><tr><td>", "</td></tr></table>"),
        ("<blockquote><footer>", "</footer></blockquote>"),
    ],
    ids=["div", "list", "link", "table", "footer"],
)
def test_a_page_nested_thousands_deep_is_read_without_recursion(
    open_tag: str, close_tag: str
) -> None:
    """The reader walks the page with a stack of its own: 5,000 nested elements (Python's
    recursion limit is 1,000) are read, not a RecursionError."""
    page = f"<html><body>{open_tag * 5000}<p>Deep text.</p>{close_tag * 5000}</body></html>"
    doc = load_bytes(page.encode(), "deep.html")
    assert "Deep text." in doc.text
