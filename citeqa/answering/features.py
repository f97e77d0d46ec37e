"""What the answer model knows about a (question, unit, passage): the feature rows.

Every unit of every candidate passage gets one row of FEATURES. The names are stored in
the model file, and a model is refused when they differ from these (model.py).

- similarity: the question's MiniLM vector against the unit's (pooled at ingest in the
  passage's context), its gap to the best unit of the question, its rank; the best
  unit of the passage;
- term coverage: the idf-weighted share of the question's terms in the unit, softly
  (a question term meets a WordNet synonym or derived form, citeqa.wordnet), with its
  neighbours, and in the passage with its title and heading path;
- retrieval: the passage's fused, dense and BM25 ranks and relative BM25 score;
- the question: the share of its terms (by idf) that occur nowhere in the store (the
  near-miss that asks about something the documents never mention), its length;
- answer type: a who / when / where / how many / how long question and whether the
  unit holds a name, date, number or duration the question does not already hold;
- negation in one of question and unit but not the other; the unit's kind and length,
  and the share of its terms that the question lacks (an answer adds something);
- with the reader (citeqa.components.reader): the cross-encoder's logit for the question
  read with the unit in its context (title and heading path, the unit before), its gap
  to the best unit's, the best in its passage, and its neighbours' (READER_FEATURES).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from citeqa import wordnet
from citeqa.segment import HEADING, ITEM, LINE, ROW
from citeqa.text import STOP_WORDS, question_terms, stems, terms, words

FEATURES = (
    "cos",
    "cos_gap",
    "cos_rank",
    "cos_passage",
    "coverage",
    "soft_coverage",
    "context_coverage",
    "passage_coverage",
    "heading_coverage",
    "fused_rank",
    "dense_rank",
    "lexical_rank",
    "bm25_relative",
    "unseen",
    "question_terms",
    "type_asked",
    "type_found",
    "negation_mismatch",
    "kind_heading",
    "kind_item",
    "kind_row",
    "kind_line",
    "length",
    "novelty",
    "cos_x_coverage",
    "cos_x_soft",
    "cos_x_short",
    "missing_context",
    "missing_passage",
    "previous_cos",
    "previous_soft",
    "next_cos",
    "next_soft",
    "specifics_missing",
    "specifics_missing_passage",
    "specifics_unseen",
    "specifics_asked",
    "unseen_things",
)
READER_FEATURES = ("reader", "reader_gap", "reader_passage", "reader_previous", "reader_next")
READER_FLOOR = -12.0  # a logit below any the reader gives: "no neighbour"


def unit_features(reader: bool) -> tuple[str, ...]:
    """The unit features of a model with or without the reader's."""
    return FEATURES + READER_FEATURES if reader else FEATURES


# -- the question ----------------------------------------------------------------------

_NEGATION = frozenset(
    "not no never none nobody nothing neither nor without cannot cant isnt arent wasnt "
    "werent dont doesnt didnt wont wouldnt shouldnt couldnt mustnt hasnt havent hadnt isn "
    "aren wasn weren doesn didn wouldn shouldn couldn mustn hasn haven hadn".split()
)
_TYPE_PATTERNS = (
    ("duration", re.compile(r"\bhow (?:long|often|frequently)\b|\bfor how long\b")),
    (
        "number",
        re.compile(
            r"\bhow (?:many|much|old|far|large|big|high|tall|deep|wide|fast|heavy)\b"
            r"|\bwhat (?:number|percentage|percent|proportion|share|amount|size|fraction)\b"
            r"|\b(?:which|what) (?:version|release)\b"
        ),
    ),
    (
        "date",
        re.compile(r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|time|decade|century)\b"),
    ),
    (
        "name",
        re.compile(
            r"\bwho(?:m|se)?\b|\bwhere\b|\b(?:what|which) (?:city|country|state|place|town|"
            r"company|organi[sz]ation|agency|person|man|woman|team|group|nation|region|"
            r"province|county|river|university|party|program|programme|tool|command)\b"
        ),
    ),
)


def _negated(found: list[str], text: str) -> bool:
    return any(w in _NEGATION for w in found) or "n't" in text.replace("’", "'")


@dataclass
class QuestionProfile:
    """The question as the features see it."""

    terms: list[str]  # stemmed, stop words and question words out
    weights: dict[str, float]  # idf of each term in the store
    related: dict[str, frozenset[str]]  # term -> stems of its WordNet relatives
    answer_type: str | None
    negated: bool
    unseen: float  # idf-weighted share of terms the store has never seen
    raw_words: frozenset[str] = field(default_factory=frozenset)  # lower-cased, unstemmed
    specifics: list[str] = field(default_factory=list)  # names, versions, options (tokens)
    specifics_unseen: float = 0.0  # share of them that occur nowhere in the store
    unseen_things: float = 0.0  # idf-weighted share of unseen terms that name things

    @property
    def total(self) -> float:
        return sum(self.weights.values())


def profile(
    question: str, idf: Callable[[str], float], df: Callable[[str], int]
) -> QuestionProfile:
    """idf and df: of a term in the store (BM25 statistics)."""
    wanted = question_terms(question)
    weights = {t: idf(t) for t in dict.fromkeys(wanted)}
    found = words(question)
    related: dict[str, frozenset[str]] = {}
    for i, word in enumerate(found):
        if word in STOP_WORDS or not word:
            continue
        stem = stems([word])[0]
        if stem in weights:
            related[stem] = related.get(stem, frozenset()) | _related_stems(word)
            if any(w in _NEGATION for w in found[max(0, i - 2) : i]):
                # "not allowed" is met by "prohibited": the negated word's opposites
                related[stem] |= _opposite_stems(word)
    total = sum(weights.values()) or 1.0
    # a term is unseen when neither it nor any of its WordNet relatives is in the store:
    # a paraphrase's words have relatives there, a near-miss's swapped-in detail has not
    unseen = (
        sum(
            w
            for t, w in weights.items()
            if df(t) == 0 and not any(df(r) for r in related.get(t, ()))
        )
        / total
    )
    # unseen words that name things ("mayor", "Kremlin"): a question about something the
    # documents never mention; paraphrases mostly swap verbs and adjectives
    unseen_things = (
        sum(
            weights.get(stems([w])[0], 0.0)
            for w in dict.fromkeys(found)
            if w not in STOP_WORDS
            and stems([w])[0] in weights
            and df(stems([w])[0]) == 0
            and not any(df(r) for r in related.get(stems([w])[0], ()))
            and wordnet.is_thing(w)
        )
        / total
    )
    specifics = _specifics(question)
    specifics_unseen = (
        sum(1 for s in specifics if not all(df(t) for t in terms(s))) / len(specifics)
        if specifics
        else 0.0
    )
    lowered = question.lower()
    answer_type = next((name for name, pattern in _TYPE_PATTERNS if pattern.search(lowered)), None)
    return QuestionProfile(
        terms=wanted,
        weights=weights,
        related=related,
        answer_type=answer_type,
        negated=any(w.replace("'", "") in _NEGATION for w in found)
        or "n't" in lowered.replace("’", "'"),
        unseen=unseen,
        raw_words=frozenset(found),
        specifics=specifics,
        specifics_unseen=specifics_unseen,
        unseen_things=unseen_things,
    )


_TOKEN = re.compile(r"[^\W_](?:[\w+./-]*[^\W_])?")


def tokens(text: str) -> frozenset[str]:
    """Lower-cased tokens with their inner punctuation: "gzip-1.12", "--lz4" -> "lz4",
    "PostgreSQL" -> "postgresql" (what specific words of a question are matched on)."""
    return frozenset(t.lower() for t in _TOKEN.findall(text))


def _specifics(question: str) -> list[str]:
    """The question's specific words: names (capitalised, not the first word), tokens
    with digits or inner punctuation (versions, options, file names), ALL-CAPS words.
    A near-miss question swaps one of them."""
    found = []
    for i, match in enumerate(_TOKEN.finditer(question)):
        token = match.group()
        lowered = token.lower()
        if lowered in STOP_WORDS:
            continue
        name = token[0].isupper() and i > 0
        marked = any(c.isdigit() for c in token) or any(c in "+./-_" for c in token)
        if name or marked or (len(token) > 1 and token.isupper()):
            found.append(lowered)
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=20_000)
def _opposite_stems(word: str) -> frozenset[str]:
    return frozenset(stems([w for w in wordnet.opposite(word) if w not in STOP_WORDS]))


@functools.lru_cache(maxsize=20_000)
def _related_stems(word: str) -> frozenset[str]:
    return frozenset(stems([w for w in wordnet.related(word) if w not in STOP_WORDS]))


# -- the unit --------------------------------------------------------------------------

_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred thousand million billion trillion dozen half twice thrice once "
    "first second third fourth fifth percent"
)
_NUMBER = re.compile(
    r"\b\d[\d,.]*\b|[$€£¥]\s?\d|\b(?:" + "|".join(_NUMBER_WORDS.split()) + r")\b", re.I
)
_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday "
    "friday saturday sunday"
)
_DATE = re.compile(
    r"\b(?:1[0-9]|20)\d{2}s?\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b|\b(?:"
    + "|".join(_MONTHS.split())
    + r")\b|\b(?:today|yesterday|tomorrow|century|decade|ago|since|until)\b",
    re.I,
)
_DURATION = re.compile(
    r"\b(?:\d[\d,.]*|a|an|one|two|three|four|five|six|seven|eight|nine|ten|twelve|"
    r"several|few|many)[\s-]+(?:second|minute|hour|day|week|fortnight|month|year|decade)s?\b"
    r"|\b(?:daily|weekly|monthly|yearly|annually|hourly|always|never|once|twice|every)\b",
    re.I,
)
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][\w&.'-]*[a-z0-9][\w&.'-]*")


@dataclass(frozen=True)
class _Facts:
    terms: frozenset[str]  # stemmed
    negated: bool
    length: int  # words


@functools.lru_cache(maxsize=50_000)
def _unit_facts(display: str) -> _Facts:
    """What every question reads of a unit (cached: passages recur across questions)."""
    found = words(display)
    return _Facts(frozenset(terms(display)), _negated(found, display), len(found))


_TYPE_OF = {"number": _NUMBER, "date": _DATE, "duration": _DURATION, "name": _NAME}


@functools.lru_cache(maxsize=50_000)
def _holds(display: str, answer_type: str) -> bool:
    """Whether a unit holds anything of an answer type (read only for a typed question)."""
    return _TYPE_OF[answer_type].search(display) is not None


@functools.lru_cache(maxsize=50_000)
def _tokens_of(display: str) -> frozenset[str]:
    return tokens(display)


def _type_found(display: str, answer_type: str, question: QuestionProfile) -> bool:
    """The unit holds something of the asked type that the question does not."""
    for match in _TYPE_OF[answer_type].finditer(display):
        found = match.group().lower().strip()
        if not found:
            continue
        if not all(w in question.raw_words for w in words(found)):
            return True
    return False


# -- rows ------------------------------------------------------------------------------

SHORT_WORDS = 6  # a unit this short takes its meaning from its context


@dataclass
class PassageView:
    """What the features need of one candidate passage."""

    units: Sequence[tuple[int, int, str]]  # (start, end, kind), relative to the passage text
    displays: Sequence[str]  # each unit's display text
    cosines: np.ndarray  # each unit's cosine with the question
    heading_terms: frozenset[str]  # its document context's and heading path's terms
    heading_tokens: frozenset[str]  # ... and tokens
    fused_rank: int
    dense_rank: int | None
    lexical_rank: int | None
    bm25: float
    reader: np.ndarray | None = None  # each unit's reader logit, when a reader runs


class _Masks:
    """The question's terms as bits: which a set of terms holds, exactly or softly (a
    WordNet relative), and what the held ones weigh. A union of sets is the OR of their
    masks, so a unit's neighbours and its passage cost no set arithmetic."""

    def __init__(self, question: QuestionProfile) -> None:
        self.question = question
        self.terms = list(question.weights)
        self.weights = [question.weights[t] for t in self.terms]
        self.total = sum(self.weights)
        self.top = max(self.weights, default=0.0)
        self.related = [question.related.get(t, frozenset()) for t in self.terms]
        self.full = (1 << len(self.terms)) - 1
        self._weight: dict[int, float] = {}

    def exact(self, present: frozenset[str]) -> int:
        return sum(1 << i for i, t in enumerate(self.terms) if t in present)

    def soft(self, present: frozenset[str]) -> int:
        return sum(
            1 << i
            for i, t in enumerate(self.terms)
            if t in present or not self.related[i].isdisjoint(present)
        )

    def share(self, mask: int) -> float:
        """idf-weighted share of the question's terms in the mask."""
        if self.total <= 0:
            return 0.0
        found = self._weight.get(mask)
        if found is None:
            found = sum(w for i, w in enumerate(self.weights) if mask >> i & 1) / self.total
            self._weight[mask] = found
        return found

    def missing(self, mask: int) -> float:
        """The rarest question term not in the mask, as a share of the rarest's idf."""
        if self.top <= 0:
            return 0.0
        absent = [w for i, w in enumerate(self.weights) if not mask >> i & 1]
        return max(absent, default=0.0) / self.top


def soft_coverages(question: QuestionProfile, displays: Sequence[str]) -> np.ndarray:
    """Each unit's soft_coverage: the idf-weighted share of the question's terms it holds,
    exactly or as a WordNet relative."""
    masks = _Masks(question)
    return np.asarray(
        [masks.share(masks.soft(_unit_facts(d).terms)) for d in displays], dtype=np.float32
    )


def _specific_mask(specifics: list[str], present: frozenset[str]) -> int:
    return sum(1 << i for i, s in enumerate(specifics) if s in present)


def _absent_share(specifics: list[str], mask: int) -> float:
    if not specifics:
        return 0.0
    return sum(1 for i in range(len(specifics)) if not mask >> i & 1) / len(specifics)


def rows(question: QuestionProfile, passages: Sequence[PassageView], depth: int) -> np.ndarray:
    """One row of FEATURES per unit of the passages, in passage then unit order."""
    all_cos = np.concatenate([p.cosines for p in passages]) if passages else np.zeros(0)
    if all_cos.size == 0:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    best_cos = float(all_cos.max())
    order = np.argsort(-all_cos, kind="stable")
    cos_rank = np.empty_like(order)
    cos_rank[order] = np.arange(order.size)
    best_bm25 = max((p.bm25 for p in passages), default=0.0) or 1.0
    with_reader = any(p.reader is not None for p in passages)
    best_reader = max(
        (float(p.reader.max()) for p in passages if p.reader is not None and p.reader.size),
        default=READER_FLOOR,
    )
    q_len = math.log1p(len(question.weights))
    masks = _Masks(question)
    specifics = question.specifics
    asked = question.answer_type is not None
    names = unit_features(with_reader)
    table: list[tuple[float, ...]] = []
    row = 0
    for passage in passages:
        facts = [_unit_facts(d) for d in passage.displays]
        exact = [masks.exact(f.terms) for f in facts]
        soft = [masks.soft(f.terms) for f in facts]
        heading_soft = masks.soft(passage.heading_terms)
        # the passage's words are its units' (page furniture and blank lines aside)
        passage_soft = heading_soft
        for mask in soft:
            passage_soft |= mask
        heading_specifics = _specific_mask(specifics, passage.heading_tokens)
        unit_specifics = (
            [_specific_mask(specifics, _tokens_of(d)) for d in passage.displays]
            if specifics
            else [0] * len(facts)
        )
        passage_specifics = heading_specifics
        for mask in unit_specifics:
            passage_specifics |= mask
        cosines = passage.cosines.tolist()
        cos_passage = max(cosines, default=0.0)
        passage_cov = masks.share(passage_soft)
        fused = math.log1p(passage.fused_rank)
        dense = math.log1p(passage.dense_rank if passage.dense_rank else depth + 1)
        lexical = math.log1p(passage.lexical_rank if passage.lexical_rank else depth + 1)
        bm25 = passage.bm25 / best_bm25
        heading_cov = masks.share(heading_soft)
        missing_passage = masks.missing(passage_soft)
        specifics_passage = _absent_share(specifics, passage_specifics)
        softs = [masks.share(m) for m in soft]
        logits = passage.reader.tolist() if passage.reader is not None else []
        reader_passage = max(logits, default=READER_FLOOR)
        for j, (_start, _end, kind) in enumerate(passage.units):
            unit = facts[j]
            near_soft = soft[j] | heading_soft
            near_specifics = unit_specifics[j] | heading_specifics
            if j > 0:
                near_soft |= soft[j - 1]
                near_specifics |= unit_specifics[j - 1]
            last = j + 1 == len(facts)
            if not last:
                near_soft |= soft[j + 1]
                near_specifics |= unit_specifics[j + 1]
            cos = cosines[j]
            coverage = masks.share(exact[j])
            found = asked and _holds(passage.displays[j], question.answer_type or "")
            if found:
                found = _type_found(passage.displays[j], question.answer_type or "", question)
            size = len(unit.terms)
            # the share of the unit's terms the question lacks (exact[j] holds the rest)
            novelty = (size - exact[j].bit_count()) / size if size else 0.0
            values = {
                "cos": cos,
                "cos_gap": best_cos - cos,
                "cos_rank": math.log1p(int(cos_rank[row])),
                "cos_passage": cos_passage,
                "coverage": coverage,
                "soft_coverage": softs[j],
                "context_coverage": masks.share(near_soft),
                "passage_coverage": passage_cov,
                "heading_coverage": heading_cov,
                "fused_rank": fused,
                "dense_rank": dense,
                "lexical_rank": lexical,
                "bm25_relative": bm25,
                "unseen": question.unseen,
                "question_terms": q_len,
                "type_asked": float(asked),
                "type_found": float(found),
                "negation_mismatch": float(unit.negated != question.negated),
                "kind_heading": float(kind == HEADING),
                "kind_item": float(kind == ITEM),
                "kind_row": float(kind == ROW),
                "kind_line": float(kind == LINE),
                "length": math.log1p(unit.length),
                "novelty": novelty,
                "cos_x_coverage": cos * coverage,
                "cos_x_soft": cos * softs[j],
                "cos_x_short": cos * (unit.length <= SHORT_WORDS),
                "missing_context": masks.missing(near_soft),
                "missing_passage": missing_passage,
                "previous_cos": cosines[j - 1] if j else 0.0,
                "previous_soft": softs[j - 1] if j else 0.0,
                "next_cos": 0.0 if last else cosines[j + 1],
                "next_soft": 0.0 if last else softs[j + 1],
                "specifics_missing": _absent_share(specifics, near_specifics),
                "specifics_missing_passage": specifics_passage,
                "specifics_unseen": question.specifics_unseen,
                "specifics_asked": math.log1p(len(specifics)),
                "unseen_things": question.unseen_things,
            }
            if with_reader:
                logit = logits[j] if logits else READER_FLOOR
                values.update(
                    {
                        "reader": logit,
                        "reader_gap": best_reader - logit,
                        "reader_passage": reader_passage,
                        "reader_previous": logits[j - 1] if logits and j else READER_FLOOR,
                        "reader_next": READER_FLOOR if last or not logits else logits[j + 1],
                    }
                )
            table.append(tuple(values[name] for name in names))
            row += 1
    return np.asarray(table, dtype=np.float32)


# -- the question's answerability -------------------------------------------------------

QUESTION_FEATURES = (
    "best_logit",
    "gap_logit",
    "close_units",
    "best_cos",
    "best_coverage",
    "best_soft_coverage",
    "best_context_coverage",
    "best_passage_coverage",
    "best_heading_coverage",
    "best_type_asked",
    "best_type_found",
    "best_negation_mismatch",
    "best_novelty",
    "best_missing_context",
    "best_missing_passage",
    "best_specifics_missing",
    "best_specifics_missing_passage",
    "specifics_unseen",
    "specifics_asked",
    "unseen_things",
    "max_cos",
    "max_soft_coverage",
    "unseen",
    "question_terms",
)
QUESTION_READER_FEATURES = ("best_reader", "max_reader", "best_reader_gap")
_COLUMN = {name: i for i, name in enumerate(FEATURES + READER_FEATURES)}


def question_features(reader: bool) -> tuple[str, ...]:
    """The question features of a model with or without the reader's."""
    return QUESTION_FEATURES + QUESTION_READER_FEATURES if reader else QUESTION_FEATURES


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def question_row(table: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """QUESTION_FEATURES of a question from its candidate units' rows and probabilities,
    best first. What decides whether to answer at all: how sure the unit model is of
    its best unit and how far ahead of the next, and what that unit has in hand; with the
    reader's columns in the table, what the reader makes of it too."""
    reader = table.ndim == 2 and table.shape[1] == len(FEATURES) + len(READER_FEATURES)
    names = question_features(reader)
    row = np.zeros(len(names), dtype=np.float32)
    if table.shape[0] == 0:
        row[names.index("best_logit")] = _logit(0.0)
        if reader:
            for name in QUESTION_READER_FEATURES[:2]:
                row[names.index(name)] = READER_FLOOR
        return row
    best = table[0]
    first = float(probabilities[0])
    second = float(probabilities[1]) if len(probabilities) > 1 else 0.0

    def column(name: str) -> float:
        return float(best[_COLUMN[name]])

    values = {
        "best_logit": _logit(first),
        "gap_logit": _logit(first) - _logit(second),
        "close_units": math.log1p(int((probabilities >= 0.5 * first).sum()) - 1),
        "best_cos": column("cos"),
        "best_coverage": column("coverage"),
        "best_soft_coverage": column("soft_coverage"),
        "best_context_coverage": column("context_coverage"),
        "best_passage_coverage": column("passage_coverage"),
        "best_heading_coverage": column("heading_coverage"),
        "best_type_asked": column("type_asked"),
        "best_type_found": column("type_found"),
        "best_negation_mismatch": column("negation_mismatch"),
        "best_novelty": column("novelty"),
        "best_missing_context": column("missing_context"),
        "best_missing_passage": column("missing_passage"),
        "best_specifics_missing": column("specifics_missing"),
        "best_specifics_missing_passage": column("specifics_missing_passage"),
        "specifics_unseen": column("specifics_unseen"),
        "specifics_asked": column("specifics_asked"),
        "unseen_things": column("unseen_things"),
        "max_cos": float(table[:, _COLUMN["cos"]].max()),
        "max_soft_coverage": float(table[:, _COLUMN["soft_coverage"]].max()),
        "unseen": column("unseen"),
        "question_terms": column("question_terms"),
    }
    if reader:
        values["best_reader"] = column("reader")
        values["max_reader"] = float(table[:, _COLUMN["reader"]].max())
        values["best_reader_gap"] = column("reader_gap")
    for i, name in enumerate(names):
        row[i] = values[name]
    return row
