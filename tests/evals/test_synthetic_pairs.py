"""The verifier's synthetic pairs (evals/training/synthetic.py): cloze questions from
documents no gold set reads, each with its sentence, and the near-misses around it."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

from evals.training import synthetic
from evals.training.synthetic import Source


def test_markup_and_non_prose_are_not_sentences() -> None:
    assert synthetic._clean("* The daemon now listens on port 8080 by default.") == (
        "The daemon now listens on port 8080 by default."
    )
    assert synthetic._clean("Too short.") is None
    assert synthetic._clean("==== ==== a b c d e f g h") is None
    assert synthetic._clean("0x12 0x34 0x56 0x78 0x9a 0xbc 0xde 0xf0 done.") is None


def test_a_question_asks_for_the_detail_it_leaves_out() -> None:
    sentence = "Since release 4.2 the daemon listens on port 8080 unless told otherwise."
    start = sentence.index("8080")
    question = synthetic._question(sentence, start, start + 4, "number", random.Random(1))
    assert question.endswith("?") and "what" in question.lower().split()
    assert "8080" not in question


SENTENCES = [
    "The Harbor daemon reads its settings from /etc/harbor.conf at start-up.",
    "Since release 4.2 the daemon listens on port 8080 unless told otherwise.",
    "Older releases listened on port 7070 and could not be moved.",
    "Logs are kept for 14 days and then compressed by the nightly job.",
    "The nightly job runs at 03:00 and never on Sunday mornings.",
    "Every listener of the daemon accepts plain HTTP and nothing else.",
]


def test_each_question_has_its_sentence_and_near_misses_only_around_it() -> None:
    pairs = synthetic.document_pairs(
        Source("harbor/README", "harbor README", SENTENCES), random.Random(0)
    )
    answering = [p for p in pairs if p.answers == 1.0]
    near = [p for p in pairs if p.answers == 0.0]
    assert answering and near
    for pair in answering:
        # the question is read against the text that holds what it asks for
        assert pair.text.startswith("harbor README")
    by_question = {p.question for p in answering}
    for pair in near:
        if pair.question in by_question:
            same = next(p for p in answering if p.question == pair.question)
            assert pair.text != same.text  # the answer taken out, or another sentence
    # deterministic
    again = synthetic.document_pairs(
        Source("harbor/README", "harbor README", SENTENCES), random.Random(0)
    )
    assert again == pairs


def test_sources_skip_what_this_machine_lacks(tmp_path: Path) -> None:
    (tmp_path / "bash").mkdir()
    (tmp_path / "bash" / "NEWS.gz").write_bytes(gzip.compress(" ".join(SENTENCES).encode()))
    found = synthetic.sources(tmp_path)
    assert [s.name for s in found] == ["bash/NEWS.gz"]
    assert found[0].sentences and all(len(s.split()) >= 6 for s in found[0].sentences)
