"""Which stored documents a question names by name and version.

"Under GPL version 2, ...", "What does MPL 2.0 say ...", "In the 2023 report, ...": a
question that names a versioned document asks about that document, not about its other
versions, which often say nearly the same thing in nearly the same words (a licence and
its next version, this year's report and last year's). Retrieval then searches the named
documents only (citeqa.retrieve), so that the answer comes from the document asked about
or the question abstains, instead of citing the other version's sentence.

A document's name is read from what names it in every passage (its file name, title and
opening headings: the passage context) and from nothing that a question author chose:
- its name words: the words of the file name and title, and the acronyms of the title's
  capitalised runs ("GNU General Public License" gives "ggpl" and "gpl");
- its versions: the numbers of the file name ("gpl-2.txt", "mpl-2.0", "report-2023.pdf")
  and the numbers after "version", "release", "v" and the like in its title ("Version 2,
  June 1991" gives 2, not 1991). Dates are not versions. "2.0" is "2".

A question names a document when a number stands next to name words (a name word, then
at most a few name or version words, then the number: "GPL version 2", "Apache License
2.0", "GPLv3"; or the number, then a name word: "the 2023 report"), the documents bearing
those name words have versions, and the document bears the most specific of those words
(the one fewest documents bear) with that version. A question may name several ("GPL
version 2 and version 3"): all of them are searched. A version no document of that name
has ("GPL version 4") names nothing, and the question is searched as usual.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from citeqa.text import STOP_WORDS

# words that stand between a document's name and its version number
VERSION_WORDS = frozenset("version versions ver v release edition revision rev".split())
# (numbers are digits and dots, no nested repeats: linear time; version() drops the
# empty parts of "2." or "1..2")
_NUMBER = re.compile(r"^v?(\d[\d.]*)$", re.IGNORECASE)
_GLUED = re.compile(r"^([a-z]{2,}?)v?(\d[\d.]*)$")  # "gplv3", "python3.11"
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d[\d.]*")
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|"
    "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATES = re.compile(
    rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b"
    rf"|\b(?:\d{{1,2}}\s+)?(?:{_MONTHS})\.?\s+(?:\d{{1,2}},?\s+)?\d{{4}}\b",
    re.IGNORECASE,
)
_EXTENSION = re.compile(r"\.[A-Za-z]{1,5}$")
_CAPITALISED_RUN = re.compile(r"\b[A-Z][A-Za-z]*(?:[ \t]+[A-Z][A-Za-z]*)+")
_JOINING = frozenset(("and", "or", "to"))
SEARCH_WINDOW = 4  # name or version words between a name word and its number


@dataclass(frozen=True)
class DocumentName:
    names: frozenset[str]
    versions: frozenset[str]


def version(number: str) -> str:
    """A version number as compared: no leading zeros, no trailing ".0" ("2.0" is "2")."""
    parts = [str(int(p)) for p in number.split(".") if p]
    while len(parts) > 1 and parts[-1] == "0":
        parts.pop()
    return ".".join(parts)


def _file_stem(doc_id: str) -> str:
    stem = doc_id.rsplit("/", 1)[-1]
    for _ in range(2):  # "notes.txt", "report.tar.gz"; not "report.v2" or "mpl-2.0"
        stem = _EXTENSION.sub("", stem)
    return stem


_ORDINALS = {
    w: str(n)
    for n, w in enumerate(
        "first second third fourth fifth sixth seventh eighth ninth tenth".split(), start=1
    )
}


def _words(text: str) -> list[str]:
    """Lower-case words and numbers, a word glued to its version split ("gplv3"), an
    ordinal before a version word a number ("the second version": 2)."""
    found: list[str] = []
    tokens = [t.lower() for t in _TOKEN.findall(text)]
    for k, token in enumerate(tokens):
        if token in _ORDINALS and k + 1 < len(tokens) and tokens[k + 1] in VERSION_WORDS:
            found.extend((tokens[k + 1], _ORDINALS[token]))  # "version 2" of the same
            continue
        if token in VERSION_WORDS and k and tokens[k - 1] in _ORDINALS:
            continue
        glued = _GLUED.match(token)
        if glued and not token[-1].isalpha():
            found.extend((glued.group(1), glued.group(2)))
        else:
            found.append(token)
    return found


def _is_name(word: str) -> bool:
    return len(word) > 1 and not word[0].isdigit() and word not in STOP_WORDS


def document_name(doc_id: str, context: str) -> DocumentName:
    """The name words and versions of a document, from its id and passage context."""
    stem = _file_stem(doc_id)
    names: set[str] = set()
    versions: set[str] = set()
    for piece in re.split(r"[^A-Za-z0-9.]+", stem):
        piece = piece.strip(".")
        number = _NUMBER.match(piece)
        if number:
            versions.add(version(number.group(1)))
            continue
        for word in _words(piece):
            if word[0].isdigit():
                versions.add(version(word))
            elif _is_name(word):
                names.add(word)
        if _is_name(piece.lower()) and "." not in piece:
            names.add(piece.lower())  # "cc0" as well as "cc"
    context = _DATES.sub(" ", context)
    words = _words(context)
    for i, word in enumerate(words):
        if word[0].isdigit():
            if i and words[i - 1] in VERSION_WORDS:
                versions.add(version(word))
        elif _is_name(word) and word not in VERSION_WORDS:
            names.add(word)
    for run in _CAPITALISED_RUN.findall(context):
        initials = [w[0].lower() for w in run.split() if w.lower() not in VERSION_WORDS]
        for acronym in ("".join(initials), "".join(initials[1:])):
            if len(acronym) >= 3:
                names.add(acronym)
    return DocumentName(frozenset(names), frozenset(versions))


def _mentions(question: str, known: frozenset[str]) -> list[tuple[list[str], str]]:
    """(name words, version) pairs of the question: name words of stored documents next
    to a number ("GPL version 2", "the 2023 report"; "GPL versions 2 and 3" is two)."""
    words = _words(question)
    found: list[tuple[list[str], str]] = []
    for i, word in enumerate(words):
        number = _NUMBER.match(word)
        if not number:
            continue
        before: list[str] = []
        j = i - 1
        while (
            j >= 0
            and i - j <= SEARCH_WINDOW
            and (words[j] in known or words[j] in VERSION_WORDS or words[j] == "the")
        ):
            if words[j] in known:
                before.append(words[j])
            j -= 1
        if not before and found and i >= 2 and words[i - 1] in _JOINING:
            if _NUMBER.match(words[i - 2]):
                before = found[-1][0]  # "... versions 2 and 3": the same name
        named = before or _named_after(words, i, known)
        if named:
            found.append((named, version(number.group(1))))
    return found


def _named_after(words: list[str], i: int, known: frozenset[str]) -> list[str]:
    """The name word after the number at i: "the 2023 report"; after a version word,
    past "of the" as well: "version 2 of the GPL" (not "section 2 of the GPL")."""
    rest = words[i + 1 : i + 4]
    if i and words[i - 1] in VERSION_WORDS:
        rest = [w for w in rest if w not in ("of", "the")]
    return rest[:1] if rest and rest[0] in known else []


class NameIndex:
    """The stored documents' names, indexed once (a store's generation): the name words
    of versioned documents, and which documents bear each word. A question then costs its
    own words, not a pass over every document."""

    def __init__(self, documents: Mapping[str, DocumentName]) -> None:
        self.documents = documents
        self.bearing: dict[str, list[str]] = {}
        for doc_id, name in documents.items():
            for word in name.names:
                self.bearing.setdefault(word, []).append(doc_id)
        self.known = frozenset(w for d in documents.values() if d.versions for w in d.names)


def named_documents(
    question: str, documents: Mapping[str, DocumentName] | NameIndex
) -> frozenset[str] | None:
    """The documents the question names with a version, or None when it names none."""
    index = documents if isinstance(documents, NameIndex) else NameIndex(documents)
    if not index.known:
        return None
    named: set[str] = set()
    for words, number in _mentions(question, index.known):
        specific = min(words, key=lambda w: (len(index.bearing[w]), words.index(w)))
        bearing = index.bearing[specific]
        if not any(index.documents[i].versions for i in bearing):
            continue
        named.update(i for i in bearing if number in index.documents[i].versions)
    return frozenset(named) if named else None


def names_of(contexts: Iterable[tuple[str, str]]) -> dict[str, DocumentName]:
    """DocumentName by doc_id, from (doc_id, passage context) pairs."""
    return {doc_id: document_name(doc_id, context) for doc_id, context in contexts}
