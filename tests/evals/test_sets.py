from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa.errors import InvalidInput
from evals.sets import load_set, same_doc
from tests.conftest import EXAMPLES, REPO, SEED_FILE, SHARED, require_shared

SETS = REPO / "evals" / "sets"


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_seed_set_has_enough_questions_with_verbatim_evidence() -> None:
    require_shared()
    records = load_set(SETS / "seed.jsonl")
    assert len(records) >= 25
    assert sum(not r.answerable for r in records) >= 6
    article = _flat(SEED_FILE.read_text(encoding="utf-8"))
    for record in records:
        for evidence in record.evidence:
            assert same_doc(evidence.doc, SEED_FILE.name)
            assert _flat(evidence.text) in article, record.id


def test_examples_set_evidence_is_verbatim_in_the_example_documents() -> None:
    import re

    texts = {p.stem: _flat(re.sub(r"<[^>]+>", " ", p.read_text())) for p in EXAMPLES.iterdir()}
    records = load_set(SETS / "examples.jsonl")
    assert any(not r.answerable for r in records)
    for record in records:
        for evidence in record.evidence:
            assert _flat(evidence.text) in texts[evidence.doc], record.id


def test_public_sets_load_in_the_same_format() -> None:
    require_shared()
    for name in ("squad2_dev_sample500", "realtimeqa_cnn_2022"):
        records = load_set(SHARED / "evalsets" / name / "qa.jsonl")
        assert len(records) > 100


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 1"),
        (json.dumps({"id": "a", "question": "q?", "answerable": True}), "gold answer"),
        (json.dumps({"id": "a", "answers": [], "answerable": False}), "question"),
    ],
)
def test_bad_records_are_reported_with_their_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InvalidInput, match=message):
        load_set(path)


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    record = json.dumps({"id": "a", "question": "q?", "answers": [], "answerable": False})
    path = tmp_path / "dup.jsonl"
    path.write_text(record + "\n" + record + "\n")
    with pytest.raises(InvalidInput, match="duplicate"):
        load_set(path)


def test_doc_names_match_with_or_without_extension() -> None:
    assert same_doc("squad2-abc", "squad2-abc.txt")
    assert same_doc("notes/a.md", "notes/a.md")
    assert not same_doc("squad2-ab", "squad2-abc.txt")
