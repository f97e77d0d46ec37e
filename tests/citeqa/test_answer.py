"""The offline extractive answerer over the seed article."""

from __future__ import annotations

import pytest

from citeqa.components.embedder import Embedder
from citeqa.contract import ABSTAIN_TEXT
from citeqa.errors import InvalidInput, QuestionTooLong
from citeqa.settings import Settings
from evals.sets import load_set
from ingest.engine import Engine
from tests.conftest import REPO, SEED_DIR, assert_citations_verify, require_shared

# these judge answers, which need the real embedding model (not in make test-fast)
pytestmark = pytest.mark.model


def test_prohibition_question_cites_the_atacms_ban(seed_engine: Engine) -> None:
    answer = seed_engine.query.ask("Is the use of ATACMS inside Russia still prohibited?")
    assert not answer.abstained
    assert answer.backend == "extractive"
    assert any("ATACMS" in c.quote for c in answer.citations)
    first = answer.citations[0]
    assert first.date == "2024-05-30" and first.doc_id.endswith(".txt")
    assert_citations_verify(seed_engine, answer)
    for citation in answer.citations:
        assert f"{citation.quote} [{citation.n}]" in answer.answer


def test_kiev_question_cites_that_attacks_there_cannot_be_answered(seed_engine: Engine) -> None:
    answer = seed_engine.query.ask(
        "Can Russian attacks near Kiev be answered with American weapons?"
    )
    assert not answer.abstained
    assert "cannot be responded to using American weapons" in answer.citations[0].quote
    assert_citations_verify(seed_engine, answer)


def test_question_outside_the_documents_abstains(seed_engine: Engine) -> None:
    answer = seed_engine.query.ask("Who is the mayor of Kharkiv?")
    assert answer.abstained
    assert answer.citations == []
    assert answer.answer == ABSTAIN_TEXT


def test_factoid_answer_is_the_sentence_that_holds_it(seed_engine: Engine) -> None:
    answer = seed_engine.query.ask("Who conveyed the decision to Ukraine?")
    assert not answer.abstained
    best = max(answer.citations, key=lambda c: c.score)  # citations are in reading order
    assert "General Cavoli who conveyed the decision" in best.quote


def test_every_seed_answer_satisfies_the_citation_invariant(seed_engine: Engine) -> None:
    for record in load_set(REPO / "evals" / "sets" / "seed.jsonl"):
        answer = seed_engine.query.ask(record.question)
        assert answer.abstained == (not answer.citations)
        assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
        assert_citations_verify(seed_engine, answer)


def test_citation_whose_text_changed_after_retrieval_is_dropped(seed_engine: Engine) -> None:
    from citeqa.domain import DocumentRecord

    retrieval_answer = seed_engine.query.ask("Who conveyed the decision to Ukraine?")
    doc_id = retrieval_answer.citations[0].doc_id
    record = seed_engine.components.store.documents.get(doc_id)
    assert record is not None and record.text is not None
    # Rewrite only the stored text (as if another process replaced the document between
    # retrieval and verification): the chunks still point at the old offsets.
    tampered = DocumentRecord(
        **{**record.__dict__, "text": record.text.replace("Cavoli", "Xavoli")}
    )
    seed_engine.components.store.documents.put([tampered])
    answer = seed_engine.query.ask("Who conveyed the decision to Ukraine?")
    assert all("Cavoli" not in c.quote for c in answer.citations)
    assert_citations_verify(seed_engine, answer)


def test_empty_store_abstains(engine: Engine) -> None:
    answer = engine.query.ask("What remains prohibited?")
    assert answer.abstained and answer.citations == []


@pytest.mark.parametrize("question", ["", "   \n"])
def test_empty_question_is_refused(engine: Engine, question: str) -> None:
    with pytest.raises(InvalidInput):
        engine.query.ask(question)


def test_overlong_question_and_bad_top_k_are_refused_before_any_model_call(engine: Engine) -> None:
    calls = engine.components.embedder.calls
    with pytest.raises(QuestionTooLong):
        engine.query.ask("why " * 2000)
    with pytest.raises(InvalidInput):
        engine.query.ask("why?", top_k=0)
    with pytest.raises(InvalidInput):
        engine.query.ask("why?", top_k=engine.settings.query.max_top_k + 1)
    assert engine.components.embedder.calls == calls


# The mission's own question, in four wordings, answered offline by the general method
# (nothing here is special-cased anywhere), and near-miss questions about the same article
# that it does not answer, which must still abstain.
# Cases marked "unmet" fail today and are listed in the README's known limitations; they
# are strict, so the suite says when one starts to pass.
UNMET = pytest.mark.xfail(strict=True, reason="unmet: see README, known limitations")
ANSWERED_TOO = "Is the ban on ATACMS strikes inside Russia still in place?"
PROHIBITED = [
    "What remains prohibited?",
    pytest.param("What is Ukraine still not allowed to do with American weapons?", marks=UNMET),
    pytest.param("Which kind of attack on Russia is still off limits?", marks=UNMET),
    ANSWERED_TOO,
]
NEAR_MISSES = [
    "How many ATACMS missiles has the United States delivered to Ukraine?",
    "Which company manufactures Storm Shadow missiles?",
    "What is the population of Kharkiv?",
    "How did the Kremlin respond to Biden's decision?",
]


@pytest.mark.parametrize("question", PROHIBITED)
def test_what_remains_prohibited_is_answered_with_the_atacms_sentence(
    seed_engine: Engine, question: str
) -> None:
    answer = seed_engine.query.ask(question)
    assert not answer.abstained, question
    assert any("ATACMS systems or long-range strikes" in c.quote for c in answer.citations)
    assert_citations_verify(seed_engine, answer)


@pytest.mark.parametrize("question", NEAR_MISSES)
def test_near_miss_questions_about_the_article_abstain(seed_engine: Engine, question: str) -> None:
    answer = seed_engine.query.ask(question)
    assert answer.abstained, (question, answer.answer)


def test_with_the_reader_off_no_cross_encoder_reads_and_the_old_path_answers(
    settings: Settings, embedder: Embedder
) -> None:
    """CITEQA_READER=off keeps the path from before the verifier was the default: the
    answer model alone, no cross-encoder loaded, and it answers the mission's question
    with the same sentence (it is the near-misses it answers too: README, Known
    limitations). The default ('verify') has the verifier read the best units."""
    from ingest.pipeline import sources_from_paths

    require_shared()
    assert settings.reader == "verify" and settings.verifier_enabled
    off = settings.replace(reader="off")
    assert not off.verifier_enabled
    assert settings.replace(reader="off", answer={"verifier": True}).verifier_enabled
    engine = Engine(off, embedder=embedder)
    assert engine.components.reader is None
    assert engine.query.answerer.verification is None
    engine.documents.ingest(sources_from_paths([SEED_DIR]))
    answer = engine.query.ask("What remains prohibited?")
    assert not answer.abstained
    assert any("ATACMS systems or long-range strikes" in c.quote for c in answer.citations)
    assert_citations_verify(engine, answer)
