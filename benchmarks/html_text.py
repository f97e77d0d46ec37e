"""What an HTML reader keeps of real generated documentation: chrome, content, structure.

    python -m benchmarks.html_text [--pages 20] [--out benchmarks/html_text.json]

Pages come from Debian documentation packages on this machine (`make html-docs` installs
them): Sphinx (python3-doc, python-requests-doc, and python-policy from python3-dev:
three themes), Doxygen (doxygen-doc, Doxygen's manual made by Doxygen), MkDocs
(mkdocs-doc), Javadoc (libjcdf-java-doc), texinfo (libffi8, nettle-dev, bc, time) and
DocBook XSL (valgrind); and three news-style pages written for the tests
(tests/fixtures/news: semantic HTML5, a div layout without landmarks, a blog theme), as
no news site ships in Debian. Scored apart ("held_out"): three themes the chrome rules
were not written against, Read the Docs (python-git-doc), Executable Books
(python-sphinx-copybutton-doc) and Material for MkDocs (mkdocs-literate-nav-doc). A
family whose package is missing is left out, and said so.

Each family has a reference, the page's own content as its generator marks it (Sphinx's
and MkDocs' `role="main"`, Javadoc's `main`, Doxygen's title and `div.contents`,
texinfo's and DocBook's body less their node headers, the held-out themes' article
body, the news pages' element marked `data-reference="content"`), with permalink marks
taken out. List items that hold headings and table rows whose cells hold code, lists
or headings are layout, not counted as items or rows.
Chrome is the page's visible text that the reference does not hold. Scores, over words
(lower-cased, "¶" counted as a word, list and heading marks not), summed over a
family's pages:
- chrome kept: the share of chrome words found in the output beyond the reference's;
- content lost: the share of reference words missing from the output;
- structure: the share of the reference's headings, list items, table rows and code
  blocks found in the output as Markdown-style units: a "#" line with the heading's text,
  a "- " / "1. " line starting with the item's own text (its first paragraph on the
  marker's line), a "|" line holding the row's first cell, and the first three lines of
  a code block, indentation and line breaks kept;
- pages per second, over all pages (one process, one core).

Candidates: citeqa's reader (ingest/readers/html.py, chrome rules in chrome.py), the
reader before it (the commit below, read from git), trafilatura (Markdown output,
tables), readability-lxml (its article HTML written by citeqa's renderer), justext
(its good paragraphs, headings marked), resiliparse (main-content plain text, list
bullets). Those not installed are skipped: `pip install trafilatura readability-lxml
justext resiliparse` (in any folder on PYTHONPATH) to compare them all.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import time
import types
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parents[1]
DOC = Path("/usr/share/doc")
# the HTML reader before chrome removal (main before the branch that added it)
BEFORE = "070886f"
_WORDS = re.compile(r"\w+|¶")
_SPACES = re.compile(r"\s+")
_MARKS = re.compile(r"^[ \t]*(?:#{1,6}|[-*+\u2022]|\d{1,3}[.)])[ \t]+", re.MULTILINE)
_HEADING_LINE = re.compile(r"^#{1,6}\s+(.*)$")
_ITEM_LINE = re.compile(r"^(?:[-*+\u2022]|\d{1,3}[.)])\s+(.*)$")
_PERMALINKS = (
    "//a[contains(concat(' ', normalize-space(@class), ' '), ' headerlink ')]"
    " | //a[contains(@class, 'copiable-anchor') or contains(@class, 'copiable-link')]"
)
_APART = (  # elements a reader sees apart: text_content() runs them together
    *("p", "div", "li", "td", "th", "tr", "dt", "dd", "br", "pre", "table", "ul", "ol"),
    *("h1", "h2", "h3", "h4", "h5", "h6", "section", "blockquote", "figcaption", "hr"),
)
_HEADINGS = ".//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6"
_LAYOUT = ".//pre | .//ul | .//ol | .//dl | .//table | " + _HEADINGS
Extract = Callable[[bytes], str]


@dataclass
class Family:
    name: str
    package: str
    globs: list[str]
    reference: Callable[[Any], list[Any]]  # the parsed page -> its content elements
    drop: tuple[str, ...] = ()  # xpaths inside the reference that are not content
    root: Path = DOC
    held_out: bool = False
    pages: list[Path] = field(default_factory=list)


def _xpath(expression: str) -> Callable[[Any], list[Any]]:
    return lambda root: list(root.xpath(expression))


FAMILIES = [
    Family(
        "sphinx",
        "python3.11-doc, python-requests-doc, python3-dev",
        [
            "python3.*/html/library/*.html",
            "python3.*/html/tutorial/*.html",
            "python-requests-doc/html/user/*.html",
            "python-requests-doc/html/community/*.html",
            "python3/python-policy.html",
        ],
        _xpath("//div[@role='main']"),
    ),
    Family(
        "doxygen",
        "doxygen-doc",
        ["doxygen/html/*.html"],
        _xpath("//div[@class='header']//div[@class='title'] | //div[@class='contents']"),
    ),
    Family(
        "mkdocs",
        "mkdocs-doc",
        ["mkdocs/html/user-guide/*.html", "mkdocs/html/dev-guide/*.html"],
        _xpath("//div[@role='main']"),
    ),
    Family("javadoc", "libjcdf-java-doc", ["libjcdf-java-doc/api/uk/**/*.html"], _xpath("//main")),
    Family(
        "texinfo",
        "libffi8, nettle-dev, bc, time",
        ["libffi8/html/*.html", "nettle-dev/*.html", "bc/*.html", "time/*.html"],
        _xpath("//body"),
        ("//div[@class='header']", "//div[@class='nav-panel']", "//table[@class='menu']"),
    ),
    Family(
        "docbook",
        "valgrind",
        ["valgrind/html/*.html"],
        _xpath("//body"),
        (
            "//div[@class='navheader']",
            "//div[@class='navfooter']",
            "//table[@summary='Navigation header' or @summary='Navigation footer']",
        ),
    ),
    # Held out: themes the chrome rules were not written against (read only after the
    # rules were, to see how they carry over).
    Family(
        "sphinx-rtd",
        "python-git-doc",
        ["python-git-doc/html/*.html"],
        _xpath("//div[@itemprop='articleBody']"),
        held_out=True,
    ),
    Family(
        "sphinx-book",
        "python-sphinx-copybutton-doc",
        ["python-sphinx-copybutton-doc/html/*.html", "python-sphinx-copybutton-doc/html/*/*.html"],
        _xpath("//div[@id='main-content']"),
        ("//div[contains(@class, 'prev-next-area')]",),
        held_out=True,
    ),
    Family(
        "mkdocs-material",
        "mkdocs-literate-nav-doc",
        ["mkdocs-literate-nav-doc/html/*.html"],
        _xpath("//article[contains(@class, 'md-content__inner')]"),
        held_out=True,
    ),
    # no news site ships in Debian: pages written for citeqa's tests, their content marked
    Family(
        "news",
        "tests/fixtures/news",
        ["*.html"],
        _xpath("//*[@data-reference='content']"),
        root=ROOT / "tests" / "fixtures" / "news",
    ),
]


def _pick(family: Family, per_family: int) -> list[Path]:
    """Pages spread evenly over each of the family's sources (index and search pages
    left out), as many from each."""
    # generated indexes: lists of links, not pages to read
    skip = ("genindex", "search", "modindex", "allclasses", "allpackages", "index-all", "-tree")
    quota = max(1, per_family // len(family.globs))
    picked: list[Path] = []
    for pattern in family.globs:
        # Debian links python3.X-dev's and -venv's doc folders to python3.X's: one of each file
        found = sorted({p.resolve() for p in family.root.glob(pattern) if p.is_file()})
        found = [p for p in found if not any(word in p.stem for word in skip)]
        found = [p for p in found if p.stat().st_size > 1000 and p not in picked]
        step = max(1.0, len(found) / quota)
        picked += [found[int(i * step)] for i in range(min(quota, len(found)))]
    return picked


# --- the reference ---------------------------------------------------------------------


def _parse(data: bytes) -> Any:
    root = lxml_html.fromstring(data)
    for bad in root.xpath("//script | //style | //noscript | //template | //svg"):
        bad.drop_tree()
    # blocks and cells apart in text_content(), as a reader sees them ("Day" "First boat")
    for element in root.iter(*_APART):
        element.tail = " " + (element.tail or "")
    return root


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.replace("¶", "")).strip().lower()


@dataclass
class Reference:
    words: Counter[str]
    chrome: Counter[str]
    headings: list[str]
    items: list[str]
    rows: list[str]
    code: list[list[str]]


_ITEM_ENDS = ("ul", "ol", "dl", "pre", "table", "div", "p", "br", "blockquote")


def _own_text(item: Any) -> str:
    """A list item's text up to the end of its first paragraph or line."""
    parts: list[str] = [item.text or ""]
    for child in item:
        if not isinstance(child.tag, str):  # a comment
            parts.append(child.tail or "")
            continue
        if child.tag in _ITEM_ENDS and "".join(parts).strip():
            break
        if child.tag not in ("ul", "ol"):
            parts.append(child.text_content())
        parts.append(child.tail or "")
    return _norm("".join(parts))


def reference(data: bytes, family: Family) -> Reference | None:
    root = _parse(data)
    body = root.find("body")
    if body is None:
        return None
    page_words = Counter(_WORDS.findall(body.text_content().lower()))
    for link in root.xpath(_PERMALINKS):
        link.drop_tree()
    for expression in family.drop:
        for element in root.xpath(expression):
            element.drop_tree()
    parts = family.reference(root)
    if not parts:
        return None
    words: Counter[str] = Counter()
    headings, items, rows, code = [], [], [], []
    for part in parts:
        words.update(_WORDS.findall(part.text_content().lower()))
        headings += [_norm(h.text_content()) for h in part.iter("h1", "h2", "h3", "h4", "h5", "h6")]
        # an item that holds headings is layout (Javadoc's blockList), not a list item
        items += [_own_text(li) for li in part.iter("li") if not li.xpath(_HEADINGS)]
        for row in part.iter("tr"):
            cells = [c for c in row if c.tag in ("td", "th")]
            if any(c.xpath(_LAYOUT) for c in cells):
                continue  # a layout row (cells holding code, lists or headings), not data
            if cells and _norm(cells[0].text_content()):
                rows.append(_norm(cells[0].text_content())[:30])
        for pre in part.xpath(".//pre | .//div[@class='fragment']"):
            if pre.tag == "div":  # Doxygen's code: a div a line
                text = "\n".join(line.text_content() for line in pre.xpath("div[@class='line']"))
            else:
                text = pre.text_content()
            lines = [line.rstrip() for line in text.split("\n") if line.strip()]
            if lines:
                code.append(lines[:3])
    return Reference(
        words,
        page_words - words,
        [h for h in headings if h],
        [i[:40] for i in items if i],
        rows,
        code,
    )


# --- scoring ---------------------------------------------------------------------------


@dataclass
class Score:
    pages: int = 0
    seconds: float = 0.0
    ref_words: int = 0
    lost_words: int = 0
    chrome_words: int = 0
    chrome_kept: int = 0
    pilcrows: int = 0
    found: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)

    def add(self, ref: Reference, out: str) -> None:
        self.pages += 1
        # the marks a reader writes ("1. " before an ordered list's item) are not words of the page
        words = Counter(_WORDS.findall(_MARKS.sub("", out.lower())))
        self.ref_words += sum(ref.words.values())
        self.lost_words += sum((ref.words - words).values())
        extra = words - ref.words
        self.chrome_words += sum(ref.chrome.values())
        self.chrome_kept += sum((extra & ref.chrome).values())
        self.pilcrows += out.count("¶")
        lines = [line.rstrip() for line in out.split("\n")]
        stripped = [line.strip() for line in lines]
        heads = {_norm(m.group(1)) for s in stripped if (m := _HEADING_LINE.match(s))}
        items = [_norm(m.group(1)) for s in stripped if (m := _ITEM_LINE.match(s))]
        rows = [_norm(s) for s in stripped if s.startswith("|")]
        joined = "\n".join(line for line in lines if line.strip())
        checks = {
            "headings": [h in heads for h in ref.headings],
            "items": [any(i.startswith(want) for i in items) for want in ref.items],
            "rows": [any(want in r for r in rows) for want in ref.rows],
            "code": ["\n".join(block) in joined for block in ref.code],
        }
        for kind, results in checks.items():
            self.total[kind] += len(results)
            self.found[kind] += sum(results)

    def row(self) -> dict[str, Any]:
        structure = {
            kind: round(self.found[kind] / self.total[kind], 3) if self.total[kind] else None
            for kind in ("headings", "items", "rows", "code")
        }
        elements = sum(self.total.values())
        return {
            "pages": self.pages,
            "chrome_kept": round(self.chrome_kept / max(self.chrome_words, 1), 3),
            "content_lost": round(self.lost_words / max(self.ref_words, 1), 3),
            "structure": round(sum(self.found.values()) / elements, 3) if elements else None,
            "structure_by_kind": structure,
            "pilcrows": self.pilcrows,
            "pages_per_s": round(self.pages / self.seconds, 1) if self.seconds else None,
        }


# --- the candidates --------------------------------------------------------------------


def _citeqa() -> Extract:
    from ingest.readers.html import load_html

    return lambda data: load_html(data)[0]


def _before() -> Extract:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BEFORE}:ingest/readers/html.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("html_before")
    exec(compile(source, f"{BEFORE}:ingest/readers/html.py", "exec"), module.__dict__)
    return lambda data: module.load_html(data)[0]  # type: ignore[no-any-return]


def _trafilatura() -> Extract:
    import trafilatura

    def extract(data: bytes) -> str:
        found = trafilatura.extract(
            data.decode("utf-8", "replace"),
            output_format="markdown",
            include_tables=True,
            include_comments=False,
            include_images=False,
            include_links=False,
        )
        return found or ""

    return extract


def _readability() -> Extract:
    from bs4 import BeautifulSoup
    from readability import Document

    from ingest.readers.html import render

    def extract(data: bytes) -> str:
        article = Document(data.decode("utf-8", "replace")).summary(html_partial=True)
        return render(BeautifulSoup(article, "html.parser"))

    return extract


def _justext() -> Extract:
    import justext

    stoplist = justext.get_stoplist("English")

    def extract(data: bytes) -> str:
        kept = [p for p in justext.justext(data, stoplist) if not p.is_boilerplate]
        return "\n\n".join(("# " if p.is_heading else "") + p.text for p in kept)

    return extract


def _resiliparse() -> Extract:
    from resiliparse.extract.html2text import extract_plain_text

    def extract(data: bytes) -> str:
        return str(
            extract_plain_text(
                data.decode("utf-8", "replace"),
                main_content=True,
                preserve_formatting=True,
                list_bullets=True,
                alt_texts=False,
                links=False,
                form_fields=False,
                noscript=False,
            )
        )

    return extract


CANDIDATES: dict[str, Callable[[], Extract]] = {
    "citeqa (chrome rules)": _citeqa,
    f"citeqa before ({BEFORE})": _before,
    "trafilatura": _trafilatura,
    "readability-lxml": _readability,
    "justext": _justext,
    "resiliparse": _resiliparse,
}


def _version(candidate: str) -> str | None:
    from importlib import metadata

    package = {"readability-lxml": "readability-lxml"}.get(candidate, candidate)
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=20, help="pages per family at most")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "html_text.json")
    args = parser.parse_args()
    corpus: list[tuple[Family, bytes, Reference]] = []
    missing = []
    for family in FAMILIES:
        family.pages = _pick(family, args.pages)
        for path in family.pages:
            data = path.read_bytes()
            ref = reference(data, family)
            if ref is not None and sum(ref.words.values()) > 50:
                corpus.append((family, data, ref))
        if not family.pages:
            missing.append(f"{family.name} ({family.package})")
    families = [f for f in FAMILIES if f.pages]
    print(f"{len(corpus)} pages; families left out (package missing): {missing or 'none'}")
    results: dict[str, Any] = {}
    for name, make in CANDIDATES.items():
        try:
            extract = make()
        except (ImportError, subprocess.CalledProcessError, OSError) as error:
            print(f"{name:28} not available: {type(error).__name__}")
            continue
        scores = {family.name: Score() for family in families}
        overall, held_out = Score(), Score()
        for family, data, ref in corpus:
            started = time.perf_counter()
            out = extract(data)
            took = time.perf_counter() - started
            for score in (scores[family.name], held_out if family.held_out else overall):
                score.seconds += took
                score.add(ref, out)
        results[name] = {
            "version": _version(name),
            "all": overall.row(),
            "held_out": held_out.row(),
            **{family: score.row() for family, score in scores.items()},
        }
    print(
        f"{'reader':28} {'family':15} {'chrome kept':>11} {'content lost':>12} "
        f"{'structure':>9} {'¶':>5} {'pages/s':>7}"
    )
    labels = ["all", *(f.name for f in families if not f.held_out)]
    labels += ["held_out", *(f.name for f in families if f.held_out)]
    for name, rows in results.items():
        for label in labels:
            if not rows[label]["pages"]:
                continue
            r = rows[label]
            structure = "-" if r["structure"] is None else f"{r['structure']:.3f}"
            print(
                f"{name:28} {label:15} {r['chrome_kept']:11.3f} {r['content_lost']:12.3f} "
                f"{structure:>9} {r['pilcrows']:5d} {r['pages_per_s']:7.1f}"
            )
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    args.out.write_text(
        json.dumps(
            {
                "command": "python -m benchmarks.html_text"
                + (f" --pages {args.pages}" if args.pages != 20 else ""),
                "commit": commit,
                "machine": f"{platform.machine()}, {platform.python_version()}, one process",
                "families": {
                    f.name: {
                        "package": f.package,
                        "held_out": f.held_out,
                        "pages": [str(p) for p in f.pages],
                    }
                    for f in families
                },
                "left_out": missing,
                "results": results,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
