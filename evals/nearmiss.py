"""Near-miss questions for training the answer model, made from answerable gold questions
by swapping one detail (the FactCC recipe, applied to questions): a number or version, a
name, a date word, or a technical identifier (an option, a variable, a path) is replaced
by one of the same kind taken from another question over the same documents. The swapped
question asks about something its documents do not pair with the rest of it, so it is
labelled unanswerable.

    python -m evals.nearmiss SET.jsonl            # print the near-misses of a set

Only the answer model's training reads them (evals/training/); no figure is reported on
them. The swap is deterministic (a hash of the question's id picks the slot and the
replacement), so the same gold set always gives the same near-misses.

What keeps the label honest: the replacement never occurs in the question, in its gold
answers or in its gold evidence (a swap into the evidence's own words could leave the
question answerable), and a question has at most one near-miss per kind of detail.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from evals.sets import EvalRecord, load_set

T = TypeVar("T")

_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty sixty hundred thousand million billion"
).split()
_DATE_WORDS = (
    "January February March April May June July August September October November December "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
).split()

# Each kind of detail: a pattern for one occurrence (linear: no nested quantifiers).
_KINDS: dict[str, re.Pattern[str]] = {
    # an option, an environment variable, a path or a dotted/underscored identifier
    "identifier": re.compile(
        r"(?<![\w-])(?:--?[A-Za-z][\w-]*|\$\w+|/[\w.-]+(?:/[\w.-]+)*|\w+_\w+)"
    ),
    # a number or a version: 3, 1.6, 2.0.1, 4G, 100
    "number": re.compile(r"(?<![\w.])\d+(?:\.\d+)*"),
    "number word": re.compile(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE),
    "date word": re.compile(r"\b(?:" + "|".join(_DATE_WORDS) + r")\b"),
    # a name: a run of capitalised words or acronyms, not the question's first word
    "name": re.compile(r"(?<=[\w,;:()] )[A-Z][\w-]+(?: [A-Z][\w-]+)*"),
}


@dataclass(frozen=True)
class Slot:
    kind: str
    start: int
    end: int
    text: str


def slots(question: str) -> list[Slot]:
    """Every detail of the question that a swap may replace, earliest first."""
    found: list[Slot] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _KINDS.items():  # earlier kinds win an overlap
        for match in pattern.finditer(question):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            found.append(Slot(kind, start, end, match.group()))
    return sorted(found, key=lambda s: s.start)


def value_shape(kind: str, text: str) -> str:
    """Values are swapped only for values of the same shape (a version for a version)."""
    if kind == "number":
        return f"number:{text.count('.')}"
    if kind == "number word" or kind == "date word":
        return kind
    if kind == "identifier":
        return f"identifier:{text[:1] if text[:1] in '-$/' else 'word'}"
    return f"name:{len(text.split())}"


def _pick(key: str, options: Sequence[T]) -> T:
    digest = int(hashlib.sha256(key.encode()).hexdigest(), 16)
    return options[digest % len(options)]


def _normal(text: str) -> str:
    return text.lower()


def near_misses(records: Iterable[EvalRecord], per_question: int = 2) -> list[EvalRecord]:
    """Up to per_question near-misses of each answerable record, each of another kind of
    detail; the replacements come from the other records' details of the same shape."""
    chosen = list(records)
    pools: dict[str, dict[str, set[str]]] = {}  # shape -> value -> ids of questions using it
    found_slots = {r.id: slots(r.question) for r in chosen}
    for record in chosen:
        for slot in found_slots[record.id]:
            pools.setdefault(value_shape(slot.kind, slot.text), {}).setdefault(
                slot.text, set()
            ).add(record.id)
    made: list[EvalRecord] = []
    for record in chosen:
        if not record.answerable:
            continue
        guarded = _normal(
            " ".join([record.question, *record.answers, *(e.text for e in record.evidence)])
        )
        by_kind: dict[str, list[Slot]] = {}
        for slot in found_slots[record.id]:
            by_kind.setdefault(slot.kind, []).append(slot)
        kinds = sorted(by_kind, key=lambda k: _pick(f"{record.id}/{k}", ["a", "b", "c", "d"]) + k)
        for kind in kinds:
            mine = [m for m in made if (m.model_extra or {}).get("source") == record.id]
            if len(mine) >= per_question:
                break
            slot = _pick(f"{record.id}/{kind}/slot", by_kind[kind])
            options = sorted(
                value
                for value, users in pools.get(value_shape(kind, slot.text), {}).items()
                if record.id not in users and _normal(value) not in guarded
            )
            if not options:
                continue
            value = _pick(f"{record.id}/{kind}/value", options)
            question = record.question[: slot.start] + value + record.question[slot.end :]
            made.append(
                EvalRecord(
                    id=f"{record.id}-swap-{kind.replace(' ', '-')}",
                    question=question,
                    answerable=False,
                    # the source's answers, evidence and gold documents: training drops a
                    # near-miss whose source answer stands in another document's passage
                    # (the swap may have made it a question that document answers)
                    answers=record.answers,
                    evidence=record.evidence,
                    gold_docs=record.target_docs(),
                    source=record.id,
                    swapped=[slot.text, value],
                )
            )
    return made


def write(records: list[EvalRecord], path: Path) -> Path:
    """The near-misses as an eval set (only rewritten when they change)."""
    text = "".join(json.dumps(r.model_dump(exclude_none=True)) + "\n" for r in records)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m evals.nearmiss SET.jsonl", file=sys.stderr)
        return 2
    for record in near_misses(load_set(Path(args[0]))):
        extra = record.model_extra or {}
        print(f"{extra.get('source')}: {extra.get('swapped')}\n  {record.question}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
