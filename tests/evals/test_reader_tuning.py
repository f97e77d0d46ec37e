"""The reader's fine-tuning: the bundled INT8 cross-encoder dequantized into PyTorch and
quantized back into its own graph reads as the bundled one does, training moves it, and
the near-miss pairs are what they say."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from citeqa import wordnet  # noqa: E402
from citeqa.components.reader import CrossEncoderReader, bundled_dir  # noqa: E402
from evals.sets import EvalRecord  # noqa: E402
from evals.training import reader_tuning as rt  # noqa: E402
from evals.training.dumps import QuestionDump, SetDump  # noqa: E402
from evals.training.reader_tuning import Pair  # noqa: E402

QUESTION = "How many days does a licensee have to cure a breach?"
TEXTS = [
    "The licensee has 30 days after written notice to cure any breach.",
    "The licensee may cure any breach after written notice.",
    "Paris is the capital of France and its largest city.",
    "This licence terminates automatically if you violate its terms.",
]


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    import onnx

    return onnx.load(str(bundled_dir() / "model.onnx"))


@pytest.fixture(scope="module")
def bundled() -> CrossEncoderReader:
    return CrossEncoderReader()


def test_dequantized_weights_in_pytorch_read_as_the_bundled_model(graph, bundled) -> None:  # type: ignore[no-untyped-def]
    model = rt.torch_model(rt.dequantized(graph))
    tokenizer = rt._tokenizer(bundled_dir() / "tokenizer.json")
    ours = rt.logits(model, tokenizer, [(QUESTION, t) for t in TEXTS])
    theirs = bundled.score(QUESTION, TEXTS)
    assert np.abs(ours - theirs).max() < 0.5, (ours, theirs)
    assert list(np.argsort(-ours)) == list(np.argsort(-theirs))


def test_weights_quantized_back_load_as_a_reader_model_and_read_the_same(
    graph, bundled, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import onnx

    onnx.save(rt.requantized(graph, rt.dequantized(graph)), str(tmp_path / "model.onnx"))
    shutil.copy(bundled_dir() / "tokenizer.json", tmp_path / "tokenizer.json")
    again = CrossEncoderReader(str(tmp_path))
    ours = again.score(QUESTION, TEXTS)
    theirs = bundled.score(QUESTION, TEXTS)
    assert np.abs(ours - theirs).max() < 0.3, (ours, theirs)


def test_fine_tuning_moves_a_near_miss_below_its_answer_in_the_model_that_ships(
    graph, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import onnx

    model = rt.torch_model(rt.dequantized(graph))
    tokenizer = rt._tokenizer(bundled_dir() / "tokenizer.json")
    answer, near_miss = (QUESTION, TEXTS[0]), (QUESTION, TEXTS[1])
    before = rt.logits(model, tokenizer, [answer, near_miss])
    pairs = [rt.Pair(*answer, 1.0), rt.Pair(*near_miss, 0.0)] * 4
    rt.fine_tune(model, tokenizer, pairs, rt.Tuning(epochs=3, batch=4), log=lambda _line: None)
    after = rt.logits(model, tokenizer, [answer, near_miss])
    assert after[0] - after[1] > before[0] - before[1] + 1.0, (before, after)
    assert after[1] < before[1]
    # what ships is what was measured: only float initializers change, and the INT8
    # graph carrying them reads as the trained model does
    tuned = rt.requantized(graph, rt.state_of(model))
    patch = rt.patch_of(graph, tuned)
    assert patch and all(v.dtype == np.float32 for v in patch.values())
    onnx.save(tuned, str(tmp_path / "model.onnx"))
    shutil.copy(bundled_dir() / "tokenizer.json", tmp_path / "tokenizer.json")
    shipped = CrossEncoderReader(str(tmp_path)).score(QUESTION, [TEXTS[0], TEXTS[1]])
    assert np.abs(shipped - after).max() < 0.5, (shipped, after)


def test_the_answer_is_taken_out_of_the_evidence_wherever_it_stands() -> None:
    text = "Version 3 allows 30 days. After 30 days, nothing."
    assert (
        rt.answer_taken_out(text, ["30 days"])
        == "Version 3 allows several. After several, nothing."
    )
    assert rt.answer_taken_out("The FSF publishes it.", ["Free Software Foundation"]) is None
    assert rt.answer_taken_out("Ask the FSF today.", ["the fsf"]) == "Ask it today."


def _pool(qid: str, answerable: bool, units: list[str], evidence_at: int | None) -> QuestionDump:
    n = len(units)
    labels = np.array([i == evidence_at for i in range(n)], dtype=bool)
    return QuestionDump(
        id=qid, answerable=answerable, answers=[], rows=np.zeros((n, 1), np.float32),
        labels=labels, contains=labels, overlaps=labels, displays=units,
        starts=np.arange(n), ends=np.arange(n) + 1, previous=np.arange(n) - 1,
        passage=np.zeros(n, np.int32), passage_docs=["gpl-2.txt"], passage_fused=[0],
        passage_evidence=[evidence_at is not None], evidence_known=True,
        passage_contexts=["GNU General Public License Version 2"],
    )  # fmt: skip


def record(qid: str, question: str, answer: str, evidence: str) -> EvalRecord:
    return EvalRecord.model_validate(
        {"id": qid, "question": question, "answers": [answer] if answer else [],
         "evidence": [{"doc": "gpl-2.txt", "text": evidence}] if evidence else [],
         "answerable": bool(answer)}
    )  # fmt: skip


@pytest.mark.skipif(not wordnet.available(), reason="Debian's wordnet-base is not installed")
def test_a_reworded_question_answers_from_its_evidence_and_not_without_its_answer() -> None:
    evidence = "Under version 2, firing at targets deep inside Russia remains prohibited."
    records = [record("q1", "Under version 2, which targets remain prohibited?",
                      "targets deep inside Russia", evidence)]  # fmt: skip
    dump = SetDump("licences", "licences", [_pool("q1", True, ["Terms.", evidence], 1)])
    plain = rt.set_pairs(dump, records)
    pairs = rt.set_pairs(dump, records, reworded=True)
    added = [p for p in pairs if p not in plain]
    assert {p.answers for p in added} == {0.0, 1.0}, added
    positive = next(p for p in added if p.answers == 1.0)
    assert positive.question != records[0].question and positive.text == evidence
    assert "2" in positive.question  # the detail stays
    negative = next(p for p in added if p.answers == 0.0)
    assert negative.question == positive.question
    assert negative.text == rt.answer_taken_out(evidence, records[0].answers)


def test_the_pairs_of_a_set_are_answers_and_near_misses_of_each_kind() -> None:

    records = [
        record("q1", "Under GPL version 2, how many days may pass?", "30 days",
               "You have 30 days to comply."),
        record("q2", "Under GPL version 3, who publishes new versions?", "the FSF",
               "New versions are published by the FSF."),
        record("q3", "Under GPL version 2, which county hears disputes?", "", ""),
    ]  # fmt: skip
    units = ["Terms.", "You have 30 days to comply.", "Disputes go to court."]
    dump = SetDump("licences", "licences", [
        _pool("q1", True, units, 1), _pool("q2", True, units, None),
        _pool("q3", False, units, None),
    ])  # fmt: skip
    pairs = rt.set_pairs(dump, records)
    answers = {(p.question, p.text) for p in pairs if p.answers == 1.0}
    near = [p for p in pairs if p.answers == 0.0]
    assert (
        "Under GPL version 2, how many days may pass?",
        "You have 30 days to comply.",
    ) in answers
    assert (
        records[0].question,
        "GNU General Public License Version 2\nTerms. You have 30 days to comply.",
    ) in answers
    # the answer taken out of its evidence
    assert Pair(records[0].question, "You have several to comply.", 0.0) in near
    assert Pair(records[1].question, "New versions are published by it.", 0.0) in near
    # a detail swapped for another question's (evals/nearmiss.py), against the same evidence
    swapped = Pair(
        "Under GPL version 2, who publishes new versions?",
        "New versions are published by the FSF.",
        0.0,
    )
    assert swapped in near
    # the set's own near-miss against the first units of its pool, all labelled so
    assert sum(p.question == records[2].question for p in near) == 3
    assert not any(p.question == records[2].question for p in pairs if p.answers == 1.0)


def test_the_patch_holds_only_what_tuning_changed(graph) -> None:  # type: ignore[no-untyped-def]
    state = rt.dequantized(graph)
    state["classifier.bias"] = state["classifier.bias"] + 1.0
    name = "bert.encoder.layer.3.attention.self.query.weight"
    state[name] = state[name] * 1.01  # the same integers, a larger scale
    patch = rt.patch_of(graph, rt.requantized(graph, state))
    assert patch.keys() == {"classifier.bias", *[k for k in patch if k.endswith("_scale")]}
    assert len(patch) == 2
