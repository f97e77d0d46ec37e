"""Reworded questions for training the verifier: an answerable question with some of the
words it shares with its evidence replaced by WordNet synonyms the evidence does not
use, still paired with that evidence as answering it.

Why: the verifier is taught near-misses by swapping one detail of a question (a number,
a name, a date word, an identifier: evals/nearmiss.py) and keeping the evidence, so its
lesson is "a question word the passage lacks means no answer". A paraphrase lacks
passage words too ("forbidden" for "prohibited") and was read as a near-miss. These
pairs are the other half of the contrast: a detail swapped changes the label, a word
swapped for a synonym keeps it. Details themselves are never reworded.

Deterministic: a hash of the question's id picks the words and their synonyms. Only
the verifier's training reads these; no figure is reported on them.
"""

from __future__ import annotations

import hashlib
import re

from citeqa import wordnet
from citeqa.text import STOP_WORDS, stems, words
from evals.nearmiss import slots

_WORD = re.compile(r"(?<![\w-])[A-Za-z]+(?![\w-])")  # not a part of "second-largest"
MIN_LETTERS = 4  # shorter words are mostly function words WordNet maps oddly
SHARED_PREFIX = 4  # a synonym starting like the word is a derived form, not a rewording


def _rank(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest(), 16)


def _synonyms(word: str, evidence_words: set[str]) -> list[str]:
    """Members of the word's most frequent WordNet sense that read differently and that
    the evidence does not use, in a stable order."""
    lower = word.lower()
    return sorted(
        s
        for s in wordnet.first_sense(lower)
        if s.isalpha()
        and s[:SHARED_PREFIX] != lower[:SHARED_PREFIX]
        and s not in evidence_words
        and s not in STOP_WORDS
    )


def reworded(question: str, evidence: str, key: str, most: int = 2) -> str | None:
    """The question with up to `most` of the words it shares (by stem) with the evidence
    replaced by synonyms the evidence lacks; None when no word can be. Capitalised words
    (names, a question's first word) and the details a near-miss would swap stay."""
    evidence_words = {w.lower() for w in words(evidence)}
    evidence_stems = set(stems(sorted(evidence_words)))
    details = [(s.start, s.end) for s in slots(question)]
    options: list[tuple[int, int, str]] = []
    for match in _WORD.finditer(question):
        word = match.group()
        start, end = match.span()
        if (
            len(word) < MIN_LETTERS
            or not word.islower()
            or word in STOP_WORDS
            or any(start < e and s < end for s, e in details)
            or stems([word])[0] not in evidence_stems
        ):
            continue
        found = _synonyms(word, evidence_words)
        if found:
            synonym = found[_rank(f"{key}:{start}") % len(found)]
            options.append((start, end, synonym))
    if not options:
        return None
    options.sort(key=lambda o: _rank(f"{key}:{o[0]}:order"))
    chosen = sorted(options[:most], reverse=True)
    out = question
    for start, end, synonym in chosen:
        out = out[:start] + synonym + out[end:]
    return out
