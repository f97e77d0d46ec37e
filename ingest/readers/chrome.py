"""A web page's chrome: what its generator puts around the content on every page
(navigation, breadcrumbs, sidebars, search boxes, footers, "previous / next" links,
permalink marks), recognised by markup rather than guessed from text, so that a
passage never quotes it.

Three layers, each by markup only:
- ARIA landmarks and HTML5 elements that mean chrome on any page (`nav`,
  `role="navigation"`, `role="search"`, `role="contentinfo"`, a page's `footer`,
  breadcrumbs, forms);
- the markup of documentation generators found on a Debian system: Sphinx (`.headerlink`,
  `.sphinxsidebar`, `.related`), Doxygen (title area, side tree, navigation path),
  MkDocs, Javadoc, DocBook (`.navheader`, `.navfooter`) and texinfo (its node header,
  "¶" anchors); generator-specific rules apply only on pages that generator made
  (its `<meta name="generator">`), where a class name alone would be too common;
- the main content, where the page marks it (`main`, `role="main"`, a single
  `article`): everything around it is chrome.

Measured against trafilatura, readability-lxml, justext and resiliparse on real
generated documentation: `python -m benchmarks.html_text` (README).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Rules:
    """Chrome by element name, ARIA role, id, class, or element and class together
    ("div.related": a class name too common to mean chrome on any element)."""

    tags: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    tag_classes: frozenset[tuple[str, str]] = frozenset()
    summaries: frozenset[str] = frozenset()  # a layout table's summary attribute

    def match(self, tag: Any) -> bool:
        if tag.name in self.tags:
            return True
        attrs = tag.attrs
        if not attrs:
            return False
        if str(attrs.get("role", "")).lower() in self.roles or attrs.get("id") in self.ids:
            return True
        classes = attrs.get("class") or ()
        if any(c in self.classes or (tag.name, c) in self.tag_classes for c in classes):
            return True
        if "breadcrumb" in str(attrs.get("aria-label", "")).lower():
            return True
        return tag.name == "table" and attrs.get("summary") in self.summaries


# On any page: landmarks and elements that hold chrome, never content, and the classes
# documentation generators give theirs.
_CHROME = _Rules(
    tags=frozenset({"nav", "form", "button"}),
    roles=frozenset({"navigation", "search", "contentinfo", "dialog", "menubar"}),
    # the ids older hand-made and CMS layouts give their menus, sidebars and footers;
    # "searchbox" is Sphinx's
    ids=frozenset(
        {"menu", "nav", "navbar", "navigation", "breadcrumbs", "sidebar", "footer", "searchbox"}
    ),
    classes=frozenset(
        {
            "breadcrumb",
            "breadcrumbs",
            "skip-link",
            "skipnav",
            # Sphinx themes: the sidebar, the search box, the mobile menu
            "sphinxsidebar",
            "mobile-nav",
            "menu-wrapper",
            "wy-nav-side",
            "rst-versions",
            "rst-footer-buttons",
            "prev-next-area",
            # DocBook XSL
            "navheader",
            "navfooter",
            # MkDocs themes
            "bs-sidebar",
            "md-header",
            "md-sidebar",
            "md-footer",
            "modal",
            # Javadoc
            "topNav",
            "subNav",
            "bottomNav",
            "skipNav",
        }
    ),
    # Sphinx's "related" bar (previous, next, index) and its footer
    tag_classes=frozenset({("div", "related"), ("div", "footer")}),
    summaries=frozenset({"Navigation header", "Navigation footer"}),  # DocBook XSL
)
# Only on pages their generator made (its name in <meta name="generator">, lower case).
_TEXINFO = _Rules(
    # its node header ("Next: …, Up: … [Index]") and navigation panels
    tag_classes=frozenset({("div", "header"), ("div", "nav-panel"), ("table", "menu")}),
)
_GENERATOR_CHROME = {
    "doxygen": _Rules(
        ids=frozenset(
            {
                "top",
                "titlearea",
                "side-nav",
                "nav-path",
                "MSearchSelectWindow",
                "MSearchResultsWindow",
            }
        ),
        classes=frozenset({"navpath", "tabs", "tabs2", "tabs3"}),
        tag_classes=frozenset({("hr", "footer"), ("address", "footer")}),
    ),
    "makeinfo": _TEXINFO,
    "texi2any": _TEXINFO,
}
# Permalinks beside headings and definitions: a link to the element itself whose whole
# text is a mark. Sphinx and MkDocs call them headerlink, texinfo copiable-anchor.
_PERMALINK_CLASSES = frozenset({"headerlink", "copiable-anchor", "copiable-link", "anchor-link"})
_PERMALINK_MARKS = frozenset({"¶", "#", "§", "🔗", "\u2693", "link", "permalink"})


def _generator(soup: Any) -> str:
    meta = soup.find("meta", attrs={"name": lambda v: v and v.lower() == "generator"})
    return str(meta.get("content", "")).lower() if meta else ""


def _is_permalink(link: Any) -> bool:
    from bs4 import NavigableString

    if any(name in _PERMALINK_CLASSES for name in link.get("class") or ()):
        return True
    # a mark is the link's one string: nothing longer is read (links can nest, in bad HTML)
    only = link.contents[0] if len(link.contents) == 1 else None
    text = str(only) if isinstance(only, NavigableString) else None
    href = str(link.get("href", ""))
    return href.startswith("#") and text is not None and text.strip().lower() in _PERMALINK_MARKS


def outermost(root: Any, wanted: Callable[[Any], bool], within: Callable[[Any], bool]) -> list[Any]:
    """The elements `wanted` that no element `within` holds, in one pass over the tree
    (a stack, not recursion, and no walk up from each: linear however deep the page)."""
    from bs4 import Tag

    found = []
    stack = [(root, False)]
    while stack:
        node, held = stack.pop()
        for child in node.contents:
            if isinstance(child, Tag):
                if not held and wanted(child):
                    found.append(child)
                stack.append((child, held or within(child)))
    return found


def strip_chrome(soup: Any) -> int:
    """Removes the page's chrome from the parsed page; returns how many elements went."""
    generator = _generator(soup)
    rules = [_CHROME, *(r for name, r in _GENERATOR_CHROME.items() if name in generator)]
    found = [
        tag
        for tag in soup.find_all(True)
        if (tag.name == "a" and _is_permalink(tag)) or any(rule.match(tag) for rule in rules)
    ]
    # a page's footer is chrome; a quotation's or a figure's (its source) is not
    found += outermost(soup, _is_footer, lambda tag: tag.name in ("blockquote", "figure"))
    removed = 0
    for tag in found:
        if not tag.decomposed:
            tag.decompose()
            removed += 1
    return removed


def main_content(soup: Any) -> Any:
    """The element holding the page's main content where the page marks it (the outermost
    `main` or `role="main"`, else the only `article`) and it holds text, else the body
    (the whole page)."""
    marked = outermost(soup, _is_main, _is_main)
    if not marked:
        marked = outermost(soup, _is_article, _is_article)
    # an empty landmark (content that a script fills in, a template's leftover) marks nothing
    if len(marked) == 1 and marked[0].get_text(strip=True):
        return marked[0]
    return soup.body or soup


def _is_footer(tag: Any) -> bool:
    return bool(tag.name == "footer")


def _is_article(tag: Any) -> bool:
    return bool(tag.name == "article")


def _is_main(tag: Any) -> bool:
    return bool(tag.name == "main" or tag.get("role") == "main")
