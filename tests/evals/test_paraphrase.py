"""Reworded questions for the verifier's training (evals/training/paraphrase.py): words the
question shares with its evidence become synonyms the evidence lacks, the details a
near-miss would swap and the names stay, and the pairs keep their labels."""

from __future__ import annotations

import pytest

from citeqa import wordnet
from evals.nearmiss import slots
from evals.training.paraphrase import reworded

pytestmark = pytest.mark.skipif(
    not wordnet.available(), reason="Debian's wordnet-base is not installed"
)

EVIDENCE = "Firing American weapons at targets deep inside Russia remains prohibited."


def test_the_most_frequent_sense_gives_the_synonyms() -> None:
    assert "forbid" in wordnet.first_sense("prohibit")
    assert "prohibit" not in wordnet.first_sense("prohibit")
    assert wordnet.first_sense("zzzzqx") == []


def test_a_shared_word_becomes_a_synonym_the_evidence_lacks() -> None:
    question = "Which targets remain prohibited for Ukraine?"
    out = reworded(question, EVIDENCE, "q1")
    assert out is not None and out != question
    changed = set(out.lower().rstrip("?").split()) - set(question.lower().rstrip("?").split())
    assert changed, out
    evidence_words = set(EVIDENCE.lower().rstrip(".").split())
    assert not changed & evidence_words
    assert "Ukraine" in out  # names stay
    assert out == reworded(question, EVIDENCE, "q1")  # deterministic


def test_details_and_words_the_evidence_lacks_stay() -> None:
    question = "How many days after notice does version 2.0 allow?"
    evidence = "Version 2.0 allows 30 days after written notice."
    out = reworded(question, evidence, "q2")
    details = [s.text for s in slots(question)]
    assert "2.0" in details
    if out is not None:
        assert "2.0" in out
        assert "How" in out


def test_nothing_to_reword_gives_none() -> None:
    assert reworded("Who wrote it?", "Nobody knows.", "q3") is None
    # no word of the question is in the evidence
    assert reworded("Which targets remain prohibited?", "Paris is in France.", "q4") is None
