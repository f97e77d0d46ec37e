"""The answer model's training (evals/training, run as evals/train.py) on two small gold
sets: feature dumps labelled from the gold evidence, a deterministic fit, and the engine's
decisions replayed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from citeqa.answering.features import FEATURES, QUESTION_FEATURES
from evals import train
from tests.conftest import SHARED, require_shared


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> list[train.SetDump]:
    require_shared()
    cache = tmp_path_factory.mktemp("answerer")
    found = {g.name: g for g in train.gold_sets(SHARED)}
    return [train.dump_set(found[name], cache) for name in ("examples", "seed")]


def test_dumps_hold_a_row_per_unit_and_labels_only_for_answerable_questions(
    dumps: list[train.SetDump],
) -> None:
    for dump in dumps:
        for question in dump.questions:
            assert question.rows.shape == (len(question.displays), len(FEATURES))
            assert question.labels.shape == (len(question.displays),)
            if not question.answerable:
                assert not question.labels.any()
        answerable = [q for q in dump.questions if q.answerable]
        # the gold evidence is found in the pool for nearly every answerable question
        assert sum(bool(q.labels.any()) for q in answerable) >= 0.9 * len(answerable)


def test_fitting_is_deterministic_and_replays_compose_answers(
    dumps: list[train.SetDump],
) -> None:
    groups = [d.questions for d in dumps]
    first, second = train.units_model(groups, FEATURES), train.units_model(groups, FEATURES)
    assert first.coef == second.coef and first.intercept == second.intercept
    replayed = train.replays(dumps[1].questions, first)
    assert all(r.row.shape == (len(QUESTION_FEATURES),) for r in replayed)
    answerability = train.answerability_model(
        [train.replays(d.questions, first) for d in dumps], QUESTION_FEATURES
    )
    outcomes = train.set_confidence(replayed, answerability)
    assert all(0.0 <= o.confidence <= 1.0 for o in outcomes)
    # in-sample on the seed article, most composed answers are right
    answerable = [o for o in outcomes if o.answerable]
    assert sum(o.good() for o in answerable) >= 0.8 * len(answerable)
    threshold = train.choose_threshold({"seed": outcomes})
    assert threshold in train.THRESHOLDS
    report = train.summary(outcomes, threshold)
    assert report["answerable"] + report["unanswerable"] == len(outcomes)
    json.dumps(report)  # what the report file holds


def test_an_answer_removed_twin_keeps_the_question_and_loses_its_answer(
    dumps: list[train.SetDump],
) -> None:
    column = {name: i for i, name in enumerate(FEATURES)}
    made = 0
    for question in (q for d in dumps for q in d.questions if q.answerable):
        twin = train.answer_removed(question)
        if twin is None:
            continue
        made += 1
        assert not twin.answerable and not twin.labels.any()
        assert len(twin.rows) < len(question.rows)

        # no unit that answered is left
        def spans(q: train.QuestionDump, which: np.ndarray) -> set[tuple[str, int, int]]:
            return {
                (q.passage_docs[int(q.passage[i])], int(q.starts[i]), int(q.ends[i])) for i in which
            }

        answering = spans(question, np.flatnonzero(question.labels | question.contains))
        assert answering and not answering & spans(twin, np.arange(len(twin.rows)))
        # the pool-relative features ranked again among the units kept
        assert twin.rows[:, column["cos_gap"]].min() == 0.0
        assert twin.rows[:, column["cos_rank"]].min() == 0.0
        assert sorted(twin.passage_fused) == list(range(1, len(twin.passage_fused) + 1))
        assert all(-1 <= p < len(twin.rows) for p in twin.previous)
        replay = train.Replay(twin, np.full(len(twin.rows), 0.5))
        assert not replay.label
    assert made >= 10


def test_a_near_miss_whose_source_answer_stands_in_another_document_is_left_out(
    dumps: list[train.SetDump],
) -> None:
    examples = dumps[0]
    question = next(q for q in examples.questions if q.answerable and q.contains.any())
    holding = {
        question.passage_docs[int(question.passage[i])] for i in np.flatnonzero(question.contains)
    }
    assert train.keep_near_miss(question, sorted(holding))
    assert not train.keep_near_miss(question, ["some-other-document"])
