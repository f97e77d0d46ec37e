"""Words related to a word (synonyms and derived forms), from the WordNet 3.0 database
that Debian's `wordnet-base` package installs in /usr/share/wordnet.

Used for soft term coverage: "prohibited" in a question meets "prohibiting" and
"forbidden" in a sentence. The database files are read in place (memory-mapped and
binary-searched, never loaded whole), so a process pays a few kilobytes for the words it
asks about. Without the package, a word is related only to itself and a warning is
logged once; `make install` installs it where it can.
"""

from __future__ import annotations

import functools
import logging
import mmap
import os
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_DIR = Path("/usr/share/wordnet")
POS = ("noun", "verb", "adj", "adv")
_SENSES = 3  # the most frequent senses of each part of speech only
# WordNet's morphological detachment rules (morphy), per part of speech.
_SUFFIXES = {
    "noun": [("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
             ("shes", "sh"), ("men", "man"), ("ies", "y")],
    "verb": [("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
             ("ing", "e"), ("ing", "")],
    "adj": [("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    "adv": [],
}  # fmt: skip


class _Database:
    def __init__(self, root: Path) -> None:
        self._index = {pos: self._map(root / f"index.{pos}") for pos in POS}
        self._data = {pos: self._map(root / f"data.{pos}") for pos in POS}
        self._exceptions: dict[str, dict[str, list[str]]] = {}
        for pos in POS:
            table: dict[str, list[str]] = {}
            path = root / f"{pos}.exc"
            if path.is_file():
                for line in path.read_text(encoding="latin-1").splitlines():
                    words = line.split()
                    if len(words) >= 2:
                        table[words[0]] = words[1:]
            self._exceptions[pos] = table

    @staticmethod
    def _map(path: Path) -> mmap.mmap:
        with path.open("rb") as handle:
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)

    def _index_line(self, pos: str, lemma: str) -> list[str] | None:
        """Binary search of the sorted index file for the lemma's line."""
        data = self._index[pos]
        key = lemma.encode("latin-1", errors="ignore") + b" "
        low, high = 0, len(data)
        while low < high:
            middle = (low + high) // 2
            start = data.rfind(b"\n", 0, middle) + 1
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            line = data[start:end]
            if line.startswith(b"  "):  # the licence header sorts first
                low = end + 1
                continue
            if line.startswith(key):
                return line.decode("latin-1").split()
            if line < key:
                low = end + 1
            else:
                high = start
        return None

    def _synset(self, pos: str, offset: int) -> tuple[list[str], list[tuple[str, str, int, int]]]:
        """A synset's words and its pointers (symbol, pos, offset, target word number)."""
        data = self._data[pos]
        end = data.find(b"\n", offset)
        fields = data[offset:end].decode("latin-1").split(" | ")[0].split()
        count = int(fields[3], 16)
        words = [fields[4 + 2 * i].lower() for i in range(count)]
        at = 4 + 2 * count
        pointers = []
        for i in range(int(fields[at])):
            symbol, target, target_pos, link = fields[at + 1 + 4 * i : at + 5 + 4 * i]
            pointers.append((symbol, _POS_OF[target_pos], int(target), int(link[2:], 16)))
        return words, pointers

    def base_forms(self, word: str, pos: str) -> list[str]:
        forms = [word, *self._exceptions[pos].get(word, [])]
        for suffix, ending in _SUFFIXES[pos]:
            if word.endswith(suffix) and len(word) > len(suffix) + 1:
                forms.append(word[: -len(suffix)] + ending)
        return list(dict.fromkeys(forms))

    def antonyms(self, word: str) -> frozenset[str]:
        found: set[str] = set()
        for pos in POS:
            for form in self.base_forms(word, pos):
                line = self._index_line(pos, form)
                if line is None:
                    continue
                pointer_count = int(line[3])
                for offset in [int(o) for o in line[6 + pointer_count :]][:_SENSES]:
                    _words, pointers = self._synset(pos, offset)
                    for symbol, target_pos, target, link in pointers:
                        if symbol == "!" and link:
                            target_words, _ = self._synset(target_pos, target)
                            if link <= len(target_words) and "_" not in target_words[link - 1]:
                                found.add(target_words[link - 1].split("(")[0])
        return frozenset(found)

    def parts_of_speech(self, word: str) -> frozenset[str]:
        return frozenset(
            pos
            for pos in POS
            if any(self._index_line(pos, form) is not None for form in self.base_forms(word, pos))
        )

    def first_sense(self, word: str) -> list[str]:
        """The single-word members of the word's most frequent sense, in its most used
        part of speech (by WordNet's tagged-sense counts); the word as written must be a
        lemma there, so that a member can stand in its place."""
        best: tuple[int, str, int] | None = None
        for pos in POS:
            line = self._index_line(pos, word)
            if line is None:
                continue
            pointer_count = int(line[3])
            tagged = int(line[5 + pointer_count])
            offset = int(line[6 + pointer_count])
            if best is None or tagged > best[0]:
                best = (tagged, pos, offset)
        if best is None:
            return []
        members, _ = self._synset(best[1], best[2])
        return [w for w in members if "_" not in w and "(" not in w and w != word]

    def related(self, word: str) -> frozenset[str]:
        found = {word}
        for pos in POS:
            for form in self.base_forms(word, pos):
                line = self._index_line(pos, form)
                if line is None:
                    continue
                found.add(form)
                pointer_count = int(line[3])
                offsets = [int(o) for o in line[6 + pointer_count :]][:_SENSES]
                for offset in offsets:
                    words, pointers = self._synset(pos, offset)
                    found.update(w for w in words if "_" not in w)
                    for symbol, target_pos, target, link in pointers:
                        if symbol == "+" and link:  # derivationally related form
                            target_words, _ = self._synset(target_pos, target)
                            if link <= len(target_words) and "_" not in target_words[link - 1]:
                                found.add(target_words[link - 1])
        return frozenset(w.split("(")[0] for w in found)


_POS_OF = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}


@functools.lru_cache(maxsize=1)
def _database() -> _Database | None:
    root = Path(os.environ.get("CITEQA_WORDNET_DIR", str(DEFAULT_DIR)))
    try:
        return _Database(root)
    except (OSError, ValueError):
        log.warning(
            "WordNet is not installed at %s (Debian: apt-get install wordnet-base); "
            "term coverage uses exact terms only",
            root,
        )
        return None


def available() -> bool:
    return _database() is not None


@functools.lru_cache(maxsize=50_000)
def related(word: str) -> frozenset[str]:
    """The word, its WordNet base forms, the synonyms in its three most frequent senses
    per part of speech, and their derived forms ("prohibit" -> "prohibition"); lower
    case, single words only. Just the word when WordNet is missing."""
    word = word.lower()
    database = _database()
    if database is None or not word.isalpha():
        return frozenset({word})
    return database.related(word)


def first_sense(word: str) -> list[str]:
    """The other single-word members of the word's most frequent WordNet sense ("forbid"
    -> "prohibit", "proscribe", "veto", "interdict"); none without WordNet."""
    database = _database()
    if database is None or not word.isalpha():
        return []
    return database.first_sense(word.lower())


@functools.lru_cache(maxsize=50_000)
def is_thing(word: str) -> bool:
    """Whether a word names a thing rather than an action or a quality: WordNet knows it
    only as a noun, or not at all (a name, a term of art). Without WordNet: unknown."""
    database = _database()
    if database is None or not word.isalpha():
        return False
    kinds = database.parts_of_speech(word.lower())
    return not kinds or kinds == {"noun"}


@functools.lru_cache(maxsize=20_000)
def opposite(word: str) -> frozenset[str]:
    """What "not <word>" can be said with: the antonyms of the word's most frequent
    senses and their relatives ("not allowed" -> "forbid", "prohibit", "prevent"...)."""
    database = _database()
    if database is None or not word.isalpha():
        return frozenset()
    found: set[str] = set()
    for antonym in database.antonyms(word.lower()):
        found |= related(antonym)
    return frozenset(found)
