"""Text analysis shared by retrieval and answering: the terms of BM25 and term coverage.

Sentences and other units come from citeqa.segment."""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)

# English stop words plus the words that only shape a question ("what", "which", ...).
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not of off on once only or
    other our ours ourselves out over own same she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours
    yourself yourselves s t don ll m o re ve y ain aren couldn didn doesn hadn hasn haven isn
    mightn mustn needn shan shouldn wasn weren won wouldn whose whats according name named
    many much tell say said""".split()
)


@functools.lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


# Degree words that only complete the interrogative after "how" ("how often", "how far").
_HOW_WORDS = frozenset(
    "often long far old big large tall high soon late early wide deep heavy fast frequently".split()
)


def words(text: str) -> list[str]:
    """Lower-cased words, apostrophe endings dropped ("isn't" -> "isn"). Every dash (the
    hyphen-minus, U+2010-U+2015, the minus sign U+2212, small and full-width forms) parts
    words alike, so "−−file" (groff's PDFs) and "--file" give the same terms."""
    return [
        w.replace("’", "'").split("'")[0] if ("'" in w or "’" in w) else w
        for w in _WORD.findall(text.lower())
    ]


class StemCache:
    """Stems of words seen before: stemming dominated scoring the retrieved sentences, and
    the vocabulary is Zipfian. Bounded: emptied when it would pass `limit` words."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._known: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._known)

    def clear(self) -> None:
        self._known.clear()

    def stems(self, found: list[str]) -> list[str]:
        if not found:
            return []
        known = self._known
        missing = list({w for w in found if w not in known})
        fresh = dict(zip(missing, _stemmer().stemWords(missing), strict=True)) if missing else {}
        if fresh:
            if len(known) + len(fresh) > self.limit:
                known.clear()
            known.update(fresh)
        # another thread may empty the cache meanwhile: fall back to stemming again
        return [fresh.get(w) or known.get(w) or _stemmer().stemWord(w) for w in found]


STEM_CACHE = StemCache()


def stems(found: list[str]) -> list[str]:
    """The Snowball stems of words (cached in STEM_CACHE)."""
    return STEM_CACHE.stems(found)


def terms(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed terms: the unit of BM25 and term coverage."""
    return stems([w for w in words(text) if w and w not in STOP_WORDS])


def question_terms(question: str) -> list[str]:
    """The terms of a question, without the words that only shape it: stop words and
    question words, and the degree word of "how often / how long / how far ...", which
    says what kind of answer is wanted, not what it is about."""
    found = words(question)
    return stems(
        [
            w
            for i, w in enumerate(found)
            if w
            and w not in STOP_WORDS
            and not (i > 0 and found[i - 1] == "how" and w in _HOW_WORDS)
        ]
    )


def key_words(text: str) -> list[str]:
    """The content words of a text, unstemmed and in order, without repeats: what a
    follow-up question inherits from the question before it."""
    found = words(text)
    return list(dict.fromkeys(w for w in found if w and w not in STOP_WORDS and len(w) > 1))
