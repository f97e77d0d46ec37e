"""Near-miss questions for training (evals/nearmiss.py): one detail of an answerable gold
question swapped for one of the same kind from another question over the same documents."""

from __future__ import annotations

from pathlib import Path

from evals.nearmiss import near_misses, slots, write
from evals.sets import EvalRecord, load_set
from tests.conftest import REPO

SETS = REPO / "evals" / "sets"


def test_slots_find_numbers_versions_names_and_identifiers() -> None:
    found = {
        (s.kind, s.text)
        for s in slots("In gzip 1.6, which flag did Jean-loup add to --keep three files?")
    }
    assert ("number", "1.6") in found
    assert ("name", "Jean-loup") in found
    assert ("identifier", "--keep") in found
    assert ("number word", "three") in found
    # the first word and the pronoun "I" are no names
    assert not [s for s in slots("Which flag do I add?") if s.kind == "name"]


def test_near_misses_swap_one_detail_for_another_of_the_same_shape() -> None:
    records = load_set(SETS / "sysdocs.jsonl")
    made = near_misses(records)
    by_id = {r.id: r for r in records}
    assert len(made) >= len(records) // 3
    for record in made:
        extra = record.model_extra or {}
        source = by_id[extra["source"]]
        old, new = extra["swapped"]
        assert source.answerable and not record.answerable
        assert record.question == source.question.replace(old, new, 1)
        assert old.count(".") == new.count(".") or not old[0].isdigit()
        guarded = " ".join([source.question, *source.answers, *(e.text for e in source.evidence)])
        assert new.lower() not in guarded.lower()
    # at most two a question, each of another kind of detail
    sources = [(r.model_extra or {})["source"] for r in made]
    assert max(sources.count(s) for s in set(sources)) <= 2
    assert len({r.id for r in made}) == len(made)


def test_near_misses_are_the_same_every_time(tmp_path: Path) -> None:
    records = load_set(SETS / "licences.jsonl")
    first = write(near_misses(records), tmp_path / "a.jsonl").read_text()
    second = write(near_misses(list(reversed(records))), tmp_path / "b.jsonl").read_text()
    assert first and sorted(first.splitlines()) == sorted(second.splitlines())
    assert all(not r.answerable for r in load_set(tmp_path / "a.jsonl"))


def test_a_question_without_details_gives_none() -> None:
    plain = EvalRecord(
        id="q", question="when is the library closed?", answers=["sundays"], answerable=True
    )
    assert near_misses([plain]) == []
