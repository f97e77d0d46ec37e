"""`python -m evals.heldout_answers`: a set answered with a verifier folder of one's own in
place of the shipped one, the joint gate kept, one JSON line per way of adding the unit
after the best one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citeqa.components.verifier import built
from evals import heldout_answers
from tests.conftest import EXAMPLES, REPO

pytestmark = pytest.mark.model  # answers with the real embedding model


def test_each_way_gives_one_line_and_never_cites_no_more(
    capsys: pytest.CaptureFixture[str],
) -> None:
    questions = REPO / "evals" / "sets" / "examples.jsonl"
    code = heldout_answers.main(
        [str(questions), str(EXAMPLES), str(built()), "--following", "verifier", "never"]
    )
    assert code == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert [x["following"] for x in lines] == ["verifier", "never"]
    verifier, never = lines
    assert 0.0 < verifier["right"] <= 1.0 and verifier["abstained"] is not None
    # the same gate decides both: the same questions are answered, the unit after the best
    # one only ever added on top
    assert never["abstained"] == verifier["abstained"]
    assert never["citations_per_answer"] <= verifier["citations_per_answer"]
    # the examples' evidence is located, so the share of citations quoting it is measured;
    # there every right answer's best unit is its gold sentence: a next unit only pads
    assert 0.0 < verifier["citation_precision"] <= never["citation_precision"] <= 1.0


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    questions = REPO / "evals" / "sets" / "examples.jsonl"
    with pytest.raises(SystemExit) as stopped:
        heldout_answers.main([str(questions), str(EXAMPLES), str(tmp_path)])
    assert stopped.value.code == 2
